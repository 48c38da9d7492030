"""Y9 over HTTP: synced invoices in the invoice object (source, external_id, read_only,
subtotal and tax), ``GET /invoices?source=``, and every change to a synced invoice refused
with 409 ``read_only`` naming its system, nothing changed (Y3)."""

from __future__ import annotations

import pytest

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from tests import factories as f
from tests.api.conftest import API, customer, invoice, ok, problem, snapshot

SYNCED_FIELDS = {"source", "external_id", "read_only", "subtotal", "tax_total"}


@pytest.fixture
def synced(db: Database, actor: Actor, client) -> dict[str, str]:
    """A native open invoice of $100 and a QuickBooks Online invoice of $110 (tax $10,
    $50 still due there), both Globex's."""
    cid = customer(client)
    native = invoice(client, cid, "100.00")["id"]
    qbo = f.synced_invoice(db, actor, cid, "110.00", balance="50.00", tax="10.00",
                           external_id="130", number="1042",
                           lines=[("Backup seats", "1.5", "60.00"), ("Setup", "1", "40.00"),
                                  ("Shipping", None, "10.00")])
    return {"customer": cid, "native": native, "synced": qbo}


def test_y9_synced_invoice_object_shows_the_systems_figures(client, synced) -> None:
    inv = ok(client.get(f"{API}/invoices/{synced['synced']}"))
    assert (inv["source"], inv["external_id"], inv["read_only"]) == (
        "quickbooks_online", "130", True)
    assert (inv["number"], inv["status"], inv["total"], inv["subtotal"], inv["tax_total"]) == (
        "1042", "partially_paid", "110.00", "100.00", "10.00")
    # the balance due is the system's: total - what it settled (paid_minor)
    assert (inv["balance_due"], inv["amount_paid"], inv["credit_applied"]) == (
        "50.00", "60.00", "0.00")
    # lines as the system reports them: its quantity text, no unit price it did not give
    assert [(li["description"], li["quantity"], li["unit_price"], li["amount"],
             li["variant_id"]) for li in inv["lines"]] == [
        ("Backup seats", "1.5", None, "60.00", None), ("Setup", 1, None, "40.00", None),
        ("Shipping", None, None, "10.00", None)]
    listed = ok(client.get(f"{API}/invoices", params={"source": "quickbooks_online"}))["data"]
    assert listed == [inv]


def test_y9_native_invoice_object_has_source_and_no_tax_yet(client, synced) -> None:
    inv = ok(client.get(f"{API}/invoices/{synced['native']}"))
    assert set(inv) >= SYNCED_FIELDS
    assert (inv["source"], inv["external_id"], inv["read_only"]) == ("native", None, False)
    assert (inv["subtotal"], inv["tax_total"], inv["total"]) == ("100.00", "0.00", "100.00")
    created = ok(client.post(f"{API}/invoices", json={
        "customer_id": synced["customer"],
        "lines": [{"description": "x", "quantity": 2, "unit_price": "5.00"}]}), 201)
    assert (created["source"], created["read_only"], created["subtotal"],
            created["tax_total"]) == ("native", False, "10.00", "0.00")


def test_y9_invoice_list_filters_by_source_like_memos(client, synced) -> None:
    def ids(**params: str) -> set[str]:
        return {i["id"] for i in ok(client.get(f"{API}/invoices", params=params))["data"]}

    assert ids() == {synced["native"], synced["synced"]}
    assert ids(source="native") == {synced["native"]}
    assert ids(source="quickbooks_online") == {synced["synced"]}
    assert ids(source="xero") == set()
    # with the other filters
    assert ids(source="quickbooks_online", status="partially_paid",
               customer_id=synced["customer"]) == {synced["synced"]}
    assert ids(source="quickbooks_online", status="open") == set()
    # an unknown source: the same refusal as the memo list's
    bad = problem(client.get(f"{API}/invoices", params={"source": "sage"}), 422,
                  "validation_error", "source")
    memo_bad = problem(client.get(f"{API}/credit-memos", params={"source": "sage"}), 422,
                       "validation_error", "source")
    assert bad["errors"] == memo_bad["errors"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/invoices/{id}/issue", None),
    ("post", "/invoices/{id}/void", None),
    ("post", "/invoices/{id}/payments", {"amount": "10.00"}),
    ("post", "/invoices/{id}/credit-memos", {"reason": "goodwill"}),
    ("post", "/invoices/{id}/credit-memos", {"reason": "goodwill", "amount": "5.00"}),
])
def test_y3_changes_to_a_synced_invoice_are_read_only(
        client, db, synced, method, path, body) -> None:
    before = snapshot(db)
    url = API + path.replace("{id}", synced["synced"])
    r = client.request(method.upper(), url, json=body)
    p = problem(r, 409, "read_only", ctx=path)
    assert p["detail"] == ("Invoice 1042 is managed in QuickBooks Online; change it there.")
    assert snapshot(db) == before


def test_y3_a_memo_linked_to_a_synced_invoice_is_refused(client, db, synced) -> None:
    before = snapshot(db)
    r = client.post(f"{API}/credit-memos", json={
        "customer_id": synced["customer"], "reason": "goodwill", "amount": "5.00",
        "invoice_id": synced["synced"]})
    assert "QuickBooks Online" in problem(r, 409, "read_only")["detail"]
    assert snapshot(db) == before
    # a draft can't be re-linked to it either
    draft = ok(client.post(f"{API}/credit-memos", json={
        "customer_id": synced["customer"], "reason": "goodwill", "amount": "5.00"}), 201)
    problem(client.patch(f"{API}/credit-memos/{draft['id']}",
                         json={"invoice_id": synced["synced"]}), 409, "read_only")


def test_y3_native_invoice_still_takes_payments_and_void(client, synced) -> None:
    inv = ok(client.post(f"{API}/invoices/{synced['native']}/payments",
                         json={"amount": "10.00"}), 201)
    assert inv["balance_due"] == "90.00" and inv["read_only"] is False


def test_y9_synced_invoices_are_partner_scoped(other_client, synced) -> None:
    problem(other_client.get(f"{API}/invoices/{synced['synced']}"), 404, "not_found")
    assert ok(other_client.get(f"{API}/invoices",
                               params={"source": "quickbooks_online"}))["data"] == []
    problem(other_client.post(f"{API}/invoices/{synced['synced']}/void"), 404, "not_found")
