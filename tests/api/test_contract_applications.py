"""Applying and removing credit over HTTP (A1-A5, U1-U3, L3, C7)."""

from __future__ import annotations

import re

from tests.api.conftest import API, apply, customer, invoice, memo, ok, problem


def test_a1_apply_returns_201_with_application_memo_and_invoice(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    out = apply(client, m["id"], inv["id"], "25.50")
    assert set(out) == {"application", "credit_memo", "invoice"}
    a = out["application"]
    assert set(a) == {"id", "credit_memo_id", "invoice_id", "amount", "applied_at", "applied_by",
                      "status", "origin", "write_back"}  # API.md's later fields (Y11)
    assert (a["credit_memo_id"], a["invoice_id"], a["amount"]) == (m["id"], inv["id"], "25.50")
    assert (a["status"], a["origin"], a["write_back"]) == ("applied", "user", None)
    assert a["applied_by"] and re.match(r"^\d{4}-\d\d-\d\dT", a["applied_at"])  # A3
    cm, i = out["credit_memo"], out["invoice"]
    assert (cm["status"], cm["applied_amount"], cm["remaining_amount"]) == (
        "partially_applied", "25.50", "34.50")  # L3
    assert (i["status"], i["credit_applied"], i["balance_due"]) == (
        "partially_paid", "25.50", "74.50")  # I5


def test_l3_full_application_marks_memo_applied(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    apply(client, m["id"], inv["id"], "10")
    out = apply(client, m["id"], inv["id"], 50)
    cm = out["credit_memo"]
    assert cm["status"] == "applied" and cm["remaining_amount"] == "0.00" and cm["applied_at"]
    assert cm["applied_amount"] == "60.00"  # C7: applied + remaining = total


def test_a1_apply_exact_float_json_number(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    r = client.post(f"{API}/credit-memos/{m['id']}/applications", headers={
        "content-type": "application/json"},
        content=b'{"invoice_id": "%s", "amount": 0.29}' % inv["id"].encode())
    assert ok(r, 201)["application"]["amount"] == "0.29"


def test_a3_list_applications(client):
    cid = customer(client)
    inv1, inv2 = invoice(client, cid, "100.00"), invoice(client, cid, "50.00")
    m = memo(client, cid, "60.00")
    first = apply(client, m["id"], inv1["id"], "10.00")["application"]
    second = apply(client, m["id"], inv2["id"], "5.00")["application"]
    page = ok(client.get(f"{API}/credit-memos/{m['id']}/applications"))
    assert page["data"] == [first, second]
    assert "next_cursor" in page


def test_u1_delete_applications_by_invoice_returns_memo_and_invoice(client):
    cid = customer(client)
    inv1, inv2 = invoice(client, cid, "100.00"), invoice(client, cid, "50.00")
    m = memo(client, cid, "60.00")
    apply(client, m["id"], inv1["id"], "10.00")
    apply(client, m["id"], inv2["id"], "50.00")
    out = ok(client.delete(f"{API}/credit-memos/{m['id']}/applications",
                           params={"invoice_id": inv2["id"]}))
    assert set(out) == {"credit_memo", "invoice"}
    assert out["credit_memo"]["status"] == "partially_applied"  # U2
    assert out["credit_memo"]["remaining_amount"] == "50.00"
    assert out["credit_memo"]["applied_at"] is None
    assert out["invoice"]["status"] == "open" and out["invoice"]["balance_due"] == "50.00"  # U3
    left = ok(client.get(f"{API}/credit-memos/{m['id']}/applications"))["data"]
    assert [a["invoice_id"] for a in left] == [inv1["id"]]


def test_u1_delete_application_to_unrelated_invoice_is_404(client):
    cid = customer(client)
    inv1, inv2 = invoice(client, cid, "100.00"), invoice(client, cid, "50.00")
    m = memo(client, cid, "60.00")
    apply(client, m["id"], inv1["id"], "10.00")
    problem(client.delete(f"{API}/credit-memos/{m['id']}/applications",
                          params={"invoice_id": inv2["id"]}), 404, "not_found")
    problem(client.delete(f"{API}/credit-memos/{m['id']}/applications",
                          params={"invoice_id": "inv_nope"}), 404, "not_found")
    problem(client.delete(f"{API}/credit-memos/{m['id']}/applications"), 422,
            "validation_error", "invoice_id")


def test_u3_remove_posts_no_journal_entry(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    before = ok(client.get(f"{API}/journal-entries"))["data"]
    apply(client, m["id"], inv["id"], "60.00")
    ok(client.delete(f"{API}/credit-memos/{m['id']}/applications",
                     params={"invoice_id": inv["id"]}))
    assert ok(client.get(f"{API}/journal-entries"))["data"] == before  # A4, U3


def test_a2_over_application_names_both_figures_and_changes_nothing(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "20.00")
    m = memo(client, cid, "60.00")
    body = problem(client.post(f"{API}/credit-memos/{m['id']}/applications",
                               json={"invoice_id": inv["id"], "amount": "20.01"}),
                   422, "exceeds_invoice_balance")
    assert "20.00" in body["detail"] and "60.00" in body["detail"]
    body = problem(client.post(f"{API}/credit-memos/{m['id']}/applications",
                               json={"invoice_id": invoice(client, cid, "500.00")["id"],
                                     "amount": "60.01"}),
                   422, "exceeds_memo_remaining")
    assert "60.00" in body["detail"]
    assert ok(client.get(f"{API}/credit-memos/{m['id']}/applications"))["data"] == []
    assert ok(client.get(f"{API}/credit-memos/{m['id']}"))["status"] == "issued"


def test_a1_apply_to_draft_or_paid_invoice_is_invalid_state(client):
    cid = customer(client)
    m = memo(client, cid, "60.00")
    draft = invoice(client, cid, "20.00", issue=False)
    problem(client.post(f"{API}/credit-memos/{m['id']}/applications",
                        json={"invoice_id": draft["id"], "amount": "1"}), 409, "invalid_state")
    paid = invoice(client, cid, "20.00")
    ok(client.post(f"{API}/invoices/{paid['id']}/payments", json={"amount": "20"}), 201)
    problem(client.post(f"{API}/credit-memos/{m['id']}/applications",
                        json={"invoice_id": paid["id"], "amount": "1"}), 409, "invalid_state")


def test_a1_apply_from_draft_or_void_memo_is_invalid_state(client):
    cid = customer(client)
    inv = invoice(client, cid, "20.00")
    draft = memo(client, cid, "5.00", issue=False)
    problem(client.post(f"{API}/credit-memos/{draft['id']}/applications",
                        json={"invoice_id": inv["id"], "amount": "1"}), 409, "invalid_state")
    void = memo(client, cid, "5.00")
    ok(client.post(f"{API}/credit-memos/{void['id']}/void", json={"reason": "x"}))
    problem(client.post(f"{API}/credit-memos/{void['id']}/applications",
                        json={"invoice_id": inv["id"], "amount": "1"}), 409, "invalid_state")
