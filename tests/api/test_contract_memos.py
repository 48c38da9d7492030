"""Credit memo endpoints against API.md: status codes, the memo object, amounts, lists."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import API, apply, customer, invoice, memo, ok, problem

MEMO_FIELDS = {
    "id", "number", "customer_id", "currency", "reason", "status", "issue_date", "invoice_id",
    "lines", "total", "applied_amount", "remaining_amount", "notes", "source", "external_id",
    "read_only", "issued_at", "applied_at", "voided_at", "void_reason", "created_at",
    "updated_at", "refunded_amount", "refunds",  # R1
    "approval",  # AP1
    "subtotal", "tax_total", "taxes", "tax_inclusive",  # T1, T2 (API.md: added by later rules)
    "customer_note",  # D1
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def test_c1_create_memo_returns_201_draft_with_exact_fields(client):
    cid = customer(client)
    r = client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "service_issue", "amount": "60.00", "notes": "outage"})
    m = ok(r, 201)
    assert set(m) == MEMO_FIELDS
    assert m["number"] == "CM-0001" and m["status"] == "draft" and m["customer_id"] == cid
    assert (m["total"], m["applied_amount"], m["remaining_amount"]) == ("60.00", "0.00", "60.00")
    assert m["currency"] == "USD" and m["reason"] == "service_issue" and m["notes"] == "outage"
    assert m["source"] == "native" and m["read_only"] is False and m["external_id"] is None
    assert m["lines"] == [] and m["invoice_id"] is None and m["issue_date"] is None
    assert m["issued_at"] is m["applied_at"] is m["voided_at"] is m["void_reason"] is None
    assert TIMESTAMP.match(m["created_at"]) and TIMESTAMP.match(m["updated_at"])
    assert ok(client.get(f"{API}/credit-memos/{m['id']}")) == m


def test_c4_memo_with_lines_has_their_total(client):
    cid = customer(client)
    m = ok(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "returned_goods", "lines": [
            {"description": "Router", "quantity": 2, "unit_price": "12.50"},
            {"description": "Cable", "quantity": 1, "unit_price": 0.99}]}), 201)
    assert m["total"] == "25.99"
    assert [(li["quantity"], li["unit_price"], li["amount"]) for li in m["lines"]] == [
        (2, "12.50", "25.00"), (1, "0.99", "0.99")]
    assert {"description", "quantity", "unit_price", "amount", "variant_id"} <= set(m["lines"][0])


@pytest.mark.parametrize(("currency", "sent", "shown"), [
    ("USD", "60", "60.00"), ("USD", 60.1, "60.10"), ("JPY", "100", "100"), ("JPY", 100, "100"),
    ("KWD", "1", "1.000"), ("KWD", "0.125", "0.125"), ("EUR", "0.5", "0.50"),
])
def test_m1_amounts_are_strings_with_the_currency_minor_digits(client, currency, sent, shown):
    cid = customer(client, currency=currency)
    m = ok(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "goodwill", "amount": sent}), 201)
    assert m["currency"] == currency
    assert (m["total"], m["remaining_amount"]) == (shown, shown)
    zero = "0" if currency == "JPY" else "0." + "0" * (3 if currency == "KWD" else 2)
    assert m["applied_amount"] == zero


def test_m1_float_json_numbers_are_taken_exactly(client):
    cid = customer(client)
    for raw, shown in [(b"60.1", "60.10"), (b"0.07", "0.07"), (b"1.10", "1.10"),
                       (b"19.99", "19.99"), (b"1e2", "100.00"), (b"2.50E1", "25.00")]:
        body = b'{"customer_id": "%s", "reason": "goodwill", "amount": %s}' % (cid.encode(), raw)
        m = ok(client.post(f"{API}/credit-memos", content=body,
                           headers={"content-type": "application/json"}), 201)
        assert m["total"] == shown, raw


def test_l1_patch_draft_and_delete_returns_204(client):
    cid = customer(client)
    m = memo(client, cid, "10.00", issue=False)
    p = ok(client.patch(f"{API}/credit-memos/{m['id']}", json={
        "amount": "12.34", "reason": "pricing_error", "notes": "n", "issue_date": "2024-03-01"}))
    assert (p["total"], p["reason"], p["notes"], p["issue_date"]) == (
        "12.34", "pricing_error", "n", "2024-03-01")
    assert set(p) == MEMO_FIELDS and p["number"] == m["number"]
    r = client.delete(f"{API}/credit-memos/{m['id']}")
    assert r.status_code == 204 and r.content == b""
    problem(client.get(f"{API}/credit-memos/{m['id']}"), 404, "not_found")


def test_l2_issue_returns_memo_issued_and_posts_journal(client):
    cid = customer(client)
    m = memo(client, cid, "40.00", issue=False)
    i = ok(client.post(f"{API}/credit-memos/{m['id']}/issue"))
    assert i["status"] == "issued" and TIMESTAMP.match(i["issued_at"])
    assert DATE.match(i["issue_date"]) and i["remaining_amount"] == "40.00"
    entries = ok(client.get(f"{API}/journal-entries",
                            params={"source_type": "credit_memo", "source_id": m["id"]}))
    assert len(entries["data"]) == 1
    lines = {li["account_code"]: li for li in entries["data"][0]["lines"]}
    assert lines["4900"]["debit"] == "40.00" and lines["1100"]["credit"] == "40.00"


def test_l4_void_returns_memo_with_reason(client):
    cid = customer(client)
    m = memo(client, cid, "40.00")
    v = ok(client.post(f"{API}/credit-memos/{m['id']}/void", json={"reason": "Entered twice"}))
    assert v["status"] == "void" and v["void_reason"] == "Entered twice"
    assert TIMESTAMP.match(v["voided_at"]) and v["remaining_amount"] == "0.00"  # C7


def test_l4_void_without_reason_is_validation_error(client):
    m = memo(client, customer(client))
    problem(client.post(f"{API}/credit-memos/{m['id']}/void", json={}), 422,
            "validation_error", "reason")
    problem(client.post(f"{API}/credit-memos/{m['id']}/void", json={"reason": "  "}), 422,
            "validation_error", "reason")
    assert ok(client.get(f"{API}/credit-memos/{m['id']}"))["status"] == "issued"


def test_c6_memo_from_invoice_prefilled(client):
    cid = customer(client)
    inv = invoice(client, cid, "80.00")
    m = ok(client.post(f"{API}/invoices/{inv['id']}/credit-memos",
                       json={"reason": "damaged_goods"}), 201)
    assert (m["status"], m["customer_id"], m["invoice_id"]) == ("draft", cid, inv["id"])
    assert m["currency"] == "USD" and m["total"] == "80.00" and len(m["lines"]) == 1
    assert set(m) == MEMO_FIELDS
    assert ok(client.get(f"{API}/credit-memos/{m['id']}")) == m


def test_c6_memo_from_invoice_with_amount_override(client):
    cid = customer(client)
    inv = invoice(client, cid, "80.00")
    m = ok(client.post(f"{API}/invoices/{inv['id']}/credit-memos", json={
        "reason": "pricing_error", "amount": "15.00", "notes": "price fix"}), 201)
    assert m["total"] == "15.00" and m["lines"] == [] and m["invoice_id"] == inv["id"]


def test_s2_list_is_paginated_newest_first(client):
    cid = customer(client)
    ids = [memo(client, cid, f"{i}.00", issue=False)["id"] for i in range(1, 6)]
    page = ok(client.get(f"{API}/credit-memos", params={"limit": 2}))
    assert set(page) == {"data", "next_cursor"}
    assert [m["id"] for m in page["data"]] == ids[::-1][:2] and page["next_cursor"]
    seen = [m["id"] for m in page["data"]]
    while page["next_cursor"]:
        page = ok(client.get(f"{API}/credit-memos",
                             params={"limit": 2, "cursor": page["next_cursor"]}))
        seen += [m["id"] for m in page["data"]]
    assert seen == ids[::-1]
    assert all(set(m) == MEMO_FIELDS for m in ok(client.get(f"{API}/credit-memos"))["data"])


def test_s2_list_default_limit_is_50_and_max_200(client):
    cid = customer(client)
    for _ in range(51):
        client.post(f"{API}/credit-memos",
                    json={"customer_id": cid, "reason": "other", "amount": "1"})
    page = ok(client.get(f"{API}/credit-memos"))
    assert len(page["data"]) == 50 and page["next_cursor"]
    assert len(ok(client.get(f"{API}/credit-memos", params={"limit": 200}))["data"]) == 51
    problem(client.get(f"{API}/credit-memos", params={"limit": 201}), 422,
            "validation_error", "limit")
    problem(client.get(f"{API}/credit-memos", params={"limit": 0}), 422,
            "validation_error", "limit")


def test_s2_list_filters(client):
    a, b = customer(client, "A"), customer(client, "B")
    inv = invoice(client, a, "100.00")
    draft = memo(client, a, "1.00", issue=False)
    issued = memo(client, a, "2.00")
    partial = memo(client, a, "10.00")
    apply(client, partial["id"], inv["id"], "4.00")
    other = memo(client, b, "3.00")

    def ids(**params):
        return {m["id"] for m in ok(client.get(f"{API}/credit-memos", params=params))["data"]}

    assert ids(status="draft") == {draft["id"]}
    assert ids(status=["issued", "partially_applied"]) == {issued["id"], partial["id"],
                                                           other["id"]}
    assert ids(customer_id=b) == {other["id"]}
    assert ids(has_remaining="true") == {issued["id"], partial["id"], other["id"]}
    assert ids(has_remaining="false") == {draft["id"]}
    assert ids(source="native") == ids()
    assert ids(q=partial["number"]) == {partial["id"]}
    assert ids(q=partial["number"].lower()) == {partial["id"]}
    assert ids(q="CM-") == ids() and ids(q="%") == set() and ids(q="_") == set()
