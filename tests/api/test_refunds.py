"""R1, R2, C7, P6 and E2 of refunds through the API, exactly as API.md writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from creditdesk.db import models
from creditdesk.services.common.context import new_id
from tests.api.conftest import API, apply, customer, invoice, memo, ok, problem, snapshot
from tests.api.test_preview import everything, previewed

REFUND_FIELDS = {"id", "credit_memo_id", "amount", "method", "refunded_at", "reference",
                 "refunded_by", "created_at", "voided_at", "voided_by"}


def refund(client, memo_id: str, amount: str = "20.00", **body: Any):
    return client.post(f"{API}/credit-memos/{memo_id}/refunds",
                       json={"amount": amount, "method": "check", **body})


def c7(m: dict) -> None:
    """C7 as the API answers it: applied + refunded + remaining = total (non-void)."""
    figures = [Decimal(m[k]) for k in ("applied_amount", "refunded_amount", "remaining_amount")]
    assert sum(figures) == Decimal(m["total"]), m


@pytest.fixture
def issued(client) -> dict:
    return memo(client, customer(client), "100.00")


def test_r1_refund_answers_201_with_the_refund_and_the_memo(client, issued):
    body = ok(refund(client, issued["id"], "30.00", refunded_at="2026-11-30",
                     reference="Check 1042"), 201)
    assert set(body) == {"refund", "credit_memo"}
    r, m = body["refund"], body["credit_memo"]
    assert set(r) == REFUND_FIELDS
    assert (r["amount"], r["method"], r["refunded_at"], r["reference"], r["voided_at"],
            r["credit_memo_id"]) == ("30.00", "check", "2026-11-30", "Check 1042", None,
                                     issued["id"])
    assert (m["status"], m["applied_amount"], m["refunded_amount"], m["remaining_amount"]) == (
        "partially_applied", "0.00", "30.00", "70.00")
    assert [x["id"] for x in m["refunds"]] == [r["id"]]
    c7(m)
    assert ok(client.get(f"{API}/credit-memos/{issued['id']}")) == m
    listed = ok(client.get(f"{API}/credit-memos"))["data"][0]
    assert listed == m
    entries = ok(client.get(f"{API}/journal-entries", params={"source_type": "refund"}))["data"]
    assert [(e["source_type"], e["source_id"], e["date"],
             [(x["account_code"], x["debit"], x["credit"]) for x in e["lines"]])
            for e in entries] == [("refund", r["id"], "2026-11-30",
                                   [("1100", "30.00", "0.00"), ("1000", "0.00", "30.00")])]


def test_r1_c7_with_applications_and_refunds_and_full_refund_is_applied(client, issued):
    inv = invoice(client, issued["customer_id"], "100.00")
    apply(client, issued["id"], inv["id"], "60.00")
    m = ok(refund(client, issued["id"], "40.00"), 201)["credit_memo"]
    assert (m["status"], m["applied_amount"], m["refunded_amount"], m["remaining_amount"]) == (
        "applied", "60.00", "40.00", "0.00")
    c7(m)


def test_r1_a2_refund_above_the_remaining_is_422_naming_the_cap(client, db, issued):
    inv = invoice(client, issued["customer_id"], "100.00")
    apply(client, issued["id"], inv["id"], "75.00")
    before = snapshot(db)
    body = problem(refund(client, issued["id"], "25.01"), 422, "exceeds_memo_remaining")
    assert "$25.01" in body["detail"] and "$25.00" in body["detail"]
    assert issued["number"] in body["detail"]
    assert snapshot(db) == before


@pytest.mark.parametrize(("field", "change"), [
    ("amount", {"amount": "0"}), ("amount", {"amount": "-5"}), ("amount", {"amount": "1.005"}),
    ("amount", {"amount": "abc"}), ("amount", {"amount": None}),
    ("method", {"method": "paypal"}), ("method", {"method": None}), ("method", {"method": 3}),
    ("refunded_at", {"refunded_at": "2026-13-01"}), ("refunded_at", {"refunded_at": "soon"}),
    ("reference", {"reference": "x" * 201}),
])
def test_r1_m1_m2_bad_input_is_422_naming_the_field(client, db, issued, field, change):
    before = snapshot(db)
    body = {"amount": "10.00", "method": "card", **change}
    r = client.post(f"{API}/credit-memos/{issued['id']}/refunds", json=body)
    problem(r, 422, "validation_error", field, ctx=body)
    assert snapshot(db) == before


def test_r1_method_is_required(client, issued):
    r = client.post(f"{API}/credit-memos/{issued['id']}/refunds", json={"amount": "1.00"})
    problem(r, 422, "validation_error", "method")


def test_r1_only_issued_or_partially_applied_memos_are_refunded(client, db, partner):
    cid = customer(client)
    draft = memo(client, cid, "10.00", issue=False)
    problem(refund(client, draft["id"], "1.00"), 409, "invalid_state")
    used = memo(client, cid, "10.00")
    ok(refund(client, used["id"], "10.00"), 201)
    problem(refund(client, used["id"], "0.01"), 409, "invalid_state")
    now = datetime.now(UTC)
    synced = new_id("cm")
    with db.write() as session:  # a memo synced from Xero, as a sync writes it (Y3)
        session.add(models.CreditMemo(
            id=synced, partner_id=partner.partner_id, customer_id=cid, number="CN-0042",
            currency="USD", reason="other", status="issued", total_minor=5000, applied_minor=0,
            source="xero", external_id="xero-cn-42", issued_at=now, created_at=now,
            updated_at=now))
    problem(refund(client, synced, "1.00"), 409, "read_only")


def test_p4_another_partners_memo_and_refund_are_404(client, other_client, issued):
    problem(refund(other_client, issued["id"]), 404, "not_found")
    r = ok(refund(client, issued["id"]), 201)["refund"]
    problem(other_client.post(f"{API}/credit-memos/{issued['id']}/refunds/{r['id']}/void"),
            404, "not_found")
    problem(client.post(f"{API}/credit-memos/{issued['id']}/refunds/rf_nope/void"),
            404, "not_found")


def test_r2_void_refund_returns_the_credit_and_memo_has_refunds_blocks_void(client, db, issued):
    r = ok(refund(client, issued["id"], "100.00"), 201)["refund"]
    before = snapshot(db)
    body = problem(client.post(f"{API}/credit-memos/{issued['id']}/void",
                               json={"reason": "typo"}), 409, "memo_has_refunds")
    assert "refunds" in body["detail"]
    assert snapshot(db) == before
    done = ok(client.post(f"{API}/credit-memos/{issued['id']}/refunds/{r['id']}/void"))
    assert set(done) == {"refund", "credit_memo"}
    assert done["refund"]["voided_at"] and done["refund"]["voided_by"]
    m = done["credit_memo"]
    assert (m["status"], m["refunded_amount"], m["remaining_amount"], m["applied_at"]) == (
        "issued", "0.00", "100.00", None)
    c7(m)
    problem(client.post(f"{API}/credit-memos/{issued['id']}/refunds/{r['id']}/void"),
            409, "invalid_state")
    entries = ok(client.get(f"{API}/journal-entries", params={"source_id": r["id"]}))["data"]
    assert sorted((e["description"], e["lines"][0]["account_code"]) for e in entries) == [
        (f"Refund of credit memo {issued['number']}", "1100"),
        (f"Refund of credit memo {issued['number']} voided", "1000")]
    voided = ok(client.post(f"{API}/credit-memos/{issued['id']}/void", json={"reason": "typo"}))
    assert (voided["status"], voided["remaining_amount"]) == ("void", "0.00")


def test_p6_refund_preview_changes_nothing_and_equals_the_refund(client, db, issued):
    hidden = previewed(client, db, "POST", f"/credit-memos/{issued['id']}/refunds",
                       json={"amount": "40.00", "method": "cash"})["portal"]
    assert (hidden["credit_visible"], hidden["credit_memo"], hidden["available_credit"]) == (
        False, None, None)  # P3: nothing about credit while it is hidden
    ok(client.put(f"{API}/settings/credit-balance-visibility",
                  json={"show_to_all_customers": True, "exceptions": []}))
    p = previewed(client, db, "POST", f"/credit-memos/{issued['id']}/refunds",
                  json={"amount": "40.00", "method": "cash"})
    assert sorted((li["account_code"], li["debit"], li["credit"])
                  for li in p["journal_lines"]) == [("1000", "0.00", "40.00"),
                                                    ("1100", "40.00", "0.00")]
    assert p["journal_lines"][0]["date"] == date.today().isoformat()
    assert p["inventory"] == [] and p["invoice"] is None
    assert p["portal"]["credit_memo"]["remaining_amount"] == "60.00"
    assert p["portal"]["available_credit"] == [{"currency": "USD", "amount": "60.00"}]
    done = ok(client.post(f"{API}/credit-memos/{issued['id']}/refunds",
                          json={"amount": "40.00", "method": "cash"}), 201)["credit_memo"]
    keep = ("status", "applied_amount", "refunded_amount", "remaining_amount", "total")
    assert {k: p["credit_memo"][k] for k in keep} == {k: done[k] for k in keep}


def test_p6_refund_void_preview_changes_nothing(client, db, issued):
    r = ok(refund(client, issued["id"], "100.00"), 201)["refund"]
    p = previewed(client, db, "POST", f"/credit-memos/{issued['id']}/refunds/{r['id']}/void")
    assert sorted((li["account_code"], li["debit"], li["credit"])
                  for li in p["journal_lines"]) == [("1000", "100.00", "0.00"),
                                                    ("1100", "0.00", "100.00")]
    assert (p["credit_memo"]["status"], p["credit_memo"]["remaining_amount"]) == (
        "issued", "100.00")
    assert ok(client.get(f"{API}/credit-memos/{issued['id']}"))["status"] == "applied"


def test_p6_a_refused_refund_preview_answers_its_real_error(client, db, issued):
    before = everything(db)
    problem(client.post(f"{API}/credit-memos/{issued['id']}/refunds?preview=true",
                        json={"amount": "100.01", "method": "card"}), 422,
            "exceeds_memo_remaining")
    problem(client.post(f"{API}/credit-memos/{issued['id']}/refunds?preview=true",
                        json={"amount": "1.00", "method": "wire"}), 422,
            "validation_error", "method")
    problem(client.post(f"{API}/credit-memos/{issued['id']}/refunds/rf_x/void?preview=true"),
            404, "not_found")
    assert everything(db) == before


def test_e2_idempotency_key_runs_a_refund_once(client, db, issued):
    headers = {"Idempotency-Key": "refund-1"}
    body = {"amount": "10.00", "method": "card"}
    url = f"{API}/credit-memos/{issued['id']}/refunds"
    first = ok(client.post(url, json=body, headers=headers), 201)
    again = ok(client.post(url, json=body, headers=headers), 201)
    assert again == first
    m = ok(client.get(f"{API}/credit-memos/{issued['id']}"))
    assert (len(m["refunds"]), m["refunded_amount"]) == (1, "10.00")
    problem(client.post(url, json={**body, "amount": "11.00"}, headers=headers), 422,
            "idempotency_key_reused")


def test_r3_audit_events_name_the_refund(client, issued):
    r = ok(refund(client, issued["id"], "5.00", reference="R-9"), 201)["refund"]
    ok(client.post(f"{API}/credit-memos/{issued['id']}/refunds/{r['id']}/void"))
    events = ok(client.get(f"{API}/audit-events", params={"entity_id": issued["id"]}))["data"]
    by_action = {e["action"]: e["data"] for e in events}
    assert by_action["credit_memo.refund"]["amount"] == "5.00"
    assert by_action["credit_memo.refund"]["method"] == "check"
    assert by_action["credit_memo.refund_void"]["refund_id"] == r["id"]


def test_e7_openapi_lists_the_refund_routes_and_their_answers(client):
    doc = ok(client.get("/openapi.json"))
    refund_op = doc["paths"]["/api/v1/credit-memos/{memo_id}/refunds"]["post"]
    void_op = doc["paths"]["/api/v1/credit-memos/{memo_id}/refunds/{refund_id}/void"]["post"]
    assert {"201", "200", "404", "409", "422"} <= set(refund_op["responses"])
    assert {"200", "404", "409"} <= set(void_op["responses"])
    body = doc["components"]["schemas"]["RefundIn"]
    assert body["required"] == ["amount", "method"]
    assert body["properties"]["method"]["enum"] == ["card", "bank_transfer", "check", "cash",
                                                    "other"]
    assert "memo_has_refunds" in str(doc["components"]["schemas"])
    sources = [p for p in doc["paths"]["/api/v1/journal-entries"]["get"]["parameters"]
               if p["name"] == "source_type"]
    assert "refund" in str(sources)


def test_r3_credit_summary_answers_refunds_as_the_customer_page_shows_them(client, issued):
    """R3: GET /customers/{id}/credit-summary names the credit refunded per currency (voided
    refunds out of it) and lists every refund, newest first, voided ones with voided_at; its
    S1 fields are unchanged."""
    cid = issued["customer_id"]
    first = ok(refund(client, issued["id"], "30.00", reference="Check 1042"), 201)["refund"]
    second = ok(refund(client, issued["id"], "5.00"), 201)["refund"]
    ok(client.post(f"{API}/credit-memos/{issued['id']}/refunds/{second['id']}/void"))
    other = memo(client, customer(client), "50.00")  # another customer's refund stays out
    ok(refund(client, other["id"], "10.00"), 201)
    s = ok(client.get(f"{API}/customers/{cid}/credit-summary"))
    assert {"customer_id", "balances", "memos"} <= set(s)
    assert s["balances"] == [{"currency": "USD", "available_credit": "70.00"}]
    assert s["refunded"] == [{"currency": "USD", "amount": "30.00"}]
    assert [(r["id"], r["amount"], r["credit_memo_number"], r["method"], r["reference"],
             r["voided_at"] is not None) for r in s["refunds"]] == [
        (second["id"], "5.00", issued["number"], "check", None, True),
        (first["id"], "30.00", issued["number"], "check", "Check 1042", False)]
