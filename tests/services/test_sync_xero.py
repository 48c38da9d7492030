"""What only Xero's sync does, against the fake Xero over real HTTP: the tenant kept at
connect, the daily API limit (Y1, Y6). What every system's sync does runs against Xero in
test_sync_contract.py."""

from __future__ import annotations

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor, clock
from tests.sync_helpers import integration, run, synced_memos
from tests.xero_fixtures import TENANT, FakeXero


def memos(db: Database) -> dict[str, models.CreditMemo]:
    return synced_memos(db, "xero")


def test_y1_connect_keeps_the_tenant_id_and_encrypted_tokens(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    i = integration(db, fake_xero.connect(db, actor))
    assert (i.status, i.realm_id, i.region, i.company_name) == (
        "connected", TENANT, "us", "Harbor Books")
    assert all(t not in (i.credentials_encrypted or "") for t in fake_xero.state.refresh)


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

