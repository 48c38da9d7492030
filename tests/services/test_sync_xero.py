"""The sync engine against the fake Xero over real HTTP (Y3-Y8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.books import sync
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import memo_lifecycle
from creditdesk.services.customer_accounts import customers
from tests.sync_helpers import (
    Killed,
    dying_after_first_page,
    integration,
    link,
    run,
    synced_customers,
    synced_memos,
)
from tests.xero_fixtures import TENANT, FakeXero

OTHER_CONTACT = "b2e1d3c5-2222-4333-8444-a55566667777"


def memos(db: Database) -> dict[str, models.CreditMemo]:
    return synced_memos(db, "xero")


def test_y1_connect_keeps_the_tenant_id_and_encrypted_tokens(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    i = integration(db, fake_xero.connect(db, actor))
    assert (i.status, i.realm_id, i.region, i.company_name) == (
        "connected", TENANT, "us", "Harbor Books")
    assert all(t not in (i.credentials_encrypted or "") for t in fake_xero.state.refresh)


def test_y4_y5_first_sync_lands_notes_with_statuses_and_customers(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    st = fake_xero.state
    a = st.add_credit_note(TENANT, total="250.00", number="CN-0042")
    b = st.add_credit_note(TENANT, total="100.00", contact_id=OTHER_CONTACT,
                           contact_name="Dock Ltd")
    st.allocate(TENANT, b, "60.00")
    c = st.add_credit_note(TENANT, total="80.00")
    st.allocate(TENANT, c, "80.00")  # PAID
    iid = fake_xero.connect(db, actor)
    r = run(db, fake_xero.sync(db, iid))
    assert (r.status, r.fetched, r.created, r.updated, r.voided) == ("succeeded", 3, 3, 0, 0)
    got = memos(db)
    assert (got[a].status, got[a].number, got[a].total_minor, got[a].applied_minor) == (
        "issued", "CN-0042", 25000, 0)
    assert (got[b].status, got[b].applied_minor) == ("partially_applied", 6000)
    assert (got[c].status, got[c].applied_minor) == ("applied", 8000)
    assert synced_customers(db, "xero") == {
        ("a1f0c2d4-1111-4222-8333-944455556666", "Harbor Supply Co"),
        (OTHER_CONTACT, "Dock Ltd")}
    summary = customers.credit_summary(db, actor=actor, customer_id=got[a].customer_id)
    assert [(m.currency, m.minor) for m in summary.balances] == [("USD", 25000)]


def test_y5_existing_customer_is_matched_by_contact_id(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    mine = customers.create_customer(db, actor=actor, name="Harbor (ours)")
    link(db, actor.partner_id, mine.id, "xero", OTHER_CONTACT)
    n = fake_xero.state.add_credit_note(TENANT, total="10.00", contact_id=OTHER_CONTACT)
    fake_xero.sync(db, fake_xero.connect(db, actor))
    assert memos(db)[n].customer_id == mine.id


def test_y6_rerun_creates_no_duplicates_and_status_changes_land(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    st = fake_xero.state
    ids = [st.add_credit_note(TENANT, total="50.00") for _ in range(5)]
    iid = fake_xero.connect(db, actor)
    fake_xero.sync(db, iid, page_size=2)
    again = run(db, fake_xero.sync(db, iid, page_size=2))
    assert (again.status, again.created, again.updated) == ("succeeded", 0, 0)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(models.CreditMemo)) == 5
    st.allocate(TENANT, ids[0], "30.00")
    st.void(TENANT, ids[1])
    st.update_note(TENANT, ids[2], Status="DELETED")  # as a soft-deleted record reads
    r = run(db, fake_xero.sync(db, iid, page_size=2))
    assert (r.status, r.created, r.updated, r.voided) == ("succeeded", 0, 1, 2)
    got = memos(db)
    assert (got[ids[0]].status, got[ids[0]].applied_minor) == ("partially_applied", 3000)
    assert (got[ids[1]].status, got[ids[1]].void_reason) == ("void", "Voided in Xero")
    assert (got[ids[2]].status, got[ids[2]].void_reason) == ("void", "Deleted in Xero")
    assert got[ids[1]].total_minor == 5000


def test_y6_one_bad_record_is_recorded_and_skipped_while_the_rest_land(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    st = fake_xero.state
    good = [st.add_credit_note(TENANT, total="5.00") for _ in range(3)]
    bad = st.add_credit_note(TENANT, total="7.00")
    st.malform(TENANT, bad)
    iid = fake_xero.connect(db, actor)
    r = run(db, fake_xero.sync(db, iid))
    assert (r.status, r.fetched, r.created) == ("partial", 4, 3)
    assert r.errors[0]["external_id"] == bad and "Total" in r.errors[0]["message"]
    assert set(memos(db)) == set(good)
    assert "could not be read" in (integration(db, iid).last_error or "")


def test_y3_synced_note_is_read_only_naming_xero(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    n = fake_xero.state.add_credit_note(TENANT, total="5.00")
    fake_xero.sync(db, fake_xero.connect(db, actor))
    with pytest.raises(errors.ReadOnly, match="Xero"):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=memos(db)[n].id, reason="x")


@pytest.mark.parametrize("fault", ["429", "500", "503", "timeout"])
def test_y6_transient_faults_are_retried_with_back_off(
        db: Database, actor: Actor, fake_xero: FakeXero, fault: str) -> None:
    fake_xero.state.add_credit_note(TENANT, total="5.00")
    iid = fake_xero.connect(db, actor)
    fake_xero.state.retry_after = "3"
    fake_xero.state.inject(fault, fault)
    r = run(db, fake_xero.sync(db, iid))
    assert (r.status, r.created) == ("succeeded", 1)
    assert len(fake_xero.sleeps) == 2
    if fault == "429":
        assert fake_xero.sleeps == [3.0, 3.0]  # Retry-After honoured


def test_y6_daily_limit_fails_the_run_backs_off_and_loses_nothing(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    n = fake_xero.state.add_credit_note(TENANT, total="5.00")
    iid = fake_xero.connect(db, actor)
    fake_xero.state.inject("429_day")
    r = run(db, fake_xero.sync(db, iid))
    assert r.status == "failed" and "daily API limit" in r.errors[-1]["message"]
    i = integration(db, iid)
    assert (i.status, i.consecutive_failures) == ("connected", 1)
    assert i.next_sync_at is not None and i.next_sync_at > clock.now()
    assert run(db, fake_xero.sync(db, iid)).status == "succeeded"
    assert n in memos(db)


def test_y7_expired_token_is_refreshed_then_retried_and_rotated_tokens_saved_encrypted(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    fake_xero.state.add_credit_note(TENANT, total="5.00")
    iid = fake_xero.connect(db, actor)
    before = integration(db, iid).credentials_encrypted
    fake_xero.state.inject("expired_token")
    assert run(db, fake_xero.sync(db, iid)).status == "succeeded"
    after = integration(db, iid).credentials_encrypted or ""
    assert after != before
    assert all(t not in after for t in fake_xero.state.refresh)  # never in clear
    fake_xero.state.inject("expired_token")
    assert run(db, fake_xero.sync(db, iid)).status == "succeeded"  # the new one works


def test_y6_revoked_access_needs_reconnection_and_is_never_retried(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    fake_xero.state.add_credit_note(TENANT, total="5.00")
    iid = fake_xero.connect(db, actor)
    fake_xero.state.inject("revoked")
    r = run(db, fake_xero.sync(db, iid))
    assert r.status == "failed" and "reconnect" in r.errors[-1]["message"]
    i = integration(db, iid)
    assert (i.status, i.next_sync_at) == ("needs_reconnection", None)
    assert sync.queue_due(db, now=clock.now() + timedelta(days=30)) == []


@pytest.mark.reliability
def test_y6_a_killed_run_resumes_from_the_last_committed_page_without_duplicates(
        db: Database, actor: Actor, fake_xero: FakeXero, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "LAND_AT_LEAST", 2)  # each page of 2 in a transaction of its own
    ids = [fake_xero.state.add_credit_note(TENANT, total="5.00") for _ in range(5)]
    iid = fake_xero.connect(db, actor)
    build = fake_xero.factory(page_size=2)
    dying = dying_after_first_page(build)  # the worker dies after one committed page

    first = sync.request_run(db, integration_id=iid, trigger="manual")
    sync.claim_next(db)
    with pytest.raises(Killed):
        sync.execute(db, first, dying)
    assert len(memos(db)) == 2
    second = sync.request_run(db, integration_id=iid, trigger="manual")
    assert sync.claim_next(db, now=clock.now() + timedelta(minutes=11)) == second
    sync.execute(db, second, build)
    assert set(memos(db)) == set(ids)
    assert run(db, second).created == 3


def test_y8_runs_and_audit_events_are_recorded(db: Database, actor: Actor,
                                                fake_xero: FakeXero) -> None:
    fake_xero.state.add_credit_note(TENANT, total="5.00")
    r = run(db, fake_xero.sync(db, fake_xero.connect(db, actor)))
    assert r.started_at and r.finished_at and r.finished_at >= r.started_at
    assert (r.fetched, r.created) == (1, 1)
    with db.read() as s:
        actions = set(s.scalars(select(models.AuditEvent.action)).all())
    assert {"integration.create", "integration.connect", "integration.sync",
            "credit_memo.sync_create", "customer.sync_create"} <= actions
