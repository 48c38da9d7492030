"""The sync engine against the fake QuickBooks Online over real HTTP (Y3-Y6, Y8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services import customers, memo_lifecycle, sync
from creditdesk.services.context import Actor, clock
from tests.qbo_fixtures import REALM, FakeQbo
from tests.sync_helpers import (
    Killed,
    dying_after_first_page,
    integration,
    run,
    synced_memos,
)


def memos(db: Database) -> dict[str, models.CreditMemo]:
    return synced_memos(db, "quickbooks_online")


def test_y4_y5_first_sync_lands_memos_with_statuses_and_customers(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    a = st.add_memo(REALM, total="250.00", doc_number="CM-1007")
    b = st.add_memo(REALM, total="100.00", remaining="40.00", customer_id="59",
                    customer_name="Dock Ltd")
    c = st.add_memo(REALM, total="80.00", remaining="0")
    iid = fake_qbo.connect(db, actor)
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.fetched, r.created, r.updated, r.voided) == ("succeeded", 3, 3, 0, 0)
    got = memos(db)
    assert (got[a].status, got[a].number, got[a].total_minor, got[a].applied_minor) == (
        "issued", "CM-1007", 25000, 0)
    assert (got[b].status, got[b].applied_minor) == ("partially_applied", 6000)
    assert (got[c].status, got[c].applied_minor) == ("applied", 8000)
    with db.read() as s:
        custs = s.scalars(select(models.Customer).where(
            models.Customer.external_source == "quickbooks_online")).all()
    assert {(x.external_id, x.name) for x in custs} == {("58", "Harbor Supply Co"),
                                                       ("59", "Dock Ltd")}
    assert got[a].customer_id == got[c].customer_id
    summary = customers.credit_summary(db, actor=actor, customer_id=got[a].customer_id)
    assert [(m.currency, m.minor) for m in summary.balances] == [("USD", 25000)]  # S1


def test_y5_existing_customer_is_matched_by_the_systems_customer_id(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    mine = customers.create_customer(db, actor=actor, name="Harbor (ours)")
    with db.write() as s:
        row = s.get_one(models.Customer, mine.id)
        row.external_source, row.external_id = "quickbooks_online", "58"
    m = fake_qbo.state.add_memo(REALM, total="10.00")
    fake_qbo.sync(db, fake_qbo.connect(db, actor))
    assert memos(db)[m].customer_id == mine.id


def test_y6_rerun_creates_no_duplicates_and_incremental_changes_land(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    ids = [st.add_memo(REALM, total="50.00") for _ in range(5)]
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid, page_size=2)
    again = run(db, fake_qbo.sync(db, iid, page_size=2))
    assert (again.created, again.updated) == (0, 0)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(models.CreditMemo)) == 5
    st.apply_credit(REALM, ids[0], "20.00")
    st.void_memo(REALM, ids[1])
    st.delete_memo(REALM, ids[2])
    r = run(db, fake_qbo.sync(db, iid, page_size=2))
    assert (r.status, r.created, r.updated, r.voided) == ("succeeded", 0, 1, 2)
    got = memos(db)
    assert (got[ids[0]].status, got[ids[0]].applied_minor) == ("partially_applied", 3000)
    assert (got[ids[1]].status, got[ids[1]].void_reason) == ("void",
                                                            "Voided in QuickBooks Online")
    assert (got[ids[2]].status, got[ids[2]].void_reason) == ("void",
                                                            "Deleted in QuickBooks Online")
    assert got[ids[1]].total_minor == 5000  # the total it had; nothing remaining (C7)


def test_y6_one_bad_record_is_recorded_and_skipped_while_the_rest_land(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    good = [st.add_memo(REALM, total="5.00") for _ in range(3)]
    bad = st.add_memo(REALM, total="7.00")
    st.malform(REALM, bad)
    iid = fake_qbo.connect(db, actor)
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.fetched, r.created) == ("partial", 4, 3)
    assert r.errors[0]["external_id"] == bad and "TotalAmt" in r.errors[0]["message"]
    assert set(memos(db)) == set(good)
    assert "could not be read" in (integration(db, iid).last_error or "")


def test_y3_synced_memo_is_read_only_naming_the_system(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    m = fake_qbo.state.add_memo(REALM, total="5.00", doc_number="CM-77")
    fake_qbo.sync(db, fake_qbo.connect(db, actor))
    with pytest.raises(errors.ReadOnly, match="QuickBooks Online"):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=memos(db)[m].id, reason="x")


@pytest.mark.parametrize("fault", ["429", "500", "503", "timeout"])
def test_y6_transient_faults_are_retried_with_back_off(
        db: Database, actor: Actor, fake_qbo: FakeQbo, fault: str) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.state.retry_after = "3"
    fake_qbo.state.inject(fault, fault)
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.created) == ("succeeded", 1)
    assert len(fake_qbo.sleeps) == 2
    if fault == "429":
        assert fake_qbo.sleeps == [3.0, 3.0]  # Retry-After honoured


def test_y6_faults_outlasting_the_retries_fail_the_run_and_back_off(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.state.inject(*["500"] * 4)
    r = run(db, fake_qbo.sync(db, iid))
    assert r.status == "failed" and "HTTP 500" in r.errors[-1]["message"]
    i = integration(db, iid)
    assert (i.status, i.consecutive_failures) == ("connected", 1)
    assert i.next_sync_at is not None and i.next_sync_at > clock.now()
    assert sync.queue_due(db) == []  # not before its back-off
    assert run(db, fake_qbo.sync(db, iid)).status == "succeeded"  # nothing lost


def test_expired_token_is_refreshed_then_retried_and_rotated_tokens_saved_encrypted(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(db, actor)
    before = integration(db, iid).credentials_encrypted
    fake_qbo.state.inject("expired_token")
    assert run(db, fake_qbo.sync(db, iid)).status == "succeeded"
    after = integration(db, iid).credentials_encrypted or ""
    assert after != before
    assert all(t not in after for t in fake_qbo.state.refresh)  # Y7: never in clear
    assert run(db, fake_qbo.sync(db, iid)).status == "succeeded"  # the new refresh token works


def test_revoked_access_needs_reconnection_and_is_never_retried(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.state.inject("revoked")
    r = run(db, fake_qbo.sync(db, iid))
    assert r.status == "failed" and "reconnect" in r.errors[-1]["message"]
    i = integration(db, iid)
    assert (i.status, i.next_sync_at) == ("needs_reconnection", None)
    assert sync.queue_due(db, now=clock.now() + timedelta(days=30)) == []


def test_y6_a_killed_run_resumes_from_the_last_committed_page_without_duplicates(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    ids = [fake_qbo.state.add_memo(REALM, total="5.00") for _ in range(5)]
    iid = fake_qbo.connect(db, actor)
    build = fake_qbo.factory(page_size=2)
    dying = dying_after_first_page(build)  # the worker dies after one committed page

    first = sync.request_run(db, integration_id=iid, trigger="manual")
    sync.claim_next(db)
    with pytest.raises(Killed):
        sync.execute(db, first, dying)
    assert run(db, first).status == "running" and len(memos(db)) == 2
    second = sync.request_run(db, integration_id=iid, trigger="manual")
    assert sync.claim_next(db) is None  # the queueing lock holds while it looks alive
    assert sync.claim_next(db, now=clock.now() + timedelta(minutes=11)) == second
    assert run(db, first).status == "failed"
    sync.execute(db, second, build)
    assert set(memos(db)) == set(ids)
    assert run(db, second).created == 3


def test_y8_runs_and_audit_events_are_recorded(db: Database, actor: Actor,
                                                fake_qbo: FakeQbo) -> None:
    m = fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(db, actor)
    rid = fake_qbo.sync(db, iid)
    r = run(db, rid)
    assert r.started_at and r.finished_at and r.finished_at >= r.started_at
    with db.read() as s:
        actions = set(s.scalars(select(models.AuditEvent.action)).all())
    assert {"integration.create", "integration.connect", "integration.sync",
            "credit_memo.sync_create", "customer.sync_create"} <= actions
    assert memos(db)[m].external_id == m
