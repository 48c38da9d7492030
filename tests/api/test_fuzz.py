"""E3 fuzzed: request bodies built by Hypothesis for the main writes never give a 500, and a
4xx answer is a problem document that changed nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.api.conftest import API, customer, invoice, memo, problem, snapshot

REASONS = ["returned_goods", "damaged_goods", "service_issue", "pricing_error",
           "billing_adjustment", "goodwill", "duplicate_charge", "other"]

FUZZ = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)

def mostly(valid: st.SearchStrategy, garbage: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` four times in five, so that fuzzing reaches success paths too."""
    return st.integers(0, 4).flatmap(lambda i: garbage if i == 0 else valid)


good_amounts = st.one_of(
    st.decimals(places=2, min_value=Decimal("0.01"), max_value=Decimal("60")).map(str),
    st.integers(1, 60), st.sampled_from([0.5, 1.25, 19.99, 60.1]))
bad_amounts = st.one_of(
    st.sampled_from(["1000000000000", "10.001", "-1", "0", "1e3", "NaN", "", "5.", ".5",
                     "1_0", "\u0663", "0.0000001", "-0.00"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-5, max_value=10**13),
    st.floats(allow_nan=False, allow_infinity=False), json_values)
amounts = mostly(good_amounts, bad_amounts)
texts = mostly(st.text(max_size=30), st.one_of(st.text(max_size=600), json_values))
line = st.fixed_dictionaries(
    {"description": mostly(st.text(min_size=1, max_size=20), texts),
     "quantity": mostly(st.integers(1, 5), st.one_of(st.integers(-2, 0), json_values)),
     "unit_price": amounts},
    optional={"variant_id": mostly(st.none(), st.text(max_size=5))})
lines = mostly(st.lists(line, min_size=1, max_size=3), json_values)
dates = mostly(st.one_of(st.none(), st.dates().map(str)), texts)
reasons = mostly(st.sampled_from(REASONS), texts)


def body(draw, required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """Mostly a plausible object with some fields wrong; sometimes anything at all."""
    fields = {k: draw(v) for k, v in required.items() if draw(st.integers(0, 9)) > 0}
    fields |= {k: draw(v) for k, v in optional.items() if draw(st.integers(0, 3)) == 0}
    if draw(st.integers(0, 9)) == 0:
        fields[draw(st.text(max_size=8))] = draw(json_values)
    return fields if draw(st.integers(0, 9)) > 0 else draw(json_values)


def _send_and_check(client, db, method: str, path: str, payload: Any) -> None:
    before = snapshot(db)
    r = client.request(method, f"{API}{path}", content=json.dumps(payload).encode(),
                       headers={"content-type": "application/json"})
    assert r.status_code < 500, (payload, r.text)
    event(f"{r.status_code} {r.json().get('code', '') if r.status_code >= 400 else ''}")
    if r.status_code >= 400:
        problem(r, r.status_code, r.json()["code"], ctx=payload)
        assert snapshot(db) == before, payload
    else:
        assert r.headers["content-type"].startswith("application/json")


@pytest.fixture
def ids(client) -> dict[str, str]:
    """The same few rows for every example of one test."""
    cid = customer(client)
    return {"C": cid, "I": invoice(client, cid, "100.00")["id"],
            "J": invoice(client, customer(client, "Other"), "100.00")["id"],
            "M": memo(client, cid, "50.00")["id"],
            "D": memo(client, cid, "5.00", issue=False)["id"]}


@given(data=st.data())
@FUZZ
def test_e3_fuzz_create_memo(client, db, ids, data):
    payload = body(data.draw, {
        "customer_id": mostly(st.just(ids["C"]), texts), "reason": reasons, "amount": amounts,
    }, {"lines": lines, "currency": mostly(st.sampled_from(["USD", "EUR", "JPY"]), texts),
        "invoice_id": mostly(st.just(ids["I"]), texts), "issue_date": dates, "notes": texts})
    if isinstance(payload, dict) and "lines" in payload and data.draw(st.integers(0, 3)) > 0:
        payload.pop("amount", None)  # amount and lines together is refused: keep it rare
    _send_and_check(client, db, "POST", "/credit-memos", payload)


@given(data=st.data())
@FUZZ
def test_e3_fuzz_apply_credit(client, db, ids, data):
    payload = body(data.draw, {"invoice_id": st.sampled_from([ids["I"], ids["J"], "inv_x"]),
                               "amount": amounts}, {})
    _send_and_check(client, db, "POST", f"/credit-memos/{ids['M']}/applications", payload)


@given(data=st.data())
@FUZZ
def test_e3_fuzz_record_payment(client, db, ids, data):
    payload = body(data.draw, {"amount": amounts},
                   {"paid_at": mostly(st.datetimes().map(lambda d: d.isoformat()), texts)})
    _send_and_check(client, db, "POST", f"/invoices/{ids['I']}/payments", payload)


@given(data=st.data())
@FUZZ
def test_e3_fuzz_create_invoice(client, db, ids, data):
    payload = body(data.draw, {"customer_id": mostly(st.just(ids["C"]), texts), "lines": lines},
                   {"currency": mostly(st.sampled_from(["USD", "KWD"]), texts),
                    "issue_date": dates, "due_date": dates, "notes": texts})
    _send_and_check(client, db, "POST", "/invoices", payload)


@given(data=st.data())
@FUZZ
def test_e3_fuzz_update_draft_memo(client, db, ids, data):
    payload = body(data.draw, {}, {
        "reason": reasons, "amount": amounts, "lines": lines,
        "currency": mostly(st.sampled_from(["USD", "EUR", "KWD"]), texts),
        "invoice_id": mostly(st.sampled_from([ids["I"], None]), texts),
        "issue_date": dates, "notes": texts})
    _send_and_check(client, db, "PATCH", f"/credit-memos/{ids['D']}", payload)


@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
@FUZZ
def test_e3_fuzz_raw_bytes_never_500(client, db, ids, raw):
    before = snapshot(db)
    for path in ["/credit-memos", f"/credit-memos/{ids['M']}/applications"]:
        r = client.post(f"{API}{path}", content=raw, headers={"content-type": "application/json"})
        assert r.status_code < 500, (raw, r.text)
        if r.status_code >= 400:
            problem(r, r.status_code, r.json()["code"], ctx=raw)
    if snapshot(db) != before:  # only a valid JSON object may have created something
        assert isinstance(json.loads(raw), dict)
