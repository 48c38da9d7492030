"""Issue 16, item 6: a partner-wide refresh of suggestions as a run on the job system, with
its progress saved batch by batch, resumed after a worker dies, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.read_models import audit_trail
from creditdesk.services.suggesting import refresh_runs, suggestions
from tests.services.test_suggestions import duplicated_plan

CUSTOMERS = 5


class Crash(BaseException):
    """A worker stopping dead (not an error the run could record)."""


@pytest.fixture
def five(db: Database, actor: Actor, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Five customers, each with a duplicate charge; batches of two (3 batches)."""
    monkeypatch.setattr(suggestions, "BATCH", 2)
    return sorted(duplicated_plan(db, actor)[0] for _ in range(CUSTOMERS))


def partner_with_duplicates(db: Database, name: str, customers: int) -> tuple[str, Actor]:
    """A new partner (its API key and actor) whose customers each have a duplicate charge."""
    new = partners.create_partner(db, name=name, admin_email=f"{name.split()[0].lower()}"
                                  "@msp.test", admin_password="correct horse")
    actor = partners.authenticate_api_key(db, new.api_key)
    for _ in range(customers):
        duplicated_plan(db, actor)
    return new.api_key, actor


def _stale(db: Database, run_id: str) -> None:
    """As if the run's worker died long enough ago (rather than waiting for it)."""
    with db.write() as s:
        s.execute(update(models.SuggestionRun).where(models.SuggestionRun.id == run_id).values(
            heartbeat_at=clock.now() - refresh_runs.STALE_AFTER - timedelta(seconds=1)))


def _spy(monkeypatch: pytest.MonkeyPatch, db: Database, actor: Actor, run_id: str,
         crash_after: int | None = None, fail_after: int | None = None) -> list[list[str]]:
    """Record each batch's customers and the run's progress as saved after it; crash (or
    fail) once ``crash_after`` (``fail_after``) batches are done."""
    batches: list[list[str]] = []
    original = suggestions.refresh_batch

    def spy(db_, actor_, ids, evidence, on_done=None):
        if fail_after is not None and len(batches) == fail_after:
            raise RuntimeError("the detectors tripped")
        out = original(db_, actor_, ids, evidence, on_done)
        batches.append(list(ids))
        if crash_after is not None and len(batches) == crash_after:
            raise Crash()
        return out
    monkeypatch.setattr(suggestions, "refresh_batch", spy)
    return batches


def test_a_run_refreshes_every_customer_saving_progress_batch_by_batch(
        db: Database, actor: Actor, five: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run, new = refresh_runs.start(db, actor=actor)
    assert new and run.status == "queued" and run.customers_total is None
    assert run.percent == 0
    seen: list[tuple[str, int, int | None]] = []
    original = suggestions.refresh_batch

    def watch(*args, **kwargs):
        out = original(*args, **kwargs)
        r = refresh_runs.get_run(db, actor=actor, run_id=run.id)
        seen.append((r.status, r.customers_done, r.customers_total))
        return out
    monkeypatch.setattr(suggestions, "refresh_batch", watch)
    assert refresh_runs.run_pending(db) == [run.id]
    assert seen == [("running", 2, 5), ("running", 4, 5), ("running", 5, 5)]
    done = refresh_runs.get_run(db, actor=actor, run_id=run.id)
    assert (done.status, done.customers_done, done.customers_total, done.percent) == (
        "done", 5, 5, 100)
    assert (done.created, done.updated, done.removed, done.open) == (5, 0, 0, 5)
    assert done.finished_at is not None and done.error is None
    assert {s.customer_id for s in suggestions.list_suggestions(db, actor=actor).data} == set(
        five)
    assert refresh_runs.run_pending(db) == []  # nothing left to claim
    trail = [e.action for e in audit_trail.list_events(db, actor=actor).data]
    assert "suggestions.refresh_run" in trail and "suggestions.refresh" in trail


def test_requests_meet_in_the_one_active_run(db: Database, actor: Actor,
                                             five: list[str]) -> None:
    first, new = refresh_runs.start(db, actor=actor)
    again, new_again = refresh_runs.start(db, actor=actor)
    assert new and not new_again and again.id == first.id
    refresh_runs.run_pending(db)
    later, new_later = refresh_runs.start(db, actor=actor)  # the first is over: a new one
    assert new_later and later.id != first.id
    assert [r.id for r in refresh_runs.list_runs(db, actor=actor).data] == [later.id, first.id]


def test_a_run_whose_worker_died_resumes_after_its_last_batch(
        db: Database, actor: Actor, five: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run, _ = refresh_runs.start(db, actor=actor)
    batches = _spy(monkeypatch, db, actor, run.id, crash_after=2)
    with pytest.raises(Crash):
        refresh_runs.run_pending(db)
    died = refresh_runs.get_run(db, actor=actor, run_id=run.id)
    assert (died.status, died.customers_done, died.customers_total, died.percent) == (
        "running", 4, 5, 80)
    assert refresh_runs.run_pending(db) == []  # its heartbeat is fresh: maybe still alive
    _stale(db, run.id)
    assert refresh_runs.run_pending(db) == [run.id]
    assert batches == [five[:2], five[2:4], five[4:]]  # none twice, none skipped
    done = refresh_runs.get_run(db, actor=actor, run_id=run.id)
    assert (done.status, done.customers_done, done.created, done.open) == ("done", 5, 5, 5)
    assert len(suggestions.list_suggestions(db, actor=actor).data) == CUSTOMERS


def test_a_stalled_worker_overtaken_by_another_writes_nothing_more(
        db: Database, actor: Actor, five: list[str]) -> None:
    run, _ = refresh_runs.start(db, actor=actor)
    slow = refresh_runs.claim(db, run.id)
    assert slow == 1 and refresh_runs.claim(db, run.id) is None  # taken, and alive
    _stale(db, run.id)
    fast = refresh_runs.claim(db, run.id)
    assert fast == 2
    assert refresh_runs.execute(db, run.id, fast).status == "done"
    after = refresh_runs.execute(db, run.id, slow)  # wakes up late: stops at its first write
    assert (after.status, after.customers_done, after.created) == ("done", 5, 5)


def test_an_error_fails_the_run_keeping_what_it_saved(
        db: Database, actor: Actor, five: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run, _ = refresh_runs.start(db, actor=actor)
    _spy(monkeypatch, db, actor, run.id, fail_after=1)
    refresh_runs.run_pending(db)
    failed = refresh_runs.get_run(db, actor=actor, run_id=run.id)
    assert failed.status == "failed" and failed.customers_done == 2
    assert failed.error and "after 2 of 5 customers" in failed.error
    assert "Start it again" in failed.error
    assert len(suggestions.list_suggestions(db, actor=actor).data) == 2
    again, new = refresh_runs.start(db, actor=actor)
    assert new and again.id != run.id


def test_a_partner_sees_only_its_own_runs(db: Database, actor: Actor) -> None:
    run, _ = refresh_runs.start(db, actor=actor)
    other = partners.create_partner(db, name="Other MSP", admin_email="o@other.test",
                                    admin_password="correct horse")
    them = partners.authenticate_api_key(db, other.api_key)
    with pytest.raises(errors.NotFound):
        refresh_runs.get_run(db, actor=them, run_id=run.id)
    assert refresh_runs.list_runs(db, actor=them).data == []
    assert refresh_runs.latest(db, actor=them) is None
    theirs, new = refresh_runs.start(db, actor=them)  # one active run per partner, not global
    assert new and theirs.id != run.id
