"""The tax endpoints and fields exactly as API.md writes them (T1-T5)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories as f
from tests.api.conftest import API, customer, invoice, memo, ok, problem


def tax_rate(c, name="CA sales tax", rate="7.25", **body) -> dict:
    return ok(c.post(f"{API}/tax-rates", json={"name": name, "rate": rate, **body}
                     if "components" not in body else {"name": name, **body}), 201)


def taxed_invoice(c, cid, rate_id, *, price="100.00", quantity=1, inclusive=None,
                  issue=True) -> dict:
    body = {"customer_id": cid, "lines": [
        {"description": "Seats", "quantity": quantity, "unit_price": price,
         "tax_rate_id": rate_id}]}
    if inclusive is not None:
        body["tax_inclusive"] = inclusive
    inv = ok(c.post(f"{API}/invoices", json=body), 201)
    return ok(c.post(f"{API}/invoices/{inv['id']}/issue")) if issue else inv


def test_t1_create_and_list_tax_rates(client):
    simple = tax_rate(client)
    assert set(simple) == {"id", "name", "rate", "components", "created_at"}
    assert (simple["name"], simple["rate"], simple["components"]) == ("CA sales tax", "7.25", [])
    compound = tax_rate(client, "NYC", components=[{"name": "State", "rate": "4"},
                                                   {"name": "City", "rate": 4.875}])
    assert compound["rate"] == "8.875"
    assert compound["components"] == [{"name": "State", "rate": "4"},
                                      {"name": "City", "rate": "4.875"}]
    listed = ok(client.get(f"{API}/tax-rates"))
    assert listed["next_cursor"] is None
    assert [r["id"] for r in listed["data"]] == [simple["id"], compound["id"]]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "X", "rate": "7.25001"}, "rate"),
    ({"name": "X", "rate": "-1"}, "rate"),
    ({"name": "X", "rate": "101"}, "rate"),
    ({"name": "X", "rate": True}, "rate"),
    ({"name": "", "rate": "1"}, "name"),
    ({"name": "   ", "rate": "1"}, "name"),
    ({"name": "X"}, "rate"),
    ({"name": "X", "rate": "1", "components": [{"name": "a", "rate": "1"}]}, "rate"),
    ({"name": "X", "components": [{"name": "a", "rate": "abc"}]}, "components[0].rate"),
    ({"name": "X", "components": []}, "components"),
])
def test_t1_bad_tax_rates_are_refused_naming_the_field(client, body, field):
    problem(client.post(f"{API}/tax-rates", json=body), 422, "validation_error", ctx=body)
    errors = client.post(f"{API}/tax-rates", json=body).json().get("errors", [])
    assert any(e["field"].endswith(field) or e["field"] == field for e in errors), errors


def test_t1_a_duplicate_name_is_refused_clearly(client):
    tax_rate(client, "VAT", "20")
    body = problem(client.post(f"{API}/tax-rates", json={"name": "vat", "rate": "5"}), 422,
                   "validation_error", "name")
    assert "already exists" in body["detail"]


def test_t1_another_partners_rate_is_422_naming_the_line_field(client, other_client):
    theirs = tax_rate(other_client)
    cid = customer(client)
    r = client.post(f"{API}/invoices", json={"customer_id": cid, "lines": [
        {"description": "A", "quantity": 1, "unit_price": "1.00", "tax_rate_id": theirs["id"]}]})
    problem(r, 422, "validation_error", "lines[0].tax_rate_id")
    assert ok(client.get(f"{API}/tax-rates"))["data"] == []


def test_t2_invoice_and_memo_carry_the_tax_fields(client):
    ca = tax_rate(client)
    cid = customer(client)
    inv = taxed_invoice(client, cid, ca["id"], price="10.00", quantity=3)
    assert inv["tax_inclusive"] is False
    assert (inv["subtotal"], inv["tax_total"], inv["total"]) == ("30.00", "2.18", "32.18")
    assert inv["taxes"] == [{"tax_rate_id": ca["id"], "name": "CA sales tax", "amount": "2.18"}]
    assert inv["lines"][0]["tax_rate_id"] == ca["id"] and inv["lines"][0]["tax"] == "2.18"
    assert ok(client.get(f"{API}/invoices/{inv['id']}"))["taxes"] == inv["taxes"]
    m = ok(client.post(f"{API}/invoices/{inv['id']}/credit-memos",
                       json={"reason": "goodwill"}), 201)
    assert m["lines"][0]["tax_rate_id"] == ca["id"]
    assert m["lines"][0]["invoice_line_id"] == inv["lines"][0]["id"]
    assert (m["subtotal"], m["tax_total"], m["total"]) == ("30.00", "2.18", "32.18")
    assert m["taxes"] == inv["taxes"]
    plain = memo(client, cid, "5.00", issue=False)
    assert (plain["subtotal"], plain["tax_total"], plain["taxes"], plain["tax_inclusive"]) == (
        "5.00", "0.00", [], False)
    assert plain["lines"] == [] or plain["lines"][0]["tax_rate_id"] is None


def test_t2_inclusive_on_create_and_patch(client):
    ca = tax_rate(client)
    cid = customer(client)
    inv = taxed_invoice(client, cid, ca["id"], price="107.25", inclusive=True)
    assert (inv["tax_inclusive"], inv["subtotal"], inv["tax_total"], inv["total"]) == (
        True, "100.00", "7.25", "107.25")
    m = ok(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "goodwill", "tax_inclusive": True,
        "lines": [{"description": "A", "quantity": 1, "unit_price": "10.00",
                   "tax_rate_id": ca["id"]}]}), 201)
    assert (m["subtotal"], m["tax_total"], m["total"]) == ("9.32", "0.68", "10.00")
    m = ok(client.patch(f"{API}/credit-memos/{m['id']}", json={"tax_inclusive": False}))
    assert (m["tax_inclusive"], m["subtotal"], m["tax_total"], m["total"]) == (
        False, "10.00", "0.73", "10.73")
    problem(client.patch(f"{API}/credit-memos/{m['id']}", json={"tax_inclusive": "maybe"}),
            422, "validation_error", "tax_inclusive")


def test_t4_journal_and_tax_report(client):
    ca = tax_rate(client)
    cid = customer(client)
    inv = taxed_invoice(client, cid, ca["id"])
    m = ok(client.post(f"{API}/invoices/{inv['id']}/credit-memos", json={
        "reason": "goodwill", "lines": [{"invoice_line_id": inv["lines"][0]["id"],
                                         "quantity": 1, "unit_price": "40.00"}]}), 201)
    ok(client.post(f"{API}/credit-memos/{m['id']}/issue"))
    entries = ok(client.get(f"{API}/journal-entries", params={"source_id": m["id"]}))["data"]
    lines = sorted((li["account_code"], li["debit"], li["credit"])
                   for e in entries for li in e["lines"])
    assert lines == [("1100", "0.00", "2.90"), ("1100", "0.00", "40.00"),
                     ("2200", "2.90", "0.00"), ("4900", "40.00", "0.00")]
    today = dt.date.today().isoformat()
    report = ok(client.get(f"{API}/reports/tax", params={"from": today, "to": today}))
    assert report == {"from": today, "to": today, "currency": "USD", "rates": [
        {"tax_rate_id": ca["id"], "name": "CA sales tax", "charged": "7.25",
         "credited": "2.90", "net": "4.35"}]}
    problem(client.get(f"{API}/reports/tax", params={"from": today}), 422, "validation_error")
    problem(client.get(f"{API}/reports/tax", params={"from": today, "to": "2000-01-01"}),
            422, "validation_error", "to")
    problem(client.get(f"{API}/reports/tax", params={"from": "253402300800", "to": today}),
            422, "validation_error")


def test_t5_a_synced_invoice_shows_its_systems_tax_in_the_same_shape(client, db, actor):
    """T5: the system's tax is one amount with no rate of ours; a native untaxed invoice
    has none."""
    cid = customer(client)
    synced = f.synced_invoice(db, actor, cid, "110.00", tax="10.00", external_id="130",
                              number="1042")
    inv = ok(client.get(f"{API}/invoices/{synced}"))
    assert (inv["subtotal"], inv["tax_total"], inv["total"]) == ("100.00", "10.00", "110.00")
    assert inv["taxes"] == [{"tax_rate_id": None, "name": "Tax", "amount": "10.00"}]
    assert inv["lines"][0]["tax_rate_id"] is None and inv["lines"][0]["tax"] is None
    native = invoice(client, cid, "10.00")
    assert native["taxes"] == [] and native["tax_total"] == "0.00"


def test_tax_endpoints_are_in_the_openapi_document(anon):
    doc = ok(anon.get("/openapi.json"))
    assert {"post", "get"} <= set(doc["paths"]["/api/v1/tax-rates"])
    assert "get" in doc["paths"]["/api/v1/reports/tax"]
    invoice_in = doc["components"]["schemas"]["InvoiceIn"]["properties"]
    assert "tax_inclusive" in invoice_in


def test_t5_a_synced_memo_shows_its_systems_tax(client, db, actor):
    """A synced memo's tax (read by its connector, T5) answers as one amount, no rate."""
    from creditdesk.db import models
    from creditdesk.services.common.context import clock, new_id

    cid = customer(client)
    now, mid = clock.now(), new_id("cm")
    with db.write() as session:
        session.add(models.CreditMemo(
            id=mid, partner_id=actor.partner_id, customer_id=cid, number="CN-1",
            currency="USD", reason="other", status="issued", total_minor=10725,
            applied_minor=0, tax_minor=725, source="xero", external_id="cn-1",
            issued_at=now, created_at=now, updated_at=now))
    m = ok(client.get(f"{API}/credit-memos/{mid}"))
    assert (m["subtotal"], m["tax_total"], m["total"]) == ("100.00", "7.25", "107.25")
    assert m["taxes"] == [{"tax_rate_id": None, "name": "Tax", "amount": "7.25"}]
