"""What only Sage Intacct's sync does, against the fake gateway (Y4, Y6): debit memos are
no credits, hard deletes found by a once-a-day reconciliation. What every system's sync does
runs against Sage Intacct in test_sync_contract.py.

The integration row is written directly (sealed credentials, as the connect service stores
them), so these tests (and test_sync_lines.py) need no connection check.
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


def test_y4_debit_memos_are_read_but_are_no_credits(
        db: Database, actor: Actor, fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    credits = [st.add_adjustment(COMPANY, total=f"-{n}0.00") for n in (1, 2, 3)]
    st.add_adjustment(COMPANY, total="15.00")  # a debit memo: not a credit
    first = run_sync(db, fake_intacct, connect(db, actor, fake_intacct))
    assert (first.status, first.fetched, first.created) == ("succeeded", 3, 3)
    assert set(memos(db)) == set(credits)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(models.CreditMemo)) == 3


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
