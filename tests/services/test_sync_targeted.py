"""Targeted syncs: a webhook names memos, the run reads exactly those by id (Y2, Y4, Y6, Y8),
and the queue never loses a named memo, whatever else is queued or running. That a targeted
run reads just the named memos and keeps the schedule runs over every system with webhooks
in test_sync_contract.py."""

from __future__ import annotations

from datetime import timedelta

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import sync
from creditdesk.services.common import vault
from creditdesk.services.common.context import Actor, clock, new_id
from tests.concurrency import Calls, new_actor, race, settle
from tests.qbo_fixtures import REALM, FakeQbo
from tests.sync_helpers import integration, run, synced_memos

C, D = base.CHANGED, base.DELETED


def memos(db: Database) -> dict[str, models.CreditMemo]:
    return synced_memos(db, "quickbooks_online")


def execute(db: Database, run_id: str, factory: sync.ConnectorFactory) -> models.SyncRun:
    assert sync.claim_next(db) == run_id
    sync.execute(db, run_id, factory)
    return run(db, run_id)


def queued(db: Database, iid: str) -> list[models.SyncRun]:
    with db.read() as s:
        return list(s.query(models.SyncRun).filter_by(integration_id=iid, status="queued"))


def test_y4_a_memo_the_read_no_longer_finds_lands_as_deleted(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    gone = fake_qbo.state.add_memo(REALM, total="8.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    fake_qbo.state.delete_memo(REALM, gone)  # the webhook said Update; the read says 610
    rid = sync.request_run(db, integration_id=iid, trigger="webhook", targets={gone: C})
    r = execute(db, rid, fake_qbo.factory())
    assert (r.fetched, r.voided) == (1, 1)
    assert memos(db)[gone].status == "void"


# the queue: one queued run per connection, and no named memo is ever lost -------------------
def test_named_memos_merge_into_the_queued_targeted_run(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    first = sync.request_run(db, integration_id=iid, trigger="webhook", targets={"1": C})
    second = sync.request_run(db, integration_id=iid, trigger="webhook",
                              targets={"2": C, "1": D})
    third = sync.request_run(db, integration_id=iid, trigger="webhook", targets={"1": C})
    assert first == second == third
    assert [(r.trigger, r.targets) for r in queued(db, iid)] == [
        ("webhook", {"1": D, "2": C})]  # a deletion is never undone by a later update


def test_a_queued_incremental_run_absorbs_a_webhook_and_sync_now_widens_a_targeted_one(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)  # connected: its first (incremental) sync is due
    due = sync.queue_due(db)
    assert sync.request_run(db, integration_id=iid, trigger="webhook",
                            targets={"1": C}) == due[0]
    assert [(r.trigger, r.targets) for r in queued(db, iid)] == [("schedule", None)]
    sync.execute(db, sync.claim_next(db) or "", fake_qbo.factory())

    targeted = sync.request_run(db, integration_id=iid, trigger="webhook", targets={"1": C})
    # a job runner takes the queued run as it is...
    assert sync.ensure_queued(db, integration_id=iid, trigger="schedule") == targeted
    assert queued(db, iid)[0].targets == {"1": C}
    # ...while Sync now (or the schedule) asks for everything: one incremental run covers it
    assert sync.request_run(db, integration_id=iid, trigger="manual") == targeted
    assert [(r.trigger, r.targets) for r in queued(db, iid)] == [("manual", None)]


def test_a_webhook_during_a_running_sync_queues_a_targeted_run_behind_it(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    running = sync.request_run(db, integration_id=iid, trigger="webhook", targets={"1": C})
    assert sync.claim_next(db) == running
    later = sync.request_run(db, integration_id=iid, trigger="webhook", targets={"2": C})
    assert later != running
    assert run(db, running).targets == {"1": C}  # what the running run reads is not changed
    assert [(r.id, r.targets) for r in queued(db, iid)] == [(later, {"2": C})]
    assert sync.claim_next(db) is None  # the queueing lock: never two runs at once


def test_past_the_limit_a_targeted_run_becomes_incremental(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    many = {str(n): C for n in range(sync.MAX_TARGETS)}
    rid = sync.request_run(db, integration_id=iid, trigger="webhook", targets=many)
    assert queued(db, iid)[0].targets == many
    assert sync.request_run(db, integration_id=iid, trigger="webhook",
                            targets={"extra": C}) == rid
    assert queued(db, iid)[0].targets is None
    other = fake_qbo.connect(db, actor, realm=REALM)
    sync.request_run(db, integration_id=other, trigger="webhook",
                     targets={**many, "extra": C})
    assert queued(db, other)[0].targets is None


def test_y6_a_failed_targeted_run_is_recorded_and_the_incremental_retry_comes_soon(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    memo = fake_qbo.state.add_memo(REALM, total="9.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    planned = integration(db, iid).next_sync_at
    assert planned is not None
    fake_qbo.state.apply_credit(REALM, memo, "4.00")
    rid = sync.request_run(db, integration_id=iid, trigger="webhook", targets={memo: C})
    fake_qbo.state.inject(*["503"] * 4)
    r = execute(db, rid, fake_qbo.factory())
    assert r.status == "failed" and "503" in r.errors[-1]["message"]
    after = integration(db, iid)
    assert after.next_sync_at is not None and after.next_sync_at <= planned
    assert after.next_sync_at <= clock.now() + timedelta(minutes=1)
    retry = sync.queue_due(db, now=after.next_sync_at)
    assert len(retry) == 1 and run(db, retry[0]).targets is None
    sync.execute(db, sync.claim_next(db) or "", fake_qbo.factory())
    assert memos(db)[memo].status == "partially_applied"  # picked up: nothing lost


def test_requests_racing_to_queue_meet_in_one_queued_run(pg_db: Database) -> None:
    """Sync now, the schedule and webhooks racing on PostgreSQL: one queued run, all of
    them answered with it, its targets merged or widened (never a second queued run)."""
    actor = new_actor(pg_db)
    now = clock.now()
    with pg_db.write() as s:
        integ = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider="quickbooks_online",
            region="us", realm_id="9130355", company_name="Harbor Books", status="connected",
            credentials_encrypted=vault.seal({"access_token": "a", "refresh_token": "r"}),
            cursor={}, consecutive_failures=0, next_sync_at=now, created_at=now,
            updated_at=now)
        s.add(integ)
    for round_ in range(3):
        calls: Calls = [(f"webhook-{i}", lambda i=i, r=round_: sync.request_run(
            pg_db, integration_id=integ.id, trigger="webhook",
            targets={f"{r}-{i}": base.CHANGED})) for i in range(6)]
        calls.append(("sync-now", lambda: sync.request_run(
            pg_db, integration_id=integ.id, trigger="manual")))
        groups, _ = settle(race(calls), {})
        answered = {o.value for group in groups.values() for o in group}
        assert len(queued(pg_db, integ.id)) == 1 and answered == {queued(pg_db, integ.id)[0].id}
        assert queued(pg_db, integ.id)[0].targets is None  # Sync now widened it
        assert sync.claim_next(pg_db, integration_id=integ.id) in answered
        with pg_db.write() as s:  # done: the next round queues afresh
            s.get_one(models.SyncRun, answered.pop()).status = "succeeded"
