"""E3 for the webhooks: a body signed with the right key that is not the system's
notification (odd JSON, 100,000-deep nesting, numbers for strings, huge numbers, another
content type, too large) gets a clear 4xx and queues nothing; QuickBooks answers with a
problem document, Xero with no body and no cookie (its rule for every answer)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from tests.api.test_integrations import connect as connect_qbo
from tests.api.test_integrations_xero import connect as connect_xero
from tests.qbo_fixtures import REALM, FakeQbo
from tests.xero_fixtures import TENANT, FakeXero

DEEP = b"[" * 100_000 + b"]" * 100_000
NOT_NOTIFICATIONS = [
    b"true", b"null", b"5", b'"eventNotifications"', b"{}", b'{"eventNotifications": 5}',
    b'{"eventNotifications": [5]}', b'{"eventNotifications": [{"dataChangeEvent": 5}]}',
    b'{"eventNotifications": [{"dataChangeEvent": {"entities": "CreditMemo"}}]}',
    b'{"eventNotifications": [{"dataChangeEvent": {"entities": [null]}}]}',
    b'{"events": 5}', b'{"events": [5]}', b'[1]', b'[{"type": 5}]', b"[null]",
    DEEP, b'{"eventNotifications": [{"realmId": ' + DEEP + b"}]}",
    b'{"events": [], "x": ' + b"9" * 5000 + b"}", b"\xff\xfe not utf-8", b"not json", b"",
]
ODD_BUT_READABLE = [  # the system's shape with odd values: read, nothing of ours named
    b"[]", b'{"eventNotifications": []}', b'{"events": []}',
    b'{"eventNotifications": [{"realmId": 9130355, "dataChangeEvent": {"entities": '
    b'[{"name": "CreditMemo", "id": 1e999, "operation": ["Delete"]}]}}]}',
    b'{"events": [{"eventCategory": "CREDITNOTE", "tenantId": 5, "resourceId": 1.5}]}',
    b'[{"type": "qbo.creditmemo.updated.v1", "intuitaccountid": {"a": 1}}]',
]


def runs(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(models.SyncRun)) or 0


@pytest.fixture
def qbo(client: TestClient, fake_qbo: FakeQbo) -> FakeQbo:
    connect_qbo(client, fake_qbo)
    return fake_qbo


@pytest.fixture
def xero(client: TestClient, fake_xero: FakeXero) -> FakeXero:
    connect_xero(client, fake_xero)
    return fake_xero


def send_qbo(client: TestClient, fake: FakeQbo, body: bytes,
             content_type: str = "application/json"):
    return client.post("/webhooks/quickbooks", content=body, headers={
        "intuit-signature": fake.state.sign(body), "content-type": content_type})


def send_xero(client: TestClient, fake: FakeXero, body: bytes,
              content_type: str = "application/json"):
    return client.post("/webhooks/xero", content=body, headers={
        "x-xero-signature": fake.state.sign(body), "content-type": content_type})


@pytest.mark.parametrize("body", NOT_NOTIFICATIONS, ids=lambda b: b[:40].decode("latin-1"))
def test_e3_a_signed_quickbooks_body_that_is_no_notification_is_422(
        client: TestClient, db: Database, qbo: FakeQbo, body: bytes) -> None:
    before = runs(db)
    r = send_qbo(client, qbo, body)
    assert r.status_code == 422, (body[:80], r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "validation_error" and "webhook body" in r.json()["detail"]
    assert runs(db) == before


@pytest.mark.parametrize("body", NOT_NOTIFICATIONS, ids=lambda b: b[:40].decode("latin-1"))
def test_e3_a_signed_xero_body_that_is_no_notification_is_400_with_no_body(
        client: TestClient, db: Database, xero: FakeXero, body: bytes) -> None:
    before = runs(db)
    r = send_xero(client, xero, body)
    assert (r.status_code, r.content) == (400, b""), body[:80]
    assert "set-cookie" not in r.headers
    assert runs(db) == before


@pytest.mark.parametrize("body", ODD_BUT_READABLE, ids=lambda b: b[:40].decode("latin-1"))
def test_e3_odd_values_in_the_right_shape_are_read_and_name_nothing(
        client: TestClient, db: Database, qbo: FakeQbo, xero: FakeXero, body: bytes) -> None:
    before = runs(db)
    qbo_answer, xero_answer = send_qbo(client, qbo, body), send_xero(client, xero, body)
    assert qbo_answer.status_code in (200, 422) and xero_answer.status_code in (200, 400)
    assert 200 in (qbo_answer.status_code, xero_answer.status_code), body
    assert runs(db) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml"])
def test_e3_a_signed_notification_of_another_content_type_is_415(
        client: TestClient, db: Database, qbo: FakeQbo, xero: FakeXero,
        content_type: str) -> None:
    before = runs(db)
    qbo_body, _ = qbo.state.webhook(REALM, ["150"])
    r = send_qbo(client, qbo, qbo_body, content_type)
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    xero_body, _ = xero.state.webhook(TENANT, ["5b1e0f2a-7d7c-4a51-8a3e-6c0b0d2c9e10"])
    r = send_xero(client, xero, xero_body, content_type)
    assert (r.status_code, r.content) == (415, b"")
    assert runs(db) == before


def test_e3_json_content_types_and_a_missing_one_are_read(
        client: TestClient, db: Database, qbo: FakeQbo) -> None:
    for content_type in ("application/json; charset=utf-8",
                         "application/cloudevents-batch+json"):
        body, _ = qbo.state.webhook(REALM, ["150"], cloudevents=True)
        assert send_qbo(client, qbo, body, content_type).status_code == 200
    body, headers = qbo.state.webhook(REALM, ["151"])
    r = client.post("/webhooks/quickbooks", content=body,
                    headers={"intuit-signature": headers["intuit-signature"]})
    assert r.status_code == 200


def test_e3_a_body_over_the_limit_is_413_before_anything_is_read(
        client: TestClient, db: Database, qbo: FakeQbo, xero: FakeXero) -> None:
    before = runs(db)
    huge = json.dumps({"eventNotifications": [], "pad": "x" * (3 * 1024 * 1024)}).encode()
    assert send_qbo(client, qbo, huge).status_code == 413
    assert send_xero(client, xero, huge).status_code == 413
    assert runs(db) == before


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["eventNotifications", "dataChangeEvent", "entities", "realmId",
                         "name", "id", "operation", "events", "type", "tenantId",
                         "resourceId", "eventCategory", "data", "Type"]), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values)
def test_e3_fuzzed_signed_webhooks_never_answer_5xx(
        client: TestClient, qbo: FakeQbo, xero: FakeXero, payload: object) -> None:
    body = json.dumps(payload).encode()
    assert send_qbo(client, qbo, body).status_code in (200, 422)
    assert send_xero(client, xero, body).status_code in (200, 400)
