"""The integrations API with Sage Intacct: connect with Web Services credentials, checked
against the fake gateway over real HTTP before anything is stored; sync; secrets never shown
(API.md; Y1-Y3, Y7, Y8)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import sync
from creditdesk.services.common import vault
from creditdesk_devtools.fakes import intacct_cli
from tests.api.conftest import API, ok, problem, snapshot
from tests.intacct_fixtures import COMPANY, USER, USER_PASSWORD, FakeIntacct

SECRET_FIELDS = ("sender_password", "user_password")


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")


def body(fake: FakeIntacct, **changes: str) -> dict[str, str]:
    return {"provider": "sage_intacct", **fake.credentials().to_dict(), **changes}


def factory(fake: FakeIntacct) -> sync.ConnectorFactory:
    """The jobs' own connector building (through the registry), on the fake's client."""
    return sync_jobs.connector_factory(fake.client, retry=fake.retry(), page_size=2)


def connect(client: TestClient, fake: FakeIntacct, **changes: str):
    client.app.state.integration_client = fake.client
    return client.post(f"{API}/integrations", json=body(fake, **changes))


def secrets_of(fake: FakeIntacct) -> list[str]:
    return [fake.state.sender_password, USER_PASSWORD]


def assert_no_secrets(text: str, fake: FakeIntacct) -> None:
    for secret in secrets_of(fake):
        assert secret not in text


def test_y1_connect_checks_the_credentials_then_is_connected_and_syncs(
        client: TestClient, db: Database, fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    a = st.add_adjustment(COMPANY, total="-250.00", due="-100.00", record_id="ADJ-0042",
                          customer_id="C-0058", customer_name="Harbor Supply Co")
    st.add_adjustment(COMPANY, total="-80.00", customer_id="C-0058",
                      customer_name="Harbor Supply Co")
    st.add_adjustment(COMPANY, total="40.00")  # a debit memo: not a credit
    created = connect(client, fake_intacct)
    got = ok(created, 201)
    assert (got["provider"], got["status"], got["realm_id"], got["company_name"]) == (
        "sage_intacct", "connected", COMPANY, COMPANY)
    assert "authorize_url" not in got and got["region"] is None
    assert st.requests[:2] == ["auth login", "getAPISession"]
    assert_no_secrets(created.text, fake_intacct)
    with db.read() as s:
        row = s.get_one(models.Integration, got["id"])
        assert row.cursor == {} and row.credentials_encrypted
        assert_no_secrets(row.credentials_encrypted, fake_intacct)
        assert vault.open_sealed(row.credentials_encrypted) == fake_intacct.credentials(
        ).to_dict()

    queued = client.post(f"{API}/integrations/{got['id']}/sync")
    assert queued.status_code == 202, queued.text
    sync_jobs.run_pending(db, factory(fake_intacct))
    runs = ok(client.get(f"{API}/integrations/{got['id']}/runs"))["data"]
    assert queued.json()["run_id"] in {r["id"] for r in runs}
    assert {r["status"] for r in runs} == {"succeeded"}
    assert sum(r["created"] for r in runs) == 2
    listed = ok(client.get(f"{API}/credit-memos", params={"source": "sage_intacct"}))["data"]
    memo = next(m for m in listed if m["external_id"] == a)
    assert (memo["number"], memo["total"], memo["remaining_amount"], memo["status"],
            memo["read_only"]) == ("ADJ-0042", "250.00", "100.00", "partially_applied", True)
    summary = ok(client.get(f"{API}/customers/{memo['customer_id']}/credit-summary"))
    assert summary["balances"] == [{"currency": "USD", "available_credit": "180.00"}]
    assert {(m["number"], m["source"]) for m in summary["memos"]} >= {
        ("ADJ-0042", "sage_intacct")}
    refused = client.post(f"{API}/credit-memos/{memo['id']}/void", json={"reason": "x"})
    assert problem(refused, 409, "read_only")["detail"].count("Sage Intacct")
    patched = client.patch(f"{API}/credit-memos/{memo['id']}", json={"notes": "x"})
    assert patched.status_code == 409

    fetched = [client.get(f"{API}/integrations/{got['id']}"), client.get(f"{API}/integrations"),
               client.get(f"{API}/integrations/{got['id']}/runs"),
               client.get(f"{API}/audit-events")]
    for answer in fetched:
        assert answer.status_code == 200
        assert_no_secrets(answer.text, fake_intacct)
    events = ok(client.get(f"{API}/audit-events", params={"entity_type": "integration",
                                                          "entity_id": got["id"]}))["data"]
    connected = [e for e in events if e["action"] == "integration.connect"]
    assert connected and connected[0]["data"] == {"provider": "sage_intacct",
                                                  "realm_id": COMPANY}
    assert not any(k in json.dumps(events) for k in SECRET_FIELDS)


@pytest.mark.parametrize("wrong", [{"user_password": "not-the-password"},
                                   {"sender_password": "not-the-sender-password"},
                                   {"company_id": "NO-SUCH-CO"}])
def test_y1_refused_credentials_are_a_clear_422_and_nothing_is_stored(
        client: TestClient, db: Database, fake_intacct: FakeIntacct,
        wrong: dict[str, str]) -> None:
    before = snapshot(db)
    answer = connect(client, fake_intacct, **wrong)
    got = problem(answer, 422, "validation_error")
    assert "Sage Intacct refused" in got["detail"]
    for secret in [*secrets_of(fake_intacct), *wrong.values()]:
        if secret != wrong.get("company_id"):
            assert secret not in answer.text
    assert snapshot(db) == before
    assert ok(client.get(f"{API}/integrations"))["data"] == []


def test_y6_gateway_down_is_a_503_that_stores_nothing_and_may_be_retried(
        client: TestClient, db: Database, fake_intacct: FakeIntacct) -> None:
    before = snapshot(db)
    fake_intacct.state.inject("503", "503")
    client.headers["Idempotency-Key"] = "connect-intacct-1"
    down = connect(client, fake_intacct)
    got = problem(down, 503, "unavailable")
    assert "Sage Intacct could not be reached, try again" in got["detail"]
    assert_no_secrets(down.text, fake_intacct)
    assert snapshot(db) == before
    retried = connect(client, fake_intacct)  # the same key: a 503 is not replayed
    assert ok(retried, 201)["status"] == "connected"


def test_y6_unreachable_endpoint_is_a_503(client: TestClient, db: Database,
                                          fake_intacct: FakeIntacct,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CREDITDESK_INTACCT_ENDPOINT", f"http://127.0.0.1:{port}/ia/xml")
    before = snapshot(db)
    problem(connect(client, fake_intacct), 503, "unavailable")
    assert snapshot(db) == before


def test_y1_missing_blank_and_foreign_fields_are_named_before_any_call(
        client: TestClient, db: Database, fake_intacct: FakeIntacct) -> None:
    client.app.state.integration_client = fake_intacct.client
    r = client.post(f"{API}/integrations", json={"provider": "sage_intacct",
                                                 "sender_id": "fake-sender", "user_id": "  "})
    got = problem(r, 422, "validation_error")
    assert {e["field"] for e in got["errors"]} == {"sender_password", "company_id", "user_id",
                                                   "user_password"}
    r = client.post(f"{API}/integrations", json={**body(fake_intacct), "region": "us"})
    problem(r, 422, "validation_error", "region")
    r = client.post(f"{API}/integrations", json={**body(fake_intacct), "sender_password": 7})
    problem(r, 422, "validation_error", "sender_password")
    r = client.post(f"{API}/integrations", json={**body(fake_intacct), "company_id": "x" * 300})
    problem(r, 422, "validation_error", "company_id")
    r = client.post(f"{API}/integrations", json={"provider": "xero", "sender_id": "s",
                                                 "user_password": "hunter2"})
    got = problem(r, 422, "validation_error", "sender_id")
    assert "hunter2" not in r.text and "user_password" in {e["field"] for e in got["errors"]}
    assert fake_intacct.state.requests == []
    assert ok(client.get(f"{API}/integrations"))["data"] == []


def test_y1_a_refused_login_during_sync_needs_reconnection(
        client: TestClient, db: Database, fake_intacct: FakeIntacct) -> None:
    fake_intacct.state.add_adjustment(COMPANY, total="-10.00")
    iid = ok(connect(client, fake_intacct), 201)["id"]
    sync_jobs.run_pending(db, factory(fake_intacct))
    fake_intacct.state.companies[COMPANY].users[USER] = "changed-by-the-admin"
    fake_intacct.state.expire_sessions()
    ok(client.post(f"{API}/integrations/{iid}/sync"), 202)
    sync_jobs.run_pending(db, factory(fake_intacct))
    got = ok(client.get(f"{API}/integrations/{iid}"))
    assert got["status"] == "needs_reconnection" and "refused" in got["last_error"]
    assert_no_secrets(json.dumps(got), fake_intacct)
    problem(client.post(f"{API}/integrations/{iid}/sync"), 409, "invalid_state")
    listed = ok(client.get(f"{API}/credit-memos", params={"source": "sage_intacct"}))["data"]
    assert len(listed) == 1  # what was synced stays


def test_openapi_marks_the_intacct_passwords_write_only(client: TestClient) -> None:
    schema = ok(client.get("/openapi.json"))["components"]["schemas"]["IntegrationIn"]
    intacct = next(s for s in schema["oneOf"]  # E7: one shape per provider
                   if s["properties"]["provider"]["const"] == "sage_intacct")
    for name in SECRET_FIELDS:
        assert {"format": "password", "writeOnly": True}.items() \
            <= intacct["properties"][name].items()
        assert name in intacct["required"]


def test_stored_intacct_rows_are_never_named_by_the_oauth_callback(
        client: TestClient, db: Database, fake_intacct: FakeIntacct) -> None:
    ok(connect(client, fake_intacct), 201)
    with db.read() as s:
        assert s.scalars(select(models.Integration.oauth_state_hash)).all() == [None]


def test_the_cli_fake_serves_a_company_the_readme_connects_to(
        client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from creditdesk.cli import app; app()", "fake", "sage-intacct",
         "--port", str(port), "--memos", "3"], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the fake did not start"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}/ia/xml/xmlgw.phtml"
        monkeypatch.setenv("CREDITDESK_INTACCT_ENDPOINT", endpoint)
        got = ok(client.post(f"{API}/integrations", json={
            "provider": "sage_intacct", "sender_id": "fake-sender",
            "sender_password": "fake-sender-pw", "company_id": intacct_cli.COMPANY,
            "user_id": intacct_cli.USER, "user_password": intacct_cli.PASSWORD}), 201)
        assert got["status"] == "connected"
        with httpx.Client(timeout=5) as http_client:
            sync_jobs.run_pending(db, sync_jobs.connector_factory(http_client))
        listed = ok(client.get(f"{API}/credit-memos", params={"source": "sage_intacct"}))
        assert len(listed["data"]) == 3
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert f"CREDITDESK_INTACCT_ENDPOINT={endpoint}" in err


def test_y5_a_second_intacct_company_is_refused_and_nothing_is_stored(
        client: TestClient, db: Database, fake_intacct: FakeIntacct) -> None:
    fake_intacct.state.add_company("OTHER-CO", USER, USER_PASSWORD)
    assert ok(connect(client, fake_intacct), 201)["status"] == "connected"
    before = snapshot(db)
    got = problem(connect(client, fake_intacct, company_id="OTHER-CO"), 422, "validation_error")
    assert "one Sage Intacct company per account" in got["detail"]
    assert snapshot(db) == before
    again = connect(client, fake_intacct)  # the same company: allowed
    assert again.status_code == 201 and again.json()["realm_id"] == COMPANY


def test_y11_the_account_credit_applications_post_to_is_taken_at_connect(
        client: TestClient, db: Database, fake_intacct: FakeIntacct) -> None:
    """Y11: an ARPYMT posts to a bank account or an undeposited funds account; either may be
    given when connecting (optional), and is stored with the sealed credentials."""
    problem(connect(client, fake_intacct, financial_entity="X" * 257), 422, "validation_error",
            "financial_entity")
    r = connect(client, fake_intacct, financial_entity=" BOA-OPERATING ")
    assert r.status_code == 201, r.text
    assert "financial_entity" not in r.text  # credentials are never echoed
    with db.read() as s:
        row = s.get_one(models.Integration, r.json()["id"])
        stored = vault.open_sealed(row.credentials_encrypted)
    assert stored["financial_entity"] == "BOA-OPERATING"
    assert "undeposited_account" not in stored
