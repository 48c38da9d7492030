"""E3: timestamps and dates are ISO 8601 strings only, and a body (or a line) that is not a
JSON object is refused saying so; nothing changes."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, ok, problem, send_raw, snapshot

NOT_TIMESTAMPS = [
    253402300800, "253402300800", 1700000000.5, 0, True, "2024-05-01", "20240501T143000Z",
    "2024-W18-3T14:30:00Z", "2024-05-01T14:30:00 +02:00", "1 May 2024 14:30", "2024-05-01T25:00Z",
    "2024-02-30T10:00:00Z", {"at": "2024-05-01T14:30:00Z"}, ["2024-05-01T14:30:00Z"],
]


def test_e3_timestamps_are_iso_8601_strings_only(client, db, ids):
    """Pydantic reads a number (or a string of digits) as Unix seconds: 253402300800 was
    stored as a 1978 date. Only an ISO 8601 string is a timestamp."""
    before = snapshot(db)
    for paid_at in NOT_TIMESTAMPS:
        r = client.post(f"{API}/invoices/{ids['I']}/payments",
                        json={"amount": "1.00", "paid_at": paid_at})
        body = problem(r, 422, "validation_error", "paid_at", ctx=paid_at)
        assert "ISO 8601" in body["detail"] or "real date" in body["detail"], body
    assert snapshot(db) == before


@pytest.mark.parametrize(("sent", "stored"), [
    ("2024-05-01T14:30:00Z", "2024-05-01T14:30:00"),
    ("2024-05-01t14:30:00z", "2024-05-01T14:30:00"),
    ("2024-05-01T14:30:00.250+02:00", "2024-05-01T12:30:00.250"),
    ("2024-05-01 14:30", "2024-05-01T14:30:00"),
    ("2024-05-01T14:30:00-05:30", "2024-05-01T20:00:00"),
])
def test_e3_iso_8601_timestamps_are_read_as_utc(client, ids, sent, stored):
    paid = ok(client.post(f"{API}/invoices/{ids['I']}/payments",
                          json={"amount": "1.00", "paid_at": sent}), 201)
    assert paid["payments"][-1]["paid_at"].startswith(stored), (sent, paid["payments"])


NOT_DATES = [0, 20240501, "20240501", "2024-5-1", "2024-05-01T00:00:00", "2024-05-01T00:00:00Z",
             "2024-02-30", "01/05/2024", "", True, 1714521600]


def test_e3_dates_are_yyyy_mm_dd_strings_only(client, db, ids):
    before = snapshot(db)
    line = {"description": "x", "quantity": 1, "unit_price": "1.00"}
    for value in NOT_DATES:
        for method, path, body, field in [
            ("POST", "/invoices", {"customer_id": ids["C"], "lines": [line]}, "issue_date"),
            ("POST", "/invoices", {"customer_id": ids["C"], "lines": [line]}, "due_date"),
            ("POST", "/credit-memos", {"customer_id": ids["C"], "reason": "other",
                                       "amount": "1"}, "issue_date"),
            ("PATCH", f"/credit-memos/{ids['D']}", {}, "issue_date"),
        ]:
            r = client.request(method, f"{API}{path}", json={**body, field: value})
            problem(r, 422, "validation_error", field, ctx=(path, field, value))
    assert snapshot(db) == before
    inv = ok(client.post(f"{API}/invoices", json={
        "customer_id": ids["C"], "lines": [line], "issue_date": "2024-02-29"}), 201)
    assert inv["issue_date"] == "2024-02-29"


BODY_OPERATIONS = [
    ("POST", "/customers"), ("POST", "/products"), ("POST", "/invoices"),
    ("POST", "/invoices/{I}/payments"), ("POST", "/invoices/{I}/credit-memos"),
    ("POST", "/credit-memos"), ("PATCH", "/credit-memos/{D}"), ("POST", "/credit-memos/{M}/void"),
    ("POST", "/credit-memos/{M}/applications"), ("POST", "/suggestions/refresh"),
    ("PUT", "/settings/credit-balance-visibility"), ("POST", "/integrations"),
]


@pytest.mark.parametrize(("raw", "kind"), [
    (b"[]", "an array"), (b"[{}]", "an array"), (b"42", "a number"), (b"4.2", "a number"),
    (b"true", "true"), (b'"x"', "JSON object"), (b"null", "JSON object"),
])
def test_e3_a_body_that_is_not_a_json_object_is_named(client, db, ids, raw, kind):
    before = snapshot(db)
    for method, path in BODY_OPERATIONS:
        if raw == b"null" and path == "/suggestions/refresh":
            continue  # its body is optional: null is "no body"
        body = problem(send_raw(client, ids, method, path, raw), 422, "validation_error", "body",
                       ctx=(method, path, raw))
        message = next(e["message"] for e in body["errors"] if e["field"] == "body")
        assert "JSON object" in message and kind in message, (path, raw, message)
        assert body["detail"].startswith("The request is invalid. body: "), body
    assert snapshot(db) == before


def test_e3_a_nested_value_that_is_not_an_object_is_named(client, ids):
    r = client.post(f"{API}/credit-memos", json={
        "customer_id": ids["C"], "reason": "other", "lines": [7, "x", 4.5, None]})
    body = problem(r, 422, "validation_error", "lines[0]")
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages == {"lines[0]": "must be a JSON object, not a number",
                        "lines[1]": "must be a JSON object, not a string",
                        "lines[2]": "must be a JSON object, not a number",  # not "is required"
                        "lines[3]": "must be a JSON object, not null"}
