"""Invoice endpoints against API.md: create, issue, void, payments, credits applied."""

from __future__ import annotations

from tests.api.conftest import API, apply, customer, invoice, memo, ok, problem, variant

INVOICE_FIELDS = {
    "id", "number", "customer_id", "currency", "status", "lines", "total", "amount_paid",
    "credit_applied", "balance_due", "payments", "credits_applied",
}


def test_i2_create_invoice_returns_201_draft(client):
    cid = customer(client)
    inv = ok(client.post(f"{API}/invoices", json={
        "customer_id": cid, "issue_date": "2024-01-10", "due_date": "2024-02-10", "lines": [
            {"description": "Support", "quantity": 3, "unit_price": "33.33"}]}), 201)
    assert set(inv) >= INVOICE_FIELDS
    assert (inv["number"], inv["status"], inv["customer_id"]) == ("INV-0001", "draft", cid)
    assert (inv["total"], inv["amount_paid"], inv["credit_applied"], inv["balance_due"]) == (
        "99.99", "0.00", "0.00", "99.99")
    assert inv["payments"] == [] and inv["credits_applied"] == []
    assert (inv["issue_date"], inv["due_date"]) == ("2024-01-10", "2024-02-10")
    line = inv["lines"][0]
    assert (line["description"], line["quantity"], line["unit_price"], line["amount"]) == (
        "Support", 3, "33.33", "99.99")
    assert ok(client.get(f"{API}/invoices/{inv['id']}")) == inv


def test_i2_invoice_currency_defaults_to_customer_and_formats_minor_digits(client):
    yen = customer(client, "Nippon", "JPY")
    inv = ok(client.post(f"{API}/invoices", json={"customer_id": yen, "lines": [
        {"description": "x", "quantity": 2, "unit_price": 150}]}), 201)
    assert inv["currency"] == "JPY" and inv["total"] == "300" and inv["balance_due"] == "300"
    kwd = customer(client, "Kuwait", "KWD")
    inv = ok(client.post(f"{API}/invoices", json={"customer_id": kwd, "lines": [
        {"description": "x", "quantity": 1, "unit_price": "1.5"}]}), 201)
    assert inv["total"] == "1.500"


def test_i3_issue_posts_ar_and_takes_stock(client):
    cid = customer(client)
    var = variant(client, stock=10)
    inv = invoice(client, cid, "25.00", issue=False, variant_id=var["id"], quantity=3)
    issued = ok(client.post(f"{API}/invoices/{inv['id']}/issue"))
    assert issued["status"] == "open" and issued["issue_date"]
    assert ok(client.get(f"{API}/variants/{var['id']}"))["stock_on_hand"] == 7
    je = ok(client.get(f"{API}/journal-entries", params={"source_id": inv["id"]}))["data"]
    assert [(li["account_code"], li["debit"], li["credit"]) for li in je[0]["lines"]] == [
        ("1100", "75.00", "0.00"), ("4000", "0.00", "75.00")]
    problem(client.post(f"{API}/invoices/{inv['id']}/issue"), 409, "invalid_state")


def test_i4_payment_returns_201_invoice(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    paid = ok(client.post(f"{API}/invoices/{inv['id']}/payments", json={
        "amount": "40.00", "paid_at": "2024-05-01T12:00:00Z"}), 201)
    assert (paid["status"], paid["amount_paid"], paid["balance_due"]) == (
        "partially_paid", "40.00", "60.00")
    assert paid["payments"][0]["amount"] == "40.00"
    assert paid["payments"][0]["paid_at"].startswith("2024-05-01T12:00:00")
    done = ok(client.post(f"{API}/invoices/{inv['id']}/payments", json={"amount": 60}), 201)
    assert done["status"] == "paid" and done["balance_due"] == "0.00"


def test_i4_payment_timestamp_without_offset_is_utc(client):
    inv = invoice(client, customer(client), "100.00")
    paid = ok(client.post(f"{API}/invoices/{inv['id']}/payments", json={
        "amount": "1.00", "paid_at": "2024-05-01T12:00:00"}), 201)
    assert paid["payments"][0]["paid_at"] in ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00")
    paid = ok(client.post(f"{API}/invoices/{inv['id']}/payments", json={
        "amount": "1.00", "paid_at": "2024-05-01T12:00:00+02:00"}), 201)
    assert paid["payments"][1]["paid_at"].startswith("2024-05-01T10:00:00")


def test_i4_payment_above_balance_is_refused(client):
    inv = invoice(client, customer(client), "100.00")
    body = problem(client.post(f"{API}/invoices/{inv['id']}/payments", json={"amount": "100.01"}),
                   422, "exceeds_invoice_balance")
    assert "100.00" in body["detail"]
    assert ok(client.get(f"{API}/invoices/{inv['id']}"))["amount_paid"] == "0.00"


def test_payment_on_draft_invoice_is_invalid_state(client):
    inv = invoice(client, customer(client), "100.00", issue=False)
    problem(client.post(f"{API}/invoices/{inv['id']}/payments", json={"amount": "1"}), 409,
            "invalid_state")


def test_void_invoice_returns_invoice_and_reverses(client):
    cid = customer(client)
    var = variant(client, stock=5)
    inv = invoice(client, cid, "10.00", variant_id=var["id"], quantity=2)
    v = ok(client.post(f"{API}/invoices/{inv['id']}/void"))
    assert v["status"] == "void"
    assert ok(client.get(f"{API}/variants/{var['id']}"))["stock_on_hand"] == 5
    tb = ok(client.get(f"{API}/reports/trial-balance"))
    assert tb["total_debit"] == tb["total_credit"]
    problem(client.post(f"{API}/invoices/{inv['id']}/void"), 409, "invalid_state")


def test_void_invoice_with_credit_is_refused(client):
    cid = customer(client)
    inv = invoice(client, cid, "10.00")
    m = memo(client, cid, "5.00")
    apply(client, m["id"], inv["id"], "5.00")
    problem(client.post(f"{API}/invoices/{inv['id']}/void"), 409, "invalid_state")


def test_a5_credits_applied_shown_on_invoice(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "30.00")
    apply(client, m["id"], inv["id"], "25.00")
    got = ok(client.get(f"{API}/invoices/{inv['id']}"))
    assert got["credit_applied"] == "25.00" and got["balance_due"] == "75.00"
    [credit] = got["credits_applied"]
    assert set(credit) == {"credit_memo_id", "credit_memo_number", "amount", "applied_at"}
    assert (credit["credit_memo_id"], credit["credit_memo_number"], credit["amount"]) == (
        m["id"], m["number"], "25.00")


def test_u1_delete_invoice_credit_returns_invoice_and_memo(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "30.00")
    apply(client, m["id"], inv["id"], "10.00")
    apply(client, m["id"], inv["id"], "20.00")
    out = ok(client.delete(f"{API}/invoices/{inv['id']}/credits/{m['id']}"))
    assert set(out) == {"invoice", "credit_memo"}
    assert out["invoice"]["status"] == "open" and out["invoice"]["balance_due"] == "100.00"
    assert out["invoice"]["credits_applied"] == []
    assert out["credit_memo"]["status"] == "issued"  # U2
    assert out["credit_memo"]["remaining_amount"] == "30.00"
    problem(client.delete(f"{API}/invoices/{inv['id']}/credits/{m['id']}"), 404, "not_found")


def test_invoice_list_filters_and_paging(client):
    a, b = customer(client, "A"), customer(client, "B")
    draft = invoice(client, a, "1.00", issue=False)
    open_ = invoice(client, a, "2.00")
    other = invoice(client, b, "3.00")

    def ids(**params):
        return [i["id"] for i in ok(client.get(f"{API}/invoices", params=params))["data"]]

    assert ids() == [other["id"], open_["id"], draft["id"]]
    assert ids(customer_id=a) == [open_["id"], draft["id"]]
    assert ids(status="draft") == [draft["id"]]
    assert ids(status=["open", "draft"], customer_id=a) == [open_["id"], draft["id"]]
    assert ids(q=open_["number"]) == [open_["id"]]
    page = ok(client.get(f"{API}/invoices", params={"limit": 2}))
    assert set(page) == {"data", "next_cursor"} and len(page["data"]) == 2
    rest = ok(client.get(f"{API}/invoices", params={"cursor": page["next_cursor"]}))
    assert [i["id"] for i in rest["data"]] == [draft["id"]] and rest["next_cursor"] is None
    assert all(set(i) >= INVOICE_FIELDS for i in page["data"])
    problem(client.get(f"{API}/invoices", params={"status": "paidish"}), 422,
            "validation_error", "status")
