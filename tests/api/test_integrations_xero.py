"""The integrations API and the Xero webhook, with the fake Xero behind them over real HTTP
(API.md; Y1-Y3, Y7, Y8)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from tests.xero_fixtures import TENANT, FakeXero


def connect(client: TestClient, fake: FakeXero, tenant: str = TENANT):
    client.app.state.integration_client = fake.patient
    created = client.post("/api/v1/integrations", json={"provider": "xero"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending_authorization"
    assert body["authorize_url"].startswith(f"{fake.base_url}/identity/connect/authorize?")
    assert "offline_access" in body["authorize_url"]
    params = fake.authorize(body["authorize_url"], tenant)
    assert "realmId" not in params
    answer = client.get("/api/v1/integrations/oauth/callback", params=params)
    return body["id"], answer


def _runs(db: Database) -> list[models.SyncRun]:
    with db.read() as s:
        return list(s.scalars(select(models.SyncRun)).all())


def test_y1_connect_sync_now_and_runs(client: TestClient, db: Database,
                                      fake_xero: FakeXero) -> None:
    note = fake_xero.state.add_credit_note(TENANT, total="25.00")
    fake_xero.state.allocate(TENANT, note, "15.00")
    iid, answer = connect(client, fake_xero)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert (got["status"], got["provider"], got["realm_id"], got["company_name"]) == (
        "connected", "xero", TENANT, "Harbor Books")
    queued = client.post(f"/api/v1/integrations/{iid}/sync")
    assert queued.status_code == 202
    sync_jobs.run_pending(db, fake_xero.factory())
    runs = client.get(f"/api/v1/integrations/{iid}/runs").json()["data"]
    assert queued.json()["run_id"] in {r["id"] for r in runs}
    assert all(r["status"] == "succeeded" for r in runs)
    listed = client.get("/api/v1/credit-memos", params={"source": "xero"}).json()["data"]
    assert [(m["status"], m["remaining_amount"], m["read_only"], m["external_id"])
            for m in listed] == [("partially_applied", "10.00", True, note)]
    refused = client.post(f"/api/v1/credit-memos/{listed[0]['id']}/void", json={"reason": "x"})
    assert refused.status_code == 409 and "Xero" in refused.json()["detail"]


def test_y1_organisation_outside_the_us_is_refused_clearly(
        client: TestClient, fake_xero: FakeXero) -> None:
    fake_xero.state.add_org("uk-tenant", "London Books", "GB")
    iid, answer = connect(client, fake_xero, tenant="uk-tenant")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "United States only" in answer.json()["detail"]
    got = client.get(f"/api/v1/integrations/{iid}").json()
    assert got["status"] == "disconnected" and "GB" in got["last_error"]
    again = client.get("/api/v1/integrations/oauth/callback",
                       params={"state": "used", "code": "x"})
    assert again.status_code == 404


def test_y1_xero_bad_input_gets_clear_problems(client: TestClient, fake_xero: FakeXero) -> None:
    r = client.post("/api/v1/integrations", json={"provider": "xero", "region": "ca"})
    assert r.status_code == 422 and "United States only" in r.json()["detail"]
    r = client.post("/api/v1/integrations", json={"provider": "xero", "region": "us"})
    assert r.status_code == 201 and r.json()["region"] == "us"
    r = client.get("/api/v1/integrations/oauth/callback", params={"state": "x"})
    assert r.status_code == 422


def test_y1_a_failed_code_exchange_is_a_clear_refusal_not_a_500(
        client: TestClient, fake_xero: FakeXero) -> None:
    client.app.state.integration_client = fake_xero.patient
    created = client.post("/api/v1/integrations", json={"provider": "xero"}).json()
    params = fake_xero.authorize(created["authorize_url"])
    answer = client.get("/api/v1/integrations/oauth/callback",
                        params={**params, "code": "forged"})
    assert answer.status_code == 422 and "Xero" in answer.json()["detail"]


def test_y7_webhook_bad_or_missing_signature_is_401_with_no_body_and_changes_nothing(
        client: TestClient, db: Database, fake_xero: FakeXero) -> None:
    note = fake_xero.state.add_credit_note(TENANT, total="5.00")
    connect(client, fake_xero)
    body, headers = fake_xero.state.webhook(TENANT, [note])
    missing = client.post("/webhooks/xero", content=body,
                          headers={"content-type": "application/json"})
    forged = client.post("/webhooks/xero", content=body,
                         headers={**headers, "x-xero-signature": fake_xero.state.sign(b"x")})
    for answer in (missing, forged):
        assert answer.status_code == 401 and answer.content == b""
        assert "set-cookie" not in answer.headers
    assert _runs(db) == []


def test_y7_intent_to_receive_handshake(client: TestClient, db: Database,
                                        fake_xero: FakeXero) -> None:
    for body, headers, expected in fake_xero.state.intent_to_receive():
        answer = client.post("/webhooks/xero", content=body, headers=headers)
        assert (answer.status_code, answer.content) == (expected, b"")
        assert "set-cookie" not in answer.headers
    assert _runs(db) == []


def test_y2_signed_creditnote_events_queue_a_sync_of_the_tenants_connection(
        client: TestClient, db: Database, fake_xero: FakeXero) -> None:
    note = fake_xero.state.add_credit_note(TENANT, total="5.00")
    iid, _ = connect(client, fake_xero)
    for event_type in ("CREATE", "UPDATE"):
        body, headers = fake_xero.state.webhook(TENANT, [note], event_type)
        answer = client.post("/webhooks/xero", content=body, headers=headers)
        assert (answer.status_code, answer.content) == (200, b"")
    queued = [r for r in _runs(db) if r.trigger == "webhook"]
    assert [r.integration_id for r in queued] == [iid]  # one queued run per connection
    sync_jobs.run_pending(db, fake_xero.factory())
    assert {r.status for r in _runs(db)} == {"succeeded"}
    listed = client.get("/api/v1/credit-memos", params={"source": "xero"}).json()["data"]
    assert [m["external_id"] for m in listed] == [note]


def test_y2_other_tenants_and_supplier_credits_queue_nothing(
        client: TestClient, db: Database, fake_xero: FakeXero) -> None:
    connect(client, fake_xero)
    for body, headers in (fake_xero.state.webhook("unknown-tenant", ["n1"]),
                          fake_xero.state.webhook(TENANT, ["n2"], kind="ACCPAYCREDIT")):
        assert client.post("/webhooks/xero", content=body, headers=headers).status_code == 200
    bad_json = b"not json"
    answer = client.post("/webhooks/xero", content=bad_json,
                         headers={"x-xero-signature": fake_xero.state.sign(bad_json)})
    assert (answer.status_code, answer.content) == (400, b"")
    assert _runs(db) == []


def test_y2_creditnote_events_queue_a_targeted_run_of_those_notes(
        client: TestClient, db: Database, fake_xero: FakeXero) -> None:
    st = fake_xero.state
    named, other = (st.add_credit_note(TENANT, total="30.00") for _ in range(2))
    iid, _ = connect(client, fake_xero)
    sync_jobs.run_pending(db, fake_xero.factory())  # the first sync
    st.allocate(TENANT, named, "30.00")
    st.allocate(TENANT, other, "5.00")
    st.requests.clear()
    body, headers = st.webhook(TENANT, [named])
    assert client.post("/webhooks/xero", content=body, headers=headers).status_code == 200
    assert st.requests == []  # answered at once; Xero is read by the job
    (queued,) = [r for r in _runs(db) if r.status == "queued"]
    assert (queued.integration_id, queued.targets) == (iid, {named: "changed"})
    sync_jobs.run_pending(db, fake_xero.factory())
    assert [r.split("?")[0] for r in st.requests if "/CreditNotes" in r] == [
        f"GET /api.xro/2.0/CreditNotes/{named}"]
    by_id = {m["external_id"]: m for m in client.get(
        "/api/v1/credit-memos", params={"source": "xero"}).json()["data"]}
    assert (by_id[named]["status"], by_id[other]["status"]) == ("applied", "issued")
    assert by_id[named]["lines"][0]["description"] == "Credit"


def test_y9_invoice_events_queue_a_targeted_run_of_those_invoices(
        client: TestClient, db: Database, fake_xero: FakeXero) -> None:
    """Y9: Xero's INVOICE events (no data: the id only) name invoices; the job reads them."""
    st = fake_xero.state
    invoice = st.add_invoice(TENANT, subtotal="90.00")
    connect(client, fake_xero)
    sync_jobs.run_pending(db, fake_xero.factory())
    st.pay_invoice(TENANT, invoice, "90.00")
    body, headers = st.invoice_webhook(TENANT, [invoice])
    assert client.post("/webhooks/xero", content=body, headers=headers).status_code == 200
    with db.read() as s:
        (queued,) = s.scalars(select(models.SyncRun).where(
            models.SyncRun.status == "queued")).all()
        assert queued.targets == {f"invoice:{invoice}": "changed"}
    sync_jobs.run_pending(db, fake_xero.factory())
    listed = client.get("/api/v1/invoices", params={"source": "xero"}).json()["data"]
    assert [(i["external_id"], i["balance_due"], i["status"]) for i in listed] == [
        (invoice, "0.00", "paid")]
