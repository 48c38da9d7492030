"""D4: ``write_back.failed`` when the accounting system refuses an application of synced
credit (Y12): the application with the system's words, the memo and the invoice."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import write_back
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import credit
from creditdesk.services.events import endpoints
from tests.services.test_write_back import Books
from tests.xero_fixtures import TENANT, FakeXero


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "1")
    sync_jobs.install_events()


def test_d4_a_refused_write_back_sends_write_back_failed(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    endpoints.create_endpoint(db, actor=actor, url="http://127.0.0.1:9/h",
                              events=["write_back.failed"])
    fake_xero.state.allocate(TENANT, b.note, "90.00")  # Xero will refuse the allocation
    credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                        amount="50.00")
    write_back.run_due(db, fake_xero.factory(), retry_base_seconds=0)
    with db.read() as s:
        [body] = [json.loads(x) for x in s.scalars(select(models.Event.body))]
    assert body["type"] == "write_back.failed"
    data = body["data"]
    assert data["application"]["status"] == "failed"
    assert "remaining credit" in data["application"]["write_back"]["error"].lower()
    assert data["credit_memo"]["id"] == b.memo_id
    assert data["invoice"]["id"] == b.invoices[0]


def bodies(db: Database) -> list[dict]:
    with db.read() as s:
        return [json.loads(x) for x in s.scalars(select(models.Event.body)
                                                 .order_by(models.Event.id))]


def test_d4_applying_synced_credit_sends_credit_memo_applied_with_its_write_back_pending(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    endpoints.create_endpoint(db, actor=actor, url="http://127.0.0.1:9/h",
                              events=["credit_memo.applied"])
    app = credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                              amount="50.00").application
    [body] = bodies(db)
    assert body["type"] == "credit_memo.applied"
    assert body["data"]["application"]["id"] == app.id
    assert body["data"]["application"]["status"] == "pending"
    assert body["data"]["application"]["write_back"]["system"] == "xero"
    assert body["data"]["credit_memo"]["id"] == b.memo_id
    assert body["data"]["invoice"]["id"] == b.invoices[0]


def test_d4_a_write_back_the_system_never_received_sends_write_back_failed(
        db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    endpoints.create_endpoint(db, actor=actor, url="http://127.0.0.1:9/h",
                              events=["write_back.failed"])
    app = credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                              amount="10.00").application
    with db.write() as s:  # sent an hour ago, its answer lost, and nothing of it in Xero
        s.execute(update(models.CreditApplication).where(
            models.CreditApplication.id == app.id).values(
            write_back_sent_at=clock.now() - timedelta(hours=1),
            write_back_next_at=clock.now() + timedelta(hours=1)))
    fake_xero.sync(db, b.integration)
    [body] = bodies(db)
    assert body["type"] == "write_back.failed"
    assert body["data"]["application"]["id"] == app.id
    assert body["data"]["application"]["status"] == "failed"
    assert "never received" in body["data"]["application"]["write_back"]["error"]
