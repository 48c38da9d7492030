"""Scheduling on Procrastinate (PostgreSQL) and in-process (SQLite): Y2, Y6 and the queueing
lock, with the fake QuickBooks Online over real HTTP and real Procrastinate workers."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from creditdesk import cli, config
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import queue
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.access import partners
from creditdesk.services.books import sync
from creditdesk.services.common.context import Actor, clock
from creditdesk.web.app import create_app
from tests.qbo_fixtures import REALM, FakeQbo


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def jobs(db: Database, task: str = queue.SYNC_TASK) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, status::text AS status, queueing_lock, lock, attempts, args, "
            "extract(epoch FROM scheduled_at - now()) AS due_in FROM procrastinate_jobs "
            "WHERE task_name = :t ORDER BY id"), {"t": task}).mappings().all()
    return [dict(r) for r in rows]


def runs(db: Database, integration_id: str) -> list[models.SyncRun]:
    with db.read() as s:
        return list(s.scalars(select(models.SyncRun).where(
            models.SyncRun.integration_id == integration_id).order_by(models.SyncRun.id)))


def drain(db: Database, build: sync.ConnectorFactory, queues: list[str]) -> None:
    """One worker that stops once nothing is due on ``queues``."""
    queue.make_app(url_of(db)).run_worker(
        queues=queues, wait=False, listen_notify=False, install_signal_handlers=False,
        additional_context={"sync": queue.Runtime(db, build)})


@pytest.fixture
def pg_partner(pg_db: Database) -> partners.NewPartner:
    return partners.create_partner(pg_db, name="Acme MSP", admin_email="admin@acme.test",
                                   admin_password="correct horse")


@pytest.fixture
def pg_actor(pg_db: Database, pg_partner: partners.NewPartner) -> Actor:
    return partners.authenticate_api_key(pg_db, pg_partner.api_key)


def test_y2_periodic_task_queues_and_defers_each_due_connection(
        pg_db: Database, pg_actor: Actor, fake_qbo: FakeQbo) -> None:
    due = [fake_qbo.connect(pg_db, pg_actor) for _ in range(2)]  # due now: just connected
    later, gone = fake_qbo.connect(pg_db, pg_actor), fake_qbo.connect(pg_db, pg_actor)
    with pg_db.write() as s:
        s.execute(update(models.Integration).where(models.Integration.id == later).values(
            next_sync_at=clock.now() + timedelta(hours=1)))
        s.execute(update(models.Integration).where(models.Integration.id == gone).values(
            status="needs_reconnection", next_sync_at=None))
    app = queue.make_app(url_of(pg_db))
    assert {p.task.name: p.cron for p in app.periodic_registry.periodic_tasks.values()}[
        queue.DUE_TASK] == queue.DUE_CRON
    with app.open(), contextlib.suppress(queue.pq_errors.AlreadyEnqueued):
        app.configure_task(queue.DUE_TASK).defer(timestamp=int(time.time()))
    drain(pg_db, fake_qbo.factory(), [queue.SCHEDULE_QUEUE])
    waiting = jobs(pg_db)
    assert sorted(j["queueing_lock"] for j in waiting) == sorted(due)
    assert all(j["lock"] == j["queueing_lock"] and j["status"] == "todo" for j in waiting)
    assert [r.trigger for i in due for r in runs(pg_db, i)] == ["schedule", "schedule"]
    drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])
    assert [r.status for i in due for r in runs(pg_db, i)] == ["succeeded", "succeeded"]
    assert runs(pg_db, later) == [] and runs(pg_db, gone) == []


def test_queueing_lock_one_waiting_job_per_connection_for_sync_now_and_webhooks(
        pg_db: Database, pg_partner: partners.NewPartner, pg_actor: Actor,
        fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(pg_db, pg_actor)
    with TestClient(create_app(pg_db)) as client:
        client.headers["Authorization"] = f"Bearer {pg_partner.api_key}"
        first = client.post(f"/api/v1/integrations/{iid}/sync")
        assert first.status_code == 202, first.text
        assert [j["queueing_lock"] for j in jobs(pg_db)] == [iid]  # deferred at once
        again = client.post(f"/api/v1/integrations/{iid}/sync")
        body, headers = fake_qbo.state.webhook(REALM, ["101"])
        assert client.post("/webhooks/quickbooks", content=body,
                           headers=headers).status_code == 200
    assert first.json()["run_id"] == again.json()["run_id"]
    first = first.json()["run_id"]
    waiting = jobs(pg_db)
    assert [(j["queueing_lock"], j["status"]) for j in waiting] == [(iid, "todo")]
    assert queue.defer_sync(queue.deferrer(pg_db), iid) is False  # AlreadyEnqueued
    drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])
    assert [(r.id, r.trigger, r.status) for r in runs(pg_db, iid)] == [
        (first, "manual", "succeeded")]


def test_y2_a_webhook_job_runs_the_targeted_run_as_it_is(
        pg_db: Database, pg_partner: partners.NewPartner, pg_actor: Actor,
        fake_qbo: FakeQbo) -> None:
    named, other = (fake_qbo.state.add_memo(REALM, total="5.00") for _ in range(2))
    iid = fake_qbo.connect(pg_db, pg_actor)
    fake_qbo.sync(pg_db, iid)  # the first sync; the next is 15 minutes away
    fake_qbo.state.apply_credit(REALM, named, "2.00")
    fake_qbo.state.apply_credit(REALM, other, "1.00")
    with TestClient(create_app(pg_db)) as client:
        body, headers = fake_qbo.state.webhook(REALM, [named])
        assert client.post("/webhooks/quickbooks", content=body,
                           headers=headers).status_code == 200
    assert [(j["queueing_lock"], j["status"]) for j in jobs(pg_db)] == [(iid, "todo")]
    fake_qbo.state.requests.clear()
    drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])
    last = runs(pg_db, iid)[-1]
    assert (last.trigger, last.targets, last.status, last.updated) == (
        "webhook", {named: "changed"}, "succeeded", 1)  # the job did not widen it
    # the named memo by its id, and (its credit is used) its customer's Payments (Y14)
    assert [q.split("?")[0] for q in fake_qbo.state.requests] == [
        f"GET /v3/company/{REALM}/creditmemo/{named}", f"GET /v3/company/{REALM}/query"]


class Gate:
    """Wraps the connector factory: records when each connection's fetch starts and ends and
    holds the first run of ``hold`` until released."""

    def __init__(self, build: sync.ConnectorFactory, hold: str) -> None:
        self.build, self.hold = build, hold
        self.events: list[tuple[str, str]] = []
        self.active: set[str] = set()
        self.overlap = False
        self.lock = threading.Lock()
        self.held, self.release = threading.Event(), threading.Event()

    def __call__(self, snap: sync.Snapshot, save: Any) -> Any:
        connector = self.build(snap, save)

        def fetch(cursor: dict[str, Any]):
            with self.lock:
                self.overlap |= snap.id in self.active
                self.active.add(snap.id)
                self.events.append((snap.id, "start"))
            try:
                if snap.id == self.hold and not self.held.is_set():
                    self.held.set()
                    assert self.release.wait(20)
                yield from connector.fetch(cursor)
            finally:
                with self.lock:
                    self.active.discard(snap.id)
                    self.events.append((snap.id, "end"))
        return SimpleNamespace(provider=connector.provider, fetch=fetch)


def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_workers_never_run_one_connection_at_once(
        pg_db: Database, pg_actor: Actor, fake_qbo: FakeQbo) -> None:
    a, b = fake_qbo.connect(pg_db, pg_actor), fake_qbo.connect(pg_db, pg_actor)
    gate = Gate(fake_qbo.factory(), hold=a)
    stop = threading.Event()

    def worker(name: str) -> None:
        async def main() -> None:
            app = queue.make_app(url_of(pg_db))
            async with app.open_async():
                task = asyncio.create_task(app.run_worker_async(
                    name=name, queues=[queue.SYNC_QUEUE], concurrency=1,
                    install_signal_handlers=False, fetch_job_polling_interval=0.1,
                    additional_context={"sync": queue.Runtime(pg_db, gate)}))
                await asyncio.to_thread(stop.wait)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        asyncio.run(main())

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in (1, 2)]
    sync.request_run(pg_db, integration_id=a, trigger="manual")
    assert queue.dispatch_queued(queue.deferrer(pg_db), pg_db) == [a]
    try:
        for t in threads:
            t.start()
        assert gate.held.wait(20)  # a's first run is in progress on one worker
        sync.request_run(pg_db, integration_id=a, trigger="manual")
        sync.request_run(pg_db, integration_id=b, trigger="manual")
        assert queue.dispatch_queued(queue.deferrer(pg_db), pg_db) == sorted([a, b])
        wait_for(lambda: [r.status for r in runs(pg_db, b)] == ["succeeded"])  # other worker
        time.sleep(0.5)
        second = [j for j in jobs(pg_db) if j["args"] == {"integration_id": a}][-1]
        assert (second["status"], second["attempts"]) == ("todo", 0)  # waits for the lock
        assert [r.status for r in runs(pg_db, a)] == ["running", "queued"]
        gate.release.set()
        wait_for(lambda: [r.status for r in runs(pg_db, a)] == ["succeeded", "succeeded"])
    finally:
        gate.release.set()
        stop.set()
        for t in threads:
            t.join(30)
    assert not gate.overlap
    assert [e for i, e in gate.events if i == a] == ["start", "end", "start", "end"]
    assert gate.events.index((b, "start")) < gate.events.index((a, "end"))  # in parallel


def test_y6_transient_failure_is_retried_by_the_job_with_exponential_back_off(
        pg_db: Database, pg_actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(pg_db, pg_actor)
    sync.request_run(pg_db, integration_id=iid, trigger="manual")
    queue.dispatch_queued(queue.deferrer(pg_db), pg_db)
    for attempt, back_off in ((1, 5), (2, 25)):
        fake_qbo.state.inject(*["500"] * 4)  # outlasts the connector's own 4 attempts
        drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])
        [job] = jobs(pg_db)
        assert (job["status"], job["attempts"]) == ("todo", attempt)
        assert back_off - 2 < float(job["due_in"]) <= back_off  # 5 ** attempt seconds
        drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])  # not due yet: nothing runs
        assert len(runs(pg_db, iid)) == attempt
        with pg_db.engine.begin() as conn:  # time passes
            conn.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])
    assert [(r.trigger, r.status) for r in runs(pg_db, iid)] == [
        ("manual", "failed"), ("retry", "failed"), ("retry", "succeeded")]
    assert "HTTP 500" in runs(pg_db, iid)[0].errors[-1]["message"]
    assert [j["status"] for j in jobs(pg_db)] == ["succeeded"]


def test_y6_needs_reconnection_is_recorded_and_not_retried(
        pg_db: Database, pg_actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(pg_db, pg_actor)
    sync.request_run(pg_db, integration_id=iid, trigger="manual")
    queue.dispatch_queued(queue.deferrer(pg_db), pg_db)
    fake_qbo.state.inject("revoked")
    drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])
    [job] = jobs(pg_db)
    assert (job["status"], job["attempts"]) == ("succeeded", 1)  # finished: no retry queued
    [r] = runs(pg_db, iid)
    assert r.status == "failed" and "reconnect" in r.errors[-1]["message"]
    with pg_db.read() as s:
        assert s.get_one(models.Integration, iid).status == "needs_reconnection"
    assert queue.defer_sync(queue.deferrer(pg_db), iid)  # even if asked again …
    drain(pg_db, fake_qbo.factory(), [queue.SYNC_QUEUE])
    assert len(runs(pg_db, iid)) == 1  # … no run is made until the partner reconnects


def test_sqlite_default_runs_the_same_jobs_in_process(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    if not db.is_sqlite:
        pytest.skip("the in-process runner is the SQLite default")
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(db, actor)
    runner = sync_jobs.InProcessRunner(db, tick=30.0,
                                       client_factory=lambda: contextlib.nullcontext(
                                           fake_qbo.client))
    runner.start()
    try:
        wait_for(lambda: [r.status for r in runs(db, iid)] == ["succeeded"])  # due: connected
        run_id = sync.request_run(db, integration_id=iid, trigger="manual")
        sync_jobs.wake(SimpleNamespace(db=db, sync_runner=runner))  # no 30 s wait
        wait_for(lambda: runs(db, iid)[-1].status == "succeeded", timeout=10)
        assert runs(db, iid)[-1].id == run_id
    finally:
        runner.stop()
        sync_jobs.current_runner = None


def test_worker_command_starts_a_procrastinate_worker_on_postgresql(
        pg_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, queue.Runtime, int]] = []
    monkeypatch.setattr(queue, "run_worker", lambda url, runtime, *, concurrency: started.append(
        (url, runtime, concurrency)))
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", url_of(pg_db))
    config.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["worker", "--concurrency", "3"])
    finally:
        config.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [(url, runtime, concurrency)] = started
    assert queue.is_postgres(url) and concurrency == 3 and callable(runtime.connector_for)


def test_y11_a_write_back_runs_on_procrastinate_after_the_request_commits(
        pg_db: Database, pg_actor: Actor, fake_xero) -> None:
    """Y11 on PostgreSQL: the request's wake defers the write-back task (one waiting at a
    time: its queueing lock); a worker sends the application to Xero and records it."""
    from creditdesk.services.credit_memos import credit
    from tests.services.test_write_back import Books, allocations, applications

    b = Books(pg_db, pg_actor, fake_xero)
    for amount in ("10.00", "15.00"):
        credit.apply_credit(pg_db, actor=pg_actor, memo_id=b.memo_id,
                            invoice_id=b.invoices[0], amount=amount)
        sync_jobs.wake(SimpleNamespace(db=pg_db))
    waiting = [j for j in jobs(pg_db, queue.WRITE_BACK_TASK) if j["status"] == "todo"]
    assert len(waiting) == 1  # two requests, one job: it drains every due write-back
    drain(pg_db, fake_xero.factory(), ["sync"])
    assert [a.status for a in applications(pg_db, b.memo_id)] == ["applied", "applied"]
    assert len(allocations(fake_xero, b.note)) == 2
    assert {j["status"] for j in jobs(pg_db, queue.WRITE_BACK_TASK)} == {"succeeded"}


def test_y11_the_in_process_runner_sends_write_backs_on_sqlite(
        db: Database, actor: Actor, fake_xero) -> None:
    if not db.is_sqlite:
        pytest.skip("the in-process runner is the SQLite default")
    from creditdesk.services.credit_memos import credit
    from tests.services.test_write_back import Books, allocations, applications

    b = Books(db, actor, fake_xero)
    runner = sync_jobs.InProcessRunner(db, tick=30.0,
                                       client_factory=lambda: contextlib.nullcontext(
                                           fake_xero.client))
    runner.start()
    try:
        credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                            amount="10.00")
        sync_jobs.wake(SimpleNamespace(db=db, sync_runner=runner))  # no 30 s wait
        wait_for(lambda: [a.status for a in applications(db, b.memo_id)] == ["applied"],
                 timeout=15)
        assert len(allocations(fake_xero, b.note)) == 1
    finally:
        runner.stop()
        sync_jobs.current_runner = None
