"""Y10 over HTTP: a customer's references, merge and unlink, exactly as API.md words them;
refusals as problem+json; another partner's ids answered as missing ones."""

from __future__ import annotations

from tests.api.conftest import API, customer, invoice, ok, problem, snapshot
from tests.services.test_customer_sources import remote
from tests.sync_helpers import land


def _synced_pair(db, partner) -> tuple[str, str]:
    from creditdesk.services.access import partners
    from tests.sync_helpers import synced_memos

    actor = partners.authenticate_api_key(db, partner.api_key)
    land(db, actor, "quickbooks_online", [remote("q1", "61", total=15000)])
    land(db, actor, "xero", [remote("x1", "g-61", total=5000)])
    return (synced_memos(db, "quickbooks_online")["q1"].customer_id,
            synced_memos(db, "xero")["x1"].customer_id)


def test_y10_references_merge_and_unlink(client, db, partner) -> None:
    qbo, xero = _synced_pair(db, partner)
    (ref,) = ok(client.get(f"{API}/customers/{xero}/references"))
    assert set(ref) == {"id", "system", "external_id", "linked_by", "linked_at"}
    assert (ref["system"], ref["external_id"], ref["linked_by"]) == ("xero", "g-61", "sync")
    inv = invoice(client, xero, "40.00")

    survivor = ok(client.post(f"{API}/customers/{qbo}/merge", json={"customer_id": xero}))
    assert survivor["id"] == qbo and survivor["sources"] == ["quickbooks_online", "xero"]
    assert (survivor["external_source"], survivor["external_id"]) == ("quickbooks_online", "61")
    problem(client.get(f"{API}/customers/{xero}"), 404, "not_found")
    assert ok(client.get(f"{API}/invoices/{inv['id']}"))["customer_id"] == qbo
    summary = ok(client.get(f"{API}/customers/{qbo}/credit-summary"))
    assert summary["balances"] == [{"currency": "USD", "available_credit": "200.00"}]
    refs = ok(client.get(f"{API}/customers/{qbo}/references"))
    assert [(r["system"], r["linked_by"]) for r in refs] == [("quickbooks_online", "sync"),
                                                             ("xero", "admin")]

    r = client.delete(f"{API}/customers/{qbo}/references/{refs[1]['id']}")
    assert r.status_code == 204 and r.content == b""
    assert [x["system"] for x in ok(client.get(f"{API}/customers/{qbo}/references"))] == [
        "quickbooks_online"]
    summary = ok(client.get(f"{API}/customers/{qbo}/credit-summary"))
    assert summary["balances"] == [{"currency": "USD", "available_credit": "150.00"}]
    found = ok(client.get(f"{API}/customers", params={"q": "Customer 61"}))["data"]
    assert sorted(c["sources"] for c in found) == [["quickbooks_online"], ["xero"]]


def test_y10_refusals_are_problems(client, other_client, db, partner) -> None:
    qbo, xero = _synced_pair(db, partner)
    cad = customer(client, "Canadian", currency="CAD")
    theirs = customer(other_client, "Theirs")
    before = snapshot(db)
    problem(client.post(f"{API}/customers/{qbo}/merge", json={"customer_id": qbo}),
            422, "validation_error", "customer_id")
    problem(client.post(f"{API}/customers/{qbo}/merge", json={"customer_id": cad}),
            422, "currency_mismatch")
    problem(client.post(f"{API}/customers/{qbo}/merge", json={"customer_id": "cus_nope"}),
            404, "not_found")
    problem(client.post(f"{API}/customers/{qbo}/merge", json={}), 422, "validation_error",
            "customer_id")
    (ref,) = ok(client.get(f"{API}/customers/{xero}/references"))
    problem(client.delete(f"{API}/customers/{qbo}/references/{ref['id']}"), 404, "not_found")
    # another partner: every id of this one is a missing one
    problem(other_client.get(f"{API}/customers/{xero}/references"), 404, "not_found")
    problem(other_client.post(f"{API}/customers/{theirs}/merge", json={"customer_id": xero}),
            404, "not_found")
    problem(other_client.post(f"{API}/customers/{xero}/merge", json={"customer_id": xero}),
            404, "not_found")
    problem(other_client.delete(f"{API}/customers/{xero}/references/{ref['id']}"),
            404, "not_found")
    assert snapshot(db) == before
