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
from creditdesk.services.books import integrations
from tests.qbo_fixtures import REALM, FakeQbo


def connect(client: TestClient, fake: FakeQbo, realm: str = REALM, region: str = "us"):
    client.app.state.integration_client = fake.patient
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


def test_y2_webhooks_queue_a_targeted_run_that_reads_only_the_named_credit_memos(
        client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    a, b, c, untouched = (st.add_memo(REALM, total="40.00") for _ in range(4))
    iid, _ = connect(client, fake_qbo)
    sync_jobs.run_pending(db, fake_qbo.factory())  # the first sync; the next is 15 min away
    st.apply_credit(REALM, a, "15.00")
    st.delete_memo(REALM, b)
    st.apply_credit(REALM, c, "0")
    st.apply_credit(REALM, untouched, "1.00")
    st.requests.clear()
    classic, headers = st.webhook(REALM, [a], others=[("Payment", "77"), ("Customer", "5")])
    assert client.post("/webhooks/quickbooks", content=classic, headers=headers).status_code == 200
    deleted, headers = st.webhook(REALM, [b], "Delete")
    assert client.post("/webhooks/quickbooks", content=deleted, headers=headers).status_code == 200
    cloud, headers = st.webhook(REALM, [c], cloudevents=True, others=[("Payment", "78")])
    assert client.post("/webhooks/quickbooks", content=cloud, headers=headers).status_code == 200
    assert st.requests == []  # the answer only records: QuickBooks is read by the job
    (queued,) = [r for r in _runs(db) if r.status == "queued"]
    assert (queued.trigger, queued.targets) == ("webhook", {a: "changed", b: "deleted",
                                                            c: "changed"})
    sync_jobs.run_pending(db, fake_qbo.factory())
    # the named memos by id, and (their credit is used) their customer's Payments (Y14)
    assert sorted(q.split("?")[0].rsplit("/", 1)[1] for q in st.requests) == sorted(
        [a, c, "query"])
    runs = client.get(f"/api/v1/integrations/{iid}/runs").json()["data"]
    assert (runs[0]["id"], runs[0]["status"], runs[0]["trigger"]) == (
        queued.id, "succeeded", "webhook")
    assert (runs[0]["fetched"], runs[0]["updated"], runs[0]["voided"]) == (3, 2, 1)
    by_id = {m["external_id"]: m for m in client.get(
        "/api/v1/credit-memos", params={"source": "quickbooks_online"}).json()["data"]}
    assert (by_id[a]["status"], by_id[a]["remaining_amount"]) == ("partially_applied", "15.00")
    assert (by_id[b]["status"], by_id[c]["status"]) == ("void", "applied")
    assert by_id[untouched]["status"] == "issued"  # not named: the next incremental sync


def test_y3_synced_lines_in_the_api_memo_view_read_only(
        client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="130.00", lines=[
        ("Consulting", "1.5", "80.00", "120.00"), ("Rounding", "3", "3.33333", "10.00")])
    connect(client, fake_qbo)
    sync_jobs.run_pending(db, fake_qbo.factory())
    (memo,) = client.get("/api/v1/credit-memos",
                         params={"source": "quickbooks_online"}).json()["data"]
    got = client.get(f"/api/v1/credit-memos/{memo['id']}")
    assert got.status_code == 200, got.text
    assert [{k: li[k] for k in ("description", "quantity", "unit_price", "amount",
                                "variant_id")} for li in got.json()["lines"]] == [
        {"description": "Consulting", "quantity": "1.5", "unit_price": "80.00",
         "amount": "120.00", "variant_id": None},
        {"description": "Rounding", "quantity": 3, "unit_price": None, "amount": "10.00",
         "variant_id": None}]
    assert memo["lines"] == got.json()["lines"]  # the list shows them too
    refused = client.patch(f"/api/v1/credit-memos/{memo['id']}",
                           json={"lines": [{"description": "x", "quantity": 1,
                                            "unit_price": "1.00"}]})
    assert refused.status_code == 409 and refused.json()["code"] == "read_only"


def test_y5_a_second_company_of_the_same_system_is_refused_its_ids_would_collide(
        client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    """Both companies number their memos from the same counter start ("101"): synced side by
    side, one would overwrite the other's memos. Reconnecting the same company is fine."""
    fake_qbo.state.add_company("4620816365", "Other Books", "US")
    ours = fake_qbo.state.add_memo(REALM, total="25.00")
    theirs = fake_qbo.state.add_memo("4620816365", total="99.00")
    assert ours == theirs  # the collision itself
    _, answer = connect(client, fake_qbo)
    assert answer.status_code == 200
    sync_jobs.run_pending(db, fake_qbo.factory())
    second, answer = connect(client, fake_qbo, realm="4620816365")
    assert answer.status_code == 422 and answer.json()["code"] == "validation_error"
    detail = answer.json()["detail"]
    assert "“Other Books” can't be connected" in detail and "“Harbor Books”" in detail
    assert client.get(f"/api/v1/integrations/{second}").json()["status"] == "disconnected"
    memo = client.get("/api/v1/credit-memos", params={"source": "quickbooks_online"}).json()
    assert [m["total"] for m in memo["data"]] == ["25.00"]
    _, again = connect(client, fake_qbo)  # the same company again: a reconnection
    assert again.status_code == 200 and again.json()["status"] == "connected"


def test_y5_another_company_may_follow_a_disconnected_one_that_left_no_memos(
        client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_company("4620816365", "Other Books", "US")
    first, _ = connect(client, fake_qbo)
    assert client.delete(f"/api/v1/integrations/{first}").status_code == 204
    _, answer = connect(client, fake_qbo, realm="4620816365")
    assert answer.status_code == 200 and answer.json()["company_name"] == "Other Books"


def test_a_missing_oauth_app_is_a_409_not_configured_and_stores_nothing(
        client: TestClient, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_QBO_CLIENT_ID", "")
    r = client.post("/api/v1/integrations", json={"provider": "quickbooks_online",
                                                  "region": "us"})
    assert r.status_code == 409 and r.json()["code"] == "not_configured"
    assert "CREDITDESK_QBO_CLIENT_ID not set" in r.json()["detail"]
    assert client.get("/api/v1/integrations").json()["data"] == []


def test_a_declined_consent_is_a_problem_and_the_connection_stays_pending(
        client: TestClient, fake_qbo: FakeQbo) -> None:
    created = client.post("/api/v1/integrations", json={"provider": "quickbooks_online",
                                                        "region": "us"}).json()
    fake_qbo.state.consent_error = "access_denied"
    params = fake_qbo.authorize(created["authorize_url"])
    r = client.get("/api/v1/integrations/oauth/callback", params=params)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert "Access was not allowed in QuickBooks Online" in r.json()["detail"]
    got = client.get(f"/api/v1/integrations/{created['id']}").json()
    assert got["status"] == "pending_authorization" and "declined" in got["last_error"]
    again = client.post("/api/v1/integrations", json={"provider": "quickbooks_online",
                                                      "region": "us"}).json()
    assert again["id"] == created["id"]  # continued, not a second pending connection


def test_y9_invoice_webhooks_queue_a_targeted_run_that_reads_the_named_invoices(
        client: TestClient, db: Database, fake_qbo: FakeQbo) -> None:
    """Y9: QuickBooks Online's Invoice events name invoices; the job reads exactly them (by
    ``/invoice/{id}``) and the invoice here follows the balance QuickBooks reports."""
    st = fake_qbo.state
    invoice = st.add_invoice(REALM, total="100.00")
    iid, _ = connect(client, fake_qbo)
    sync_jobs.run_pending(db, fake_qbo.factory())
    st.update_invoice(REALM, invoice, Balance="40.00")
    st.requests.clear()
    body, headers = st.webhook(REALM, [invoice], entity="Invoice")
    assert client.post("/webhooks/quickbooks", content=body, headers=headers).status_code == 200
    (queued,) = [r for r in _runs(db) if r.status == "queued"]
    assert queued.targets == {f"invoice:{invoice}": "changed"}
    sync_jobs.run_pending(db, fake_qbo.factory())
    assert [q.split("?")[0].rsplit("/", 2)[1:] for q in st.requests] == [["invoice", invoice]]
    listed = client.get("/api/v1/invoices", params={"source": "quickbooks_online"}).json()
    assert [(i["external_id"], i["balance_due"], i["status"]) for i in listed["data"]] == [
        (invoice, "40.00", "partially_paid")]
    runs = client.get(f"/api/v1/integrations/{iid}/runs").json()["data"]
    assert runs[0]["invoices"] == {"created": 0, "updated": 1, "voided": 0}
