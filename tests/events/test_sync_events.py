"""D4: the books' events: ``invoice.synced`` for each invoice a sync creates, changes or
voids (the invoice as ``GET /invoices/{id}`` answers it), ``sync_run.finished`` with the
run as ``GET /integrations/{id}/runs`` answers it; nothing for an invoice read unchanged."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.common.context import Actor
from creditdesk.services.events import endpoints
from tests.services.test_sync_invoices import Books, connect, sync_run


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")
    monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "1")
    sync_jobs.install_events()


def bodies(db: Database) -> list[dict]:
    with db.read() as s:
        return [json.loads(b) for b in s.scalars(select(models.Event.body).order_by(
            models.Event.id))]


def test_d4_a_sync_sends_invoice_synced_and_sync_run_finished(
        db: Database, actor: Actor, client: TestClient) -> None:
    endpoints.create_endpoint(db, actor=actor, url="http://127.0.0.1:9/h",
                              events=["invoice.synced", "sync_run.finished"])
    books = Books()
    books.invoice("130", "130.00")
    books.invoice("131", "50.00", "20.00")
    iid = connect(db, actor)
    sync_run(db, iid, books)
    first = bodies(db)
    assert [b["type"] for b in first] == ["invoice.synced"] * 2 + ["sync_run.finished"]
    for b in first[:2]:
        inv = b["data"]["invoice"]
        assert inv == client.get(f"/api/v1/invoices/{inv['id']}").json()
    [run] = client.get(f"/api/v1/integrations/{iid}/runs").json()["data"]
    assert first[2]["data"]["sync_run"] == run
    books.change("131", balance_minor=0)
    sync_run(db, iid, books)  # 131 changed, 130 read again unchanged (when re-read at all)
    second = bodies(db)[3:]
    assert [b["type"] for b in second] == ["invoice.synced", "sync_run.finished"]
    assert second[0]["data"]["invoice"]["status"] == "paid"
