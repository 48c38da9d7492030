"""The sync engine with the Sage Intacct connector against the fake gateway (Y4-Y6, Y8).

The integration row is written directly (sealed credentials, as the create service will
store them), so this needs no provider registry wiring.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from creditdesk.connectors import sage_intacct as intacct
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import sync
from creditdesk.services.common import vault
from creditdesk.services.common.context import Actor, clock, new_id
from tests.intacct_fixtures import COMPANY, FakeIntacct
from tests.intacct_fixtures import fake_intacct as fake_intacct  # the fixture
from tests.sync_helpers import Killed, synced_memos


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")


def connect(db: Database, actor: Actor, fake: FakeIntacct) -> str:
    now = clock.now()
    with db.write() as s:
        row = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider=intacct.PROVIDER,
            status="connected", realm_id=COMPANY, company_name=COMPANY, cursor={},
            credentials_encrypted=vault.seal(fake.credentials().to_dict()),
            consecutive_failures=0, created_at=now, updated_at=now)
        s.add(row)
        return row.id


def run_sync(db: Database, fake: FakeIntacct, integration_id: str) -> models.SyncRun:
    def build(snap: sync.Snapshot, save: object) -> intacct.SageIntacct:
        return intacct.build(fake.client, None, tokens=snap.tokens, realm_id=snap.realm_id,
                             save_tokens=save, retry=fake.retry(), page_size=2)

    run_id = sync.request_run(db, integration_id=integration_id, trigger="manual")
    assert sync.claim_next(db) == run_id
    sync.execute(db, run_id, build)
    with db.read() as s:
        return s.get_one(models.SyncRun, run_id)


def memos(db: Database) -> dict[str, models.CreditMemo]:
    return synced_memos(db, intacct.PROVIDER)


def test_y4_y6_sync_lands_statuses_reruns_cleanly_and_follows_changes(
        db: Database, actor: Actor, fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    a = st.add_adjustment(COMPANY, total="-250.00", record_id="ADJ-0042")
    b = st.add_adjustment(COMPANY, total="-100.00", due="-40.00", customer_id="C-0059",
                          customer_name="Dock Ltd")
    c = st.add_adjustment(COMPANY, total="-80.00", due="0")
    st.add_adjustment(COMPANY, total="15.00")  # a debit memo: not a credit
    iid = connect(db, actor, fake_intacct)
    first = run_sync(db, fake_intacct, iid)
    assert (first.status, first.fetched, first.created) == ("succeeded", 3, 3)
    got = memos(db)
    assert (got[a].status, got[a].number, got[a].total_minor) == ("issued", "ADJ-0042", 25000)
    assert (got[b].status, got[b].applied_minor) == ("partially_applied", 6000)
    assert (got[c].status, got[c].applied_minor) == ("applied", 8000)
    again = run_sync(db, fake_intacct, iid)
    assert (again.status, again.created, again.updated) == ("succeeded", 0, 0)
    st.tick(2)
    st.apply_credit(COMPANY, a, "-200.00")
    st.reverse(COMPANY, b)
    third = run_sync(db, fake_intacct, iid)
    assert (third.status, third.created, third.updated, third.voided) == (
        "succeeded", 0, 1, 1)
    got = memos(db)
    assert (got[a].status, got[a].applied_minor) == ("partially_applied", 5000)
    assert (got[b].status, got[b].void_reason) == ("void", "Voided in Sage Intacct")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(models.CreditMemo)) == 3


def test_y6_bad_record_recorded_rest_land_and_bad_login_needs_reconnection(
        db: Database, actor: Actor, fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    good = [st.add_adjustment(COMPANY, total="-5.00") for _ in range(3)]
    bad = st.add_adjustment(COMPANY, total="-7.00")
    st.malform(COMPANY, bad)
    iid = connect(db, actor, fake_intacct)
    r = run_sync(db, fake_intacct, iid)
    assert (r.status, r.created) == ("partial", 3)
    assert r.errors[0]["external_id"] == bad and "TRX_TOTALENTERED" in r.errors[0]["message"]
    assert set(memos(db)) == set(good)
    st.companies[COMPANY].users["api_user"] = "rotated-by-the-admin"
    failed = run_sync(db, fake_intacct, iid)
    assert failed.status == "failed" and "Sign-in information is incorrect" in str(
        failed.errors)
    with db.read() as s:
        assert s.get_one(models.Integration, iid).status == "needs_reconnection"


# hard deletes ---------------------------------------------------------------------------------
def later(monkeypatch: pytest.MonkeyPatch, hours: float) -> None:
    moved = clock.now() + timedelta(hours=hours)
    monkeypatch.setattr(clock, "now", lambda: moved)


def listings(fake: FakeIntacct) -> int:
    """readByQuery calls without a filter after the first run: the RECORDNO listings."""
    return fake.state.requests.count("readByQuery ")


def test_y4_hard_delete_lands_void_at_the_next_reconciliation_and_not_more_often(
        db: Database, actor: Actor, fake_intacct: FakeIntacct,
        monkeypatch: pytest.MonkeyPatch) -> None:
    st = fake_intacct.state
    keep = st.add_adjustment(COMPANY, total="-50.00")
    gone = st.add_adjustment(COMPANY, total="-20.00", due="-5.00")
    iid = connect(db, actor, fake_intacct)
    run_sync(db, fake_intacct, iid)  # nothing held yet: no listing, the clock starts
    st.delete_adjustment(COMPANY, gone)
    st.requests.clear()
    within = run_sync(db, fake_intacct, iid)
    assert (within.status, within.voided) == ("succeeded", 0)
    assert listings(fake_intacct) == 0 and memos(db)[gone].status == "partially_applied"
    later(monkeypatch, 24)
    st.requests.clear()
    due = run_sync(db, fake_intacct, iid)
    assert (due.status, due.created, due.updated, due.voided, due.errors) == (
        "succeeded", 0, 0, 1, [])
    assert listings(fake_intacct) == 1
    got = memos(db)
    assert (got[gone].status, got[gone].void_reason, got[gone].applied_minor) == (
        "void", "Deleted in Sage Intacct", 0)
    assert (got[keep].status, got[keep].total_minor) == ("issued", 5000)
    with db.read() as s:
        reconciled = s.get_one(models.Integration, iid).cursor["reconciled_at"]
    assert reconciled == clock.now().isoformat()
    later(monkeypatch, 23)  # 47 h after the first run, 23 h after the listing
    st.requests.clear()
    assert run_sync(db, fake_intacct, iid).voided == 0
    assert listings(fake_intacct) == 0


def test_y6_partial_listing_voids_nothing_and_the_next_run_completes_it(
        db: Database, actor: Actor, fake_intacct: FakeIntacct,
        monkeypatch: pytest.MonkeyPatch) -> None:
    st = fake_intacct.state
    ids = [st.add_adjustment(COMPANY, total="-5.00") for _ in range(5)]
    iid = connect(db, actor, fake_intacct)
    run_sync(db, fake_intacct, iid)
    st.delete_adjustment(COMPANY, ids[0])
    later(monkeypatch, 25)
    st.inject_after(2, *["503"] * 4)  # sign-in, the first page of ids, then readMore fails
    cut = run_sync(db, fake_intacct, iid)
    assert (cut.status, cut.voided) == ("failed", 0)
    assert "503" in cut.errors[-1]["message"]
    assert all(m.status == "issued" for m in memos(db).values())
    done = run_sync(db, fake_intacct, iid)
    assert (done.status, done.voided) == ("succeeded", 1)
    assert memos(db)[ids[0]].void_reason == "Deleted in Sage Intacct"
    assert sorted(m.status for m in memos(db).values()) == ["issued"] * 4 + ["void"]


@pytest.mark.reliability
def test_a_killed_reconciliation_lands_again_without_duplicates(
        db: Database, actor: Actor, fake_intacct: FakeIntacct,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker dies after the first page of deletions committed: the next run lists again
    and voids the rest; what is void already stays as it is, counted once."""
    st = fake_intacct.state
    ids = [st.add_adjustment(COMPANY, total="-5.00") for _ in range(4)]
    iid = connect(db, actor, fake_intacct)
    run_sync(db, fake_intacct, iid)
    for record_no in ids[:3]:
        st.delete_adjustment(COMPANY, record_no)
    later(monkeypatch, 25)
    monkeypatch.setattr(sync, "RECONCILE_PAGE", 2)
    real_land = sync.land_page
    landed: list[int] = []

    def dying(session, run_id, snap, batch):
        if landed:
            raise Killed
        landed.append(len(batch.records))
        real_land(session, run_id, snap, batch)

    monkeypatch.setattr(sync, "land_page", dying)
    with pytest.raises(Killed):
        run_sync(db, fake_intacct, iid)
    assert sorted(m.status for m in memos(db).values()) == ["issued"] * 2 + ["void"] * 2
    monkeypatch.setattr(sync, "land_page", real_land)
    later(monkeypatch, 0.5)  # the dead run's heartbeat is stale by then
    done = run_sync(db, fake_intacct, iid)
    assert (done.status, done.voided) == ("succeeded", 1)
    assert sorted(m.status for m in memos(db).values()) == ["issued"] + ["void"] * 3
    with db.read() as s:
        voids = s.scalar(select(func.count()).select_from(models.AuditEvent).where(
            models.AuditEvent.action == "credit_memo.sync_void"))
    assert voids == 3
