"""E3: bad input gets a clear 4xx problem, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, JSON, customer, ok, problem, snapshot
from tests.api.conftest import send_raw as _send

MEMO = b'{"customer_id": "{C}", "reason": "goodwill", "amount": %s}'
APPLY = b'{"invoice_id": "{I}", "amount": %s}'
PAY = b'{"amount": %s}'

BAD_AMOUNTS = [
    (b"10.001", "amount"), (b'"10.001"', "amount"), (b"0.000000000000000000001", "amount"),
    (b"-5", "amount"), (b'"-5.00"', "amount"), (b"0", "amount"), (b'"0.00"', "amount"),
    (b"-0", "amount"), (b"1e999999", "amount"), (b"-1e999999", "amount"),
    (b"1e-999999", "amount"), (b"1000000000000", "amount"), (b'"1000000000000.00"', "amount"),
    (b"999999999999.01", "amount"), (b'"NaN"', "amount"), (b'"Infinity"', "amount"),
    (b'"-inf"', "amount"), (b'"1e3"', "amount"), (b'"1_000"', "amount"), (b'"\\u0663"', "amount"),
    (b'"12,50"', "amount"), (b'"$5"', "amount"), (b'""', "amount"), (b'" "', "amount"),
    (b"true", "amount"), (b"null", "amount"), (b"[]", "amount"), (b"{}", "amount"),
    (b'"' + b"9" * 5000 + b'"', "amount"),
]


@pytest.mark.parametrize(("method", "path", "template"), [
    ("POST", "/credit-memos", MEMO), ("POST", "/credit-memos/{M}/applications", APPLY),
    ("POST", "/invoices/{I}/payments", PAY), ("PATCH", "/credit-memos/{D}", PAY),
])
def test_m1_m2_bad_amounts_rejected_over_http(client, db, ids, method, path, template):
    before = snapshot(db)
    for value, field in BAD_AMOUNTS:
        r = _send(client, ids, method, path, template % value)
        problem(r, 422, "validation_error", field, ctx=value[:40])
    assert snapshot(db) == before


def test_m1_too_many_decimals_rejected_over_http(client, db, ids):
    jpy, kwd = customer(client, "Yen", "JPY"), customer(client, "Dinar", "KWD")
    before = snapshot(db)
    for cid, amount in [(ids["C"], b"10.001"), (jpy, b"100.5"), (jpy, b'"1.0001"'),
                        (kwd, b"1.0001"), (kwd, b'"0.0005"')]:
        r = client.post(f"{API}/credit-memos", headers=JSON, content=(
            b'{"customer_id": "%s", "reason": "goodwill", "amount": %s}' % (cid.encode(), amount)))
        body = problem(r, 422, "validation_error", "amount", ctx=amount)
        assert "decimal place" in body["detail"]
    assert snapshot(db) == before


MALFORMED = [
    b"", b"{", b"}", b"[", b'{"customer_id": }', b"{'customer_id': 1}", b"nul", b"NaN",
    b'{"amount": NaN}', b'{"amount": Infinity}', b'{"amount": -Infinity}', b"[]", b"[{}]",
    b'"a string"', b"42", b"null", b"true", b"\xff\xfe\x00", b"\xef\xbb\xbf{}", b"{}" * 3,
    b"[" * 50000 + b"]" * 50000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"amount": 1' + b"0" * 5000 + b"}", b'{"amount": "1", "amount": "2", "x": 1}',
    b'{"notes": "\\ud800"}', b'{"reason": "\\udfff\\ud800"}',
]


def test_e3_malformed_and_non_object_bodies_are_422(client, db, ids):
    before = snapshot(db)
    for path in ["/customers", "/credit-memos", "/invoices", "/products",
                 "/credit-memos/{M}/applications", "/invoices/{I}/payments",
                 "/credit-memos/{M}/void", "/invoices/{I}/credit-memos"]:
        for raw in MALFORMED:
            r = _send(client, ids, "POST", path, raw)
            problem(r, 422, "validation_error", ctx=(path, raw[:40]))
    assert snapshot(db) == before


def test_e3_bad_payment_timestamps_are_422(client, db, ids):
    before = snapshot(db)
    for paid_at in ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "yesterday",
                    "2024-13-01T00:00:00Z", 1e20, True, "2024-01-01T25:00:00Z"]:
        r = client.post(f"{API}/invoices/{ids['I']}/payments",
                        json={"amount": "1.00", "paid_at": paid_at})
        problem(r, 422, "validation_error", "paid_at", ctx=paid_at)
    assert snapshot(db) == before


@pytest.mark.parametrize("headers", [{}, {"content-type": "text/plain"},
                                     {"content-type": "application/x-www-form-urlencoded"}])
def test_e3_body_that_is_not_declared_json_is_refused_clearly(client, db, ids, headers):
    before = snapshot(db)
    body = problem(_send(client, ids, "POST", "/credit-memos", MEMO % b'"1.00"', headers), 422,
                   "validation_error", "body")
    assert "application/json" in body["detail"]
    assert snapshot(db) == before


WRONG = [
    ({"customer_id": 12, "reason": "goodwill", "amount": "1"}, "customer_id"),
    ({"customer_id": ["C"], "reason": "goodwill", "amount": "1"}, "customer_id"),
    ({"customer_id": "C", "reason": ["goodwill"], "amount": "1"}, "reason"),
    ({"customer_id": "C", "reason": "GOODWILL", "amount": "1"}, "reason"),
    ({"customer_id": "C", "reason": "goodwill ", "amount": "1"}, "reason"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "notes": 5}, "notes"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "notes": "n" * 5001}, "notes"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "currency": "usd"}, "currency"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "currency": "US"}, "currency"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "currency": 840}, "currency"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "issue_date": "2024-02-30"},
     "issue_date"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "issue_date": "yesterday"},
     "issue_date"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "status": "issued"}, "status"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "total": "1"}, "total"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "lines": [
        {"description": "x", "quantity": 1, "unit_price": "1"}]}, "amount"),
    ({"customer_id": "C", "reason": "goodwill", "lines": "many"}, "lines"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [7]}, "lines[0]"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": True, "unit_price": "1"}]}, "lines[0].quantity"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": 1.5, "unit_price": "1"}]}, "lines[0].quantity"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": "2", "unit_price": "1"}]}, "lines[0].quantity"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": 10**30, "unit_price": "1"}]}, "lines[0].quantity"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": -1, "unit_price": "1"}]}, "lines[0].quantity"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": 1, "unit_price": "0.001"}]}, "lines[0].unit_price"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": 1, "unit_price": "1", "variant_id": "var_nope"}]},
     "lines[0].variant_id"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "x", "quantity": 1000000, "unit_price": "999999999999"}]},
     "lines[0].amount"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "notes": "a\u0000b"}, "notes"),
    ({"customer_id": "C\u0000", "reason": "goodwill", "amount": "1"}, "customer_id"),
    ({"customer_id": "C", "reason": "good\u0000will", "amount": "1"}, "reason"),
]


def test_e3_wrong_types_and_values_name_the_field(client, db, ids):
    before = snapshot(db)
    for body, field in WRONG:
        body = {k: ids["C"] if v == "C" else v for k, v in body.items()}
        if isinstance(body.get("customer_id"), str):
            body["customer_id"] = body["customer_id"].replace("C", ids["C"], 1)
        r = client.post(f"{API}/credit-memos", json=body)
        problem(r, 422, "validation_error", field, ctx=body)
    lone_surrogate = b'{"customer_id": "{C}", "reason": "other", "amount": "1", "notes": "\\ud800"}'
    r = _send(client, ids, "POST", "/credit-memos", lone_surrogate)
    problem(r, 422, "validation_error", "notes")
    assert snapshot(db) == before


@pytest.mark.parametrize("text", [
    "Ünïcødé ✓", "😀👨‍👩‍👧‍👦", "\u202eevil", "日本語のメモ", "a\u0301", "\t tabs \n newlines",
    "\ufeffbom", "x" * 5000, "'; DROP TABLE credit_memos; --", "%_\\",
])
def test_e3_weird_unicode_is_stored_exactly(client, text):
    cid = customer(client)
    m = ok(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "other", "amount": "1", "notes": text}), 201)
    assert m["notes"] == text
    assert ok(client.get(f"{API}/credit-memos/{m['id']}"))["notes"] == text
    c = ok(client.post(f"{API}/customers", json={"name": text[:200]}), 201)
    assert c["name"] == text[:200].strip()
    found = ok(client.get(f"{API}/customers", params={"q": text[:50]}))
    assert found["data"] is not None


def test_e3_huge_strings_are_refused(client, db, ids):
    before = snapshot(db)
    problem(client.post(f"{API}/customers", json={"name": "n" * 201}), 422, "validation_error",
            "name")
    problem(client.post(f"{API}/credit-memos", json={
        "customer_id": ids["C"], "reason": "x" * 100_000, "amount": "1"}), 422,
        "validation_error", "reason")
    problem(client.post(f"{API}/credit-memos/{ids['M']}/void", json={"reason": "r" * 1001}),
            422, "validation_error", "reason")
    r = client.post(f"{API}/customers", json={"name": "n" * 3_000_000})
    problem(r, 413, "request_too_large")
    assert snapshot(db) == before


BAD_PARAMS = [
    ({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"limit": -1}, "limit"),
    ({"limit": "ten"}, "limit"), ({"limit": "1e2"}, "limit"), ({"limit": 10**40}, "limit"),
    ({"cursor": "!!!"}, "cursor"), ({"cursor": "%%%"}, "cursor"), ({"cursor": "YQA"}, "cursor"),
    ({"cursor": "x" * 500}, "cursor"), ({"cursor": "\u00e9\u00e9"}, "cursor"),
    ({"cursor": "a\u0000b"}, "cursor"),
]


@pytest.mark.parametrize("path", ["/credit-memos", "/invoices", "/customers", "/journal-entries",
                                  "/audit-events", "/inventory-activities"])
def test_e3_bad_list_parameters_are_422(client, db, path):
    before = snapshot(db)
    for params, field in BAD_PARAMS:
        body = problem(client.get(f"{API}{path}", params=params), 422, "validation_error", field,
                       ctx=params)
        assert body["errors"]
    assert snapshot(db) == before


@pytest.mark.parametrize("path", ["/credit-memos", "/invoices", "/customers"])
def test_e3_nul_in_a_declared_parameter_is_422_and_an_undeclared_one_is_ignored(client, path):
    problem(client.get(f"{API}{path}", params={"q": "a\u0000b"}), 422, "validation_error", "q")
    if path != "/customers":
        problem(client.get(f"{API}{path}", params={"customer_id": "a\u0000"}), 422,
                "validation_error", "customer_id")
    # A parameter the operation does not read changes nothing (E7: GETs without parameters
    # document no 422).
    assert ok(client.get(f"{API}{path}", params={"nope": "a\u0000"}))["data"] == []


@pytest.mark.parametrize("query", [
    {"status": "pending"}, {"source": "sap"}, {"has_remaining": "maybe"}, {"q": "x" * 61},
])
def test_s2_bad_memo_filters_are_422(client, query):
    problem(client.get(f"{API}/credit-memos", params=query), 422, "validation_error",
            next(iter(query)))


UNKNOWN_IDS = ["nope", "cm_" + "0" * 26, "a" * 5000, "%00", "a%00b", "..%2f..%2fetc", "\u00e9",
               "'; --", "%25", "1e999"]


def test_e3_unknown_or_malformed_ids_are_404(client, db, ids):
    before = snapshot(db)
    for memo_id in UNKNOWN_IDS:
        _unknown_memo_id_is_404(client, ids, memo_id)
    assert snapshot(db) == before


def _unknown_memo_id_is_404(client, ids, memo_id):
    for method, suffix, body in [("GET", "", None), ("PATCH", "", {"notes": "x"}),
                                 ("DELETE", "", None), ("POST", "/issue", None),
                                 ("POST", "/void", {"reason": "x"}),
                                 ("GET", "/applications", None),
                                 ("POST", "/applications", {"invoice_id": ids["I"],
                                                            "amount": "1"})]:
        r = client.request(method, f"{API}/credit-memos/{memo_id}{suffix}", json=body)
        problem(r, 404, "not_found", ctx=(method, suffix, memo_id[:20]))
    if len(memo_id) <= 100:  # longer is no id at all: a validation error of the body field
        problem(client.post(f"{API}/credit-memos/{ids['M']}/applications",
                            json={"invoice_id": memo_id, "amount": "1"}), 404, "not_found",
                ctx=memo_id)

