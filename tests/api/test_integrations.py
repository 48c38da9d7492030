"""The integrations API and the QuickBooks webhook, with the fake QuickBooks Online behind
them over real HTTP (API.md; Y1-Y3, Y7, Y8)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services import integrations
from tests.qbo_fixtures import REALM, FakeQbo


def connect(client: TestClient, fake: FakeQbo, realm: str = REALM, region: str = "us"):
    client.app.state.integration_client = fake.client
    created = client.post("/api/v1/integrations",
                          json={"provider": "quickbooks_online", "region": region})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending_authorization" and body["authorize_url"].startswith(
        fake.base_url)
    params = fake.authorize(body["authorize_url"], realm)
    answer = client.get("/api/v1/integrations/oauth/callback", params=params)
    return body["id"], answer


def test_connect_sync_now_and_runs(client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="25.00", remaining="10.00")
    iid, answer = connect(client, fake_qbo)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "connected"
    assert answer.json()["company_name"] == "Harbor Books"
    queued = client.post(f"/api/v1/integrations/{iid}/sync")
    assert queued.status_code == 202 and queued.json()["run_id"].startswith("run_")
    sync_jobs.run_pending(db, fake_qbo.factory())
    runs = client.get(f"/api/v1/integrations/{iid}/runs").json()["data"]
    assert {r["id"] for r in runs} >= {queued.json()["run_id"]}
    assert all(r["status"] == "succeeded" for r in runs)
    assert set(runs[0]) >= {"id", "status", "started_at", "finished_at", "fetched", "created",
                            "updated", "voided", "errors"}
    listed = client.get("/api/v1/credit-memos", params={"source": "quickbooks_online"})
    memo = listed.json()["data"][0]
    assert (memo["status"], memo["remaining_amount"], memo["read_only"]) == (
        "partially_applied", "10.00", True)
    refused = client.post(f"/api/v1/credit-memos/{memo['id']}/void", json={"reason": "x"})
    assert refused.status_code == 409 and refused.json()["code"] == "read_only"
    assert "QuickBooks Online" in refused.json()["detail"]
    got = client.get(f"/api/v1/integrations/{iid}").json()
    assert got["last_synced_at"] and got["last_error"] is None


def test_y1_company_outside_us_and_canada_is_refused_clearly(
        client: TestClient, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_company("777", "London Books", "GB")
    iid, answer = connect(client, fake_qbo, realm="777")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "United States and Canada" in answer.json()["detail"]
    got = client.get(f"/api/v1/integrations/{iid}").json()
    assert got["status"] == "disconnected" and "GB" in got["last_error"]


def test_canadian_company_connects(client: TestClient, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_company("888", "Maple Books", "CA")
    _, answer = connect(client, fake_qbo, realm="888", region="ca")
    assert answer.json()["status"] == "connected" and answer.json()["region"] == "ca"


def test_bad_input_gets_clear_problems(client: TestClient, fake_qbo: FakeQbo) -> None:
    r = client.post("/api/v1/integrations", json={"provider": "freshbooks"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = client.post("/api/v1/integrations", json={"provider": "quickbooks_online"})
    assert r.status_code == 422 and "region" in r.json()["detail"]
    r = client.post("/api/v1/integrations", json={"provider": "quickbooks_desktop",
                                                  "region": "ca"})
    assert r.status_code == 422 and "QuickBooks Desktop" in r.json()["detail"]
    r = client.get("/api/v1/integrations/oauth/callback", params={"state": "nope", "code": "x",
                                                                  "realmId": "1"})
    assert r.status_code == 404
    assert client.get("/api/v1/integrations/oauth/callback").status_code == 422
    assert client.post("/api/v1/integrations/int_missing/sync").status_code == 404


def test_disconnect_keeps_synced_memos_read_only(client: TestClient, db: Database,
                                                 fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="25.00")
    iid, _ = connect(client, fake_qbo)
    sync_jobs.run_pending(db, fake_qbo.factory())
    assert client.delete(f"/api/v1/integrations/{iid}").status_code == 204
    assert client.get(f"/api/v1/integrations/{iid}").json()["status"] == "disconnected"
    memos = client.get("/api/v1/credit-memos", params={"source": "quickbooks_online"}).json()
    assert len(memos["data"]) == 1 and memos["data"][0]["read_only"] is True
    assert client.post(f"/api/v1/integrations/{iid}/sync").status_code == 409
    with db.read() as s:
        row = s.get_one(models.Integration, iid)
        assert row.credentials_encrypted is None


def test_other_partners_integration_is_not_found(client: TestClient, db: Database,
                                                 fake_qbo: FakeQbo, other_actor) -> None:
    iid, _ = connect(client, fake_qbo)
    with pytest.raises(errors.NotFound):
        integrations.get_integration(db, actor=other_actor, integration_id=iid)


def _runs(db: Database) -> list[models.SyncRun]:
    with db.read() as s:
        return list(s.scalars(select(models.SyncRun)).all())


def test_y7_webhook_with_bad_or_missing_signature_is_401_and_changes_nothing(
        client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    connect(client, fake_qbo)
    body, headers = fake_qbo.state.webhook(REALM, ["101"])
    assert client.post("/webhooks/quickbooks", content=body,
                       headers={"content-type": "application/json"}).status_code == 401
    forged = {**headers, "intuit-signature": fake_qbo.state.sign(b"other")}
    r = client.post("/webhooks/quickbooks", content=body, headers=forged)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert _runs(db) == []


def test_y2_signed_webhooks_classic_and_cloudevents_queue_a_sync(
        client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    memo = fake_qbo.state.add_memo(REALM, total="5.00")
    connect(client, fake_qbo)
    for cloudevents in (False, True):
        body, headers = fake_qbo.state.webhook(REALM, [memo], cloudevents=cloudevents)
        assert client.post("/webhooks/quickbooks", content=body,
                           headers=headers).status_code == 200
    queued = [r for r in _runs(db) if r.trigger == "webhook"]
    assert len(queued) == 1  # one queued run per connection, however many notifications
    sync_jobs.run_pending(db, fake_qbo.factory())
    assert {r.status for r in _runs(db)} == {"succeeded"}
    other, headers = fake_qbo.state.webhook("nobody", ["1"])
    assert client.post("/webhooks/quickbooks", content=other, headers=headers).status_code == 200
