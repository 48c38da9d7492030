"""D1, D2 through the API (API.md "Documents, exports, events"): GET /credit-memos/{id}/pdf,
POST /credit-memos/{id}/send and GET .../deliveries, GET/PUT /settings/email and
/settings/profile; customer_note on memos."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from creditdesk.services.documents import delivery_job
from tests.api.conftest import API, customer, memo, ok, problem


def _email(client, inbox, **over):
    body = {"host": inbox.host, "port": inbox.port, "security": "none",
            "username": None, "from_address": "billing@acme.test"} | over
    return client.put(f"{API}/settings/email", json=body)


def _billed(client, email="ap@globex.test"):
    return ok(client.post(f"{API}/customers", json={"name": "Globex", "email": email}), 201)["id"]


def test_d1_pdf_of_an_issued_memo(client):
    ok(client.put(f"{API}/settings/profile", json={
        "legal_name": "Acme LLC", "address": ["1 Main St", "Springfield"],
        "email": "hi@acme.test", "phone": "555-0100"}))
    m = memo(client, customer(client), "12.50", notes="secret internal",
             customer_note="Applied to your next invoice.")
    assert m["customer_note"] == "Applied to your next invoice."
    r = client.get(f"{API}/credit-memos/{m['id']}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert f'filename="{m["number"]}.pdf"' in r.headers["content-disposition"]
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert "Acme LLC" in text and "1 Main St" in text and "$12.50" in text
    assert "Applied to your next invoice." in text and "secret" not in text


def test_d1_pdf_of_a_draft_is_409_and_another_partners_404(client, other_client):
    draft = memo(client, customer(client), issue=False)
    body = problem(client.get(f"{API}/credit-memos/{draft['id']}/pdf"), 409, "invalid_state")
    assert "draft" in body["detail"]
    issued = memo(client, customer(client, "Other"))
    problem(other_client.get(f"{API}/credit-memos/{issued['id']}/pdf"), 404, "not_found")
    problem(client.get(f"{API}/credit-memos/cm_nope/pdf"), 404, "not_found")


def test_d1_customer_note_on_patch(client):
    m = memo(client, customer(client), issue=False)
    m = ok(client.patch(f"{API}/credit-memos/{m['id']}", json={"customer_note": "Hello"}))
    assert m["customer_note"] == "Hello" and m["notes"] is None
    problem(client.patch(f"{API}/credit-memos/{m['id']}", json={"customer_note": "x" * 2001}),
            422, "validation_error", "customer_note")


def test_d2_send_queues_then_the_job_sends(client, smtp_server):
    ok(_email(client, smtp_server))
    m = memo(client, _billed(client))
    d = ok(client.post(f"{API}/credit-memos/{m['id']}/send"), 202)
    assert d["status"] == "queued" and d["to"] == ["ap@globex.test"]
    assert d["message_id"].startswith("<dlv_")
    delivery_job.run_due(client.app.state.db, base_seconds=1)
    listed = ok(client.get(f"{API}/credit-memos/{m['id']}/deliveries"))["data"]
    assert [(x["id"], x["status"]) for x in listed] == [(d["id"], "sent")]
    assert len(smtp_server.messages) == 1


def test_d2_send_to_given_addresses(client, smtp_server):
    ok(_email(client, smtp_server))
    m = memo(client, _billed(client))
    d = ok(client.post(f"{API}/credit-memos/{m['id']}/send", json={"to": ["a@b.test"]}), 202)
    assert d["to"] == ["a@b.test"]


@pytest.mark.parametrize("to", [["nope"], ["a@b.test", "bad address@x.test"], [],
                                ["a@b.test"] * 21, "a@b.test"])
def test_d2_bad_recipients_are_422_naming_to(client, smtp_server, to):
    ok(_email(client, smtp_server))
    m = memo(client, _billed(client))
    problem(client.post(f"{API}/credit-memos/{m['id']}/send", json={"to": to}), 422,
            "validation_error", "to", ctx=to)
    assert ok(client.get(f"{API}/credit-memos/{m['id']}/deliveries"))["data"] == []


def test_d2_send_refusals(client, other_client, smtp_server):
    m = memo(client, _billed(client))
    problem(client.post(f"{API}/credit-memos/{m['id']}/send"), 409, "not_configured")
    ok(_email(client, smtp_server))
    draft = memo(client, _billed(client), issue=False)
    problem(client.post(f"{API}/credit-memos/{draft['id']}/send"), 409, "invalid_state")
    problem(other_client.post(f"{API}/credit-memos/{m['id']}/send"), 404, "not_found")
    problem(other_client.get(f"{API}/credit-memos/{m['id']}/deliveries"), 404, "not_found")
    nomail = memo(client, customer(client, "No Mail"))
    problem(client.post(f"{API}/credit-memos/{nomail['id']}/send"), 422, "validation_error",
            "to")


def test_d2_email_settings_password_is_write_only(client, smtp_server):
    assert ok(client.get(f"{API}/settings/email")) is None
    got = ok(_email(client, smtp_server, username="mailer", password="hunter2"))
    assert got["password_set"] is True and "password" not in got
    assert "hunter2" not in client.get(f"{API}/settings/email").text


@pytest.mark.parametrize("over,field", [
    ({"port": 0}, "port"), ({"port": 70000}, "port"), ({"port": "25"}, "port"),
    ({"security": "ssl"}, "security"), ({"from_address": "nobody"}, "from_address"),
    ({"host": "bad host!"}, "host"), ({"host": "10.0.0.1"}, "host"),
    ({"host": "127.0.0.1"}, "host")])
def test_d2_bad_email_settings_are_422_naming_the_field(client, monkeypatch, over, field):
    monkeypatch.delenv("CREDITDESK_ALLOW_PRIVATE_URLS", raising=False)
    body = {"host": "smtp.example.com", "port": 587, "security": "starttls",
            "username": "u", "from_address": "a@b.test"} | over
    problem(client.put(f"{API}/settings/email", json=body), 422, "validation_error", field,
            ctx=over)


def test_d1_profile_round_trip_and_bad_input(client):
    assert ok(client.get(f"{API}/settings/profile"))["has_logo"] is False
    got = ok(client.put(f"{API}/settings/profile", json={"legal_name": "A", "address": ["x"]}))
    assert got == {"legal_name": "A", "address": ["x"], "email": None, "phone": None,
                   "has_logo": False}
    problem(client.put(f"{API}/settings/profile", json={"email": "not-mail"}), 422,
            "validation_error", "email")
    problem(client.put(f"{API}/settings/profile", json={"address": ["l"] * 7}), 422,
            "validation_error", "address")


def test_d1_d2_only_administrators_change_the_document_settings(client):
    from fastapi.testclient import TestClient

    sam = ok(client.post(f"{API}/users", json={"email": "sam@acme.test", "role": "staff",
                                                "password": "a long staff password"}), 201)
    key = ok(client.post(f"{API}/users/{sam['id']}/api-keys"), 201)["api_key"]
    with TestClient(client.app, raise_server_exceptions=False) as staff:
        staff.headers["Authorization"] = f"Bearer {key}"
        problem(staff.put(f"{API}/settings/profile", json={"legal_name": "X"}), 403,
                "forbidden")
        problem(staff.put(f"{API}/settings/email", json={
            "host": "smtp.example.com", "port": 587, "security": "starttls",
            "from_address": "a@b.test"}), 403, "forbidden")
        assert ok(staff.get(f"{API}/settings/profile"))["legal_name"] is None
