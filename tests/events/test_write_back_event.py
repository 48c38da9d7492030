"""D4: ``write_back.failed`` when the accounting system refuses an application of synced
credit (Y12): the application with the system's words, the memo and the invoice."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import write_back
from creditdesk.services.common.context import Actor
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
