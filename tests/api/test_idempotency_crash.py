"""E2 across a crash: a keyed request stopped at any point between two of its steps leaves
either no effect (its retry runs) or its committed answer (its retry replays) — never the
effect without the answer, and never a key a retry has to wait out.

A crash is acted out by a fault hook (``creditdesk.faults``) raising at one named point; the
kill -9 test in tests/reliability does it for real on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from creditdesk import faults
from creditdesk.db import models
from creditdesk.services.common import idempotency
from tests.api.conftest import API, customer, invoice, memo, ok, problem, snapshot

pytestmark = pytest.mark.reliability


class Crash(Exception):
    """The process dying at a fault point."""


def _crash_at(name: str):
    fired = []

    def hook(point: str) -> None:
        if point == name and not fired:
            fired.append(point)
            raise Crash(point)

    return hook, fired


def _applications(db) -> list[tuple[str, int]]:
    with db.read() as session:
        return [tuple(r) for r in session.execute(select(
            models.CreditApplication.id, models.CreditApplication.amount_minor))]


def _apply(client, memo_id: str, body: dict, key: str):
    return client.post(f"{API}/credit-memos/{memo_id}/applications", json=body,
                       headers={"Idempotency-Key": key})


@pytest.mark.parametrize("point", faults.POINTS)
def test_e2_a_crash_at_any_point_gives_no_effect_or_the_stored_answer(client, db, point):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    body = {"invoice_id": inv["id"], "amount": "25.00"}
    before = snapshot(db)
    hook, fired = _crash_at(point)
    with faults.installed(hook):
        crashed = _apply(client, m["id"], body, f"crash-{point}")
    assert fired == [point] and crashed.status_code == 500
    committed = point == "unit.committed"  # the only point past the commit
    assert len(_applications(db)) == (1 if committed else 0)
    if not committed:
        assert snapshot(db) == before  # nothing half-done: no memo, invoice or audit change

    retry = _apply(client, m["id"], body, f"crash-{point}")  # at once: no waiting window
    answer = ok(retry, 201)
    assert (retry.headers.get("idempotent-replayed") == "true") == committed
    [(app_id, amount)] = _applications(db)  # exactly once
    assert answer["application"]["id"] == app_id and amount == 2500
    assert answer["credit_memo"]["remaining_amount"] == "35.00"
    assert answer["invoice"]["balance_due"] == "75.00"
    again = _apply(client, m["id"], body, f"crash-{point}")
    assert again.content == retry.content and again.headers["idempotent-replayed"] == "true"
    with db.read() as session:
        applies = session.scalar(select(func.count()).select_from(models.AuditEvent).where(
            models.AuditEvent.action == "credit_memo.apply"))
    assert applies == 1


@pytest.mark.parametrize("point", ["unit.claimed", "unit.step_written",
                                   "idempotency.answered", "unit.before_commit"])
def test_e2_a_crash_before_the_commit_of_a_refusal_or_creation_keeps_no_key(client, db,
                                                                            point):
    """The key's row is written only with the effect: a crash before the commit leaves no
    row, so the retry is a first run (not a 409 for minutes, as before)."""
    cid = customer(client)
    body = {"customer_id": cid, "reason": "goodwill", "amount": "9.99"}
    hook, _ = _crash_at(point)
    with faults.installed(hook):
        assert client.post(f"{API}/credit-memos", json=body,
                           headers={"Idempotency-Key": "c-1"}).status_code == 500
    with db.read() as session:
        assert session.scalars(select(models.IdempotencyRecord)).all() == []
    first = ok(client.post(f"{API}/credit-memos", json=body,
                           headers={"Idempotency-Key": "c-1"}), 201)
    assert first["total"] == "9.99"
    assert len(ok(client.get(f"{API}/credit-memos"))["data"]) == 1


@contextmanager
def _first_attempt_held(client, key: str) -> Iterator[tuple[Callable, threading.Event, dict]]:
    """A keyed apply sent in a thread and parked just after its use case wrote (its
    transaction open, its key row uncommitted). Yields a function sending the same request
    again, the event releasing the first, and the answers by name ("first")."""
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    body = {"invoice_id": inv["id"], "amount": "10.00"}
    reached, release = threading.Event(), threading.Event()
    answers: dict[str, object] = {}

    def hold(point: str) -> None:
        if point == "unit.step_written" and not reached.is_set():
            reached.set()
            assert release.wait(30), "the held request was never released"

    def again():
        return _apply(client, m["id"], body, key)

    with faults.installed(hold):
        first = threading.Thread(target=lambda: answers.update(first=again()))
        first.start()
        assert reached.wait(10)
        try:
            yield again, release, answers
        finally:
            release.set()
            first.join(30)


def test_e2_a_retry_racing_the_first_attempt_waits_for_it_then_replays(client, db):
    """Both databases: the retry's claim waits on the first attempt's uncommitted key row
    (PostgreSQL's unique index, SQLite's write lock) and then replays its answer."""
    with _first_attempt_held(client, "race-1") as (again, release, answers):
        second = threading.Thread(target=lambda: answers.update(second=again()))
        second.start()
        second.join(0.5)
        assert second.is_alive()  # waiting for the first, not answered 409 or run again
        release.set()
        second.join(30)
    a, b = answers["first"], answers["second"]
    assert a.status_code == b.status_code == 201 and a.content == b.content
    assert b.headers.get("idempotent-replayed") == "true"
    assert len(_applications(db)) == 1


@pytest.mark.postgres_only
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_e2_a_retry_racing_a_slow_first_attempt_is_told_it_is_in_progress(
        client, db, monkeypatch):
    """PostgreSQL: a retry waits at most RACE_WAIT for the attempt it races, then gets 409
    idempotency_key_in_progress (nothing stored); once the first commits it replays."""
    monkeypatch.setattr(idempotency, "RACE_WAIT", "300ms")
    with _first_attempt_held(client, "race-2") as (again, _release, answers):
        waiting = problem(again(), 409, "idempotency_key_in_progress")
        assert "retry" in waiting["detail"].lower()
    replay = again()
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == answers["first"].content
    assert len(_applications(db)) == 1


@pytest.mark.postgres_only
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_e2_held_commits_never_wait_for_the_threads_their_locks_block(db, partner):
    """A keyed request's commit runs after its route's thread is back in the pool. If it
    needed a thread of that pool, requests waiting for the customer lock it holds could
    take every thread and it would never commit (a deadlock). Two threads, four keyed
    applies to one memo: all answered. (A lock timeout turns a deadlock into 503s here.)"""
    from fastapi.testclient import TestClient

    from creditdesk.db.engine import Database
    from creditdesk.web.app import create_app

    url = db.url.render_as_string(hide_password=False)
    timed = Database(url + "?options=-c%20lock_timeout%3D10000")
    try:
        with TestClient(create_app(timed), raise_server_exceptions=False) as c:
            c.headers["Authorization"] = f"Bearer {partner.api_key}"
            cid = customer(c)
            inv = invoice(c, cid, "100.00")
            m = memo(c, cid, "60.00")

            def two_threads() -> None:
                import anyio

                anyio.to_thread.current_default_thread_limiter().total_tokens = 2

            c.portal.call(two_threads)
            barrier = threading.Barrier(4)
            answers: list = []

            def send(n: int) -> None:
                barrier.wait()
                answers.append(_apply(c, m["id"], {"invoice_id": inv["id"],
                                                   "amount": "1.00"}, f"pool-{n}"))

            threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    finally:
        timed.dispose()
    assert len(_applications(db)) == 4
