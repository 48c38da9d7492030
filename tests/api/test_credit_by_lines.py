"""POST /invoices/{id}/credit-memos by lines and quantities (C5, C6): the body of API.md
keeps working, ``lines: [{"invoice_line_id", "quantity"}]`` picks lines, memo lines carry
``invoice_line_id``, and over-crediting a line is a 422 that names the line."""

from __future__ import annotations

from tests.api.conftest import API, customer, ok, problem


def _invoice(client, cid):
    inv = ok(client.post(f"{API}/invoices", json={"customer_id": cid, "lines": [
        {"description": "Firewall appliance", "quantity": 2, "unit_price": "1000.00"},
        {"description": "Installation hours", "quantity": 3, "unit_price": "130.00"}]}), 201)
    inv = ok(client.post(f"{API}/invoices/{inv['id']}/issue"))
    return inv["id"], [li["id"] for li in inv["lines"]]


def test_c6_the_plain_body_prefills_every_line_with_its_invoice_line(client):
    inv, (l1, l2) = _invoice(client, customer(client))
    m = ok(client.post(f"{API}/invoices/{inv}/credit-memos", json={"reason": "returned_goods"}),
           201)
    assert [(li["invoice_line_id"], li["quantity"]) for li in m["lines"]] == [(l1, 2), (l2, 3)]
    assert m["total"] == "2390.00"
    assert ok(client.get(f"{API}/credit-memos/{m['id']}")) == m


def test_c6_a_second_partial_memo_and_over_credit_refused_per_line(client):
    inv, (l1, l2) = _invoice(client, customer(client))
    first = ok(client.post(f"{API}/invoices/{inv}/credit-memos", json={
        "reason": "returned_goods", "lines": [{"invoice_line_id": l1, "quantity": 1}]}), 201)
    assert first["total"] == "1000.00"
    assert first["lines"][0]["description"] == "Firewall appliance"
    ok(client.post(f"{API}/credit-memos/{first['id']}/issue"))
    second = ok(client.post(f"{API}/invoices/{inv}/credit-memos", json={
        "reason": "service_issue", "lines": [{"invoice_line_id": l2, "quantity": 2}]}), 201)
    assert second["lines"][0]["invoice_line_id"] == l2 and second["total"] == "260.00"
    body = problem(client.post(f"{API}/invoices/{inv}/credit-memos", json={
        "reason": "other", "lines": [{"invoice_line_id": l1, "quantity": 2},
                                     {"invoice_line_id": l2, "quantity": 2}]}),
        422, "exceeds_invoice_total", "lines[1].quantity")
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["lines[0].quantity"].startswith("Line 1: only 1 can still be credited")
    assert messages["lines[1].quantity"].startswith("Line 2: only 1 can still be credited")
    assert f"2 on draft {second['number']}" in messages["lines[1].quantity"]


def test_c6_patch_keeps_and_changes_invoice_lines(client):
    inv, (l1, _l2) = _invoice(client, customer(client))
    m = ok(client.post(f"{API}/invoices/{inv}/credit-memos", json={
        "reason": "other", "lines": [{"invoice_line_id": l1, "quantity": 1}]}), 201)
    m = ok(client.patch(f"{API}/credit-memos/{m['id']}", json={"notes": "call"}))
    assert m["lines"][0]["invoice_line_id"] == l1
    m = ok(client.patch(f"{API}/credit-memos/{m['id']}", json={
        "lines": [{"invoice_line_id": l1, "quantity": 2}]}))
    assert m["total"] == "2000.00"
    problem(client.patch(f"{API}/credit-memos/{m['id']}", json={
        "lines": [{"invoice_line_id": l1, "quantity": 3}]}), 422, "exceeds_invoice_total",
        "lines[0].quantity")


def test_c6_bad_line_selections_are_422(client):
    cid = customer(client)
    inv, (l1, _l2) = _invoice(client, cid)
    _other, (o1, _o2) = _invoice(client, cid)
    problem(client.post(f"{API}/invoices/{inv}/credit-memos", json={
        "reason": "other", "lines": [{"invoice_line_id": o1, "quantity": 1}]}),
        422, "validation_error", "lines[0].invoice_line_id")
    problem(client.post(f"{API}/invoices/{inv}/credit-memos", json={
        "reason": "other", "lines": [{"invoice_line_id": l1, "quantity": 0}]}),
        422, "validation_error")
    problem(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "other", "lines": [{"quantity": 1}]}),
        422, "validation_error", "lines[0].description")
