"""Issue 16, item 6: a partner-wide refresh of suggestions runs on the job system: a
Procrastinate task on PostgreSQL (deferred after the request commits, one job per run, the
sweep taking over a run whose worker died), the in-process runner on SQLite."""

from __future__ import annotations

import contextlib
import time
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.jobs import queue
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.common.context import Actor
from creditdesk.services.suggesting import refresh_runs, suggestions
from creditdesk.web.app import create_app
from tests.jobs.test_queue import drain, jobs, wait_for
from tests.services.test_suggestion_runs import _stale, partner_with_duplicates
from tests.services.test_suggestions import duplicated_plan


def _nothing() -> object:
    raise AssertionError("a suggestion run calls no accounting system")


def test_a_requested_run_is_deferred_after_commit_and_run_by_a_procrastinate_worker(
        pg_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggestions, "BATCH", 2)
    key, actor = partner_with_duplicates(pg_db, "Jobs MSP", 3)
    with TestClient(create_app(pg_db)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        first = client.post("/api/v1/suggestions/refresh-runs")
        again = client.post("/api/v1/suggestions/refresh-runs")
    assert first.status_code == again.status_code == 202, first.text
    run_id = first.json()["id"]
    assert again.json()["id"] == run_id and first.json()["status"] == "queued"
    waiting = jobs(pg_db, queue.SUGGESTIONS_TASK)
    assert [(j["queueing_lock"], j["lock"], j["status"]) for j in waiting] == [
        (f"suggestions:{run_id}", f"suggestions:{actor.partner_id}", "todo")]
    drain(pg_db, _nothing, [queue.SUGGESTIONS_QUEUE])
    done = refresh_runs.get_run(pg_db, actor=actor, run_id=run_id)
    assert (done.status, done.customers_done, done.open) == ("done", 3, 3)
    assert [j["status"] for j in jobs(pg_db, queue.SUGGESTIONS_TASK)] == ["succeeded"]


def test_the_sweep_defers_a_run_whose_worker_died_and_a_worker_resumes_it(
        pg_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggestions, "BATCH", 1)
    _, actor = partner_with_duplicates(pg_db, "Sweep MSP", 3)
    run, _ = refresh_runs.start(pg_db, actor=actor)  # no wake: as if it was lost
    claimed = refresh_runs.claim(pg_db, run.id)  # a worker took it, then died
    assert claimed == 1
    app = queue.make_app(pg_db.url.render_as_string(hide_password=False))
    assert {p.task.name: p.cron for p in app.periodic_registry.periodic_tasks.values()}[
        queue.SUGGESTIONS_DUE_TASK] == queue.DUE_CRON
    with app.open():
        assert queue.dispatch_suggestion_runs(app, pg_db) == []  # alive, as far as we know
        _stale(pg_db, run.id)
        app.configure_task(queue.SUGGESTIONS_DUE_TASK).defer(timestamp=int(time.time()))
    drain(pg_db, _nothing, [queue.SCHEDULE_QUEUE])
    assert [j["status"] for j in jobs(pg_db, queue.SUGGESTIONS_TASK)] == ["todo"]
    drain(pg_db, _nothing, [queue.SUGGESTIONS_QUEUE])
    done = refresh_runs.get_run(pg_db, actor=actor, run_id=run.id)
    assert (done.status, done.customers_done, done.open) == ("done", 3, 3)


def test_the_in_process_runner_runs_a_requested_run_on_sqlite(db: Database,
                                                              actor: Actor) -> None:
    if not db.is_sqlite:
        pytest.skip("the in-process runner is the SQLite default")
    cid, _ = duplicated_plan(db, actor)
    runner = sync_jobs.InProcessRunner(db, tick=30.0, client_factory=lambda: (
        contextlib.nullcontext(None)))
    runner.start()
    try:
        run, _ = refresh_runs.start(db, actor=actor)
        sync_jobs.wake(SimpleNamespace(db=db, sync_runner=runner))  # no 30 s wait
        wait_for(lambda: refresh_runs.get_run(db, actor=actor, run_id=run.id).status == "done",
                 timeout=15)
    finally:
        runner.stop()
        sync_jobs.current_runner = None
    [s] = suggestions.list_suggestions(db, actor=actor).data
    assert s.customer_id == cid
