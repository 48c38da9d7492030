"""E3: every error code of API.md's table reached over HTTP, as problem+json, changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DataError

from creditdesk.db import models
from creditdesk.services.common.context import new_id
from creditdesk.services.customer_accounts import customers
from tests.api.conftest import (
    API,
    apply,
    customer,
    invoice,
    memo,
    ok,
    problem,
    snapshot,
    world,
)

# The OAuth redirect target is reached by the partner's browser from the provider: its
# one-time ``state`` is the credential, so it answers without an API key (by design).
PUBLIC = {f"{API}/integrations/oauth/callback"}


def _api_routes(client) -> list[tuple[str, str]]:
    out = []
    for path, item in client.app.openapi()["paths"].items():
        if path.startswith(API) and path not in PUBLIC:
            concrete = path.replace("{", "x_").replace("}", "")
            out += [(method.upper(), concrete) for method in item]
    return out


def test_401_unauthenticated_on_every_api_route(client, anon):
    routes = _api_routes(client)
    assert len(routes) >= 25
    for method, path in routes:
        problem(anon.request(method, path, json={}), 401, "unauthenticated")
        r = anon.request(method, path, headers={"Authorization": "Bearer cdk_not-a-real-key"})
        problem(r, 401, "unauthenticated")
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token x",
                                    "cdk_abc", "Bearer cdk_", "Bearer 🔑".encode()])
def test_401_for_malformed_credentials(anon, header):
    problem(anon.get(f"{API}/credit-memos", headers={"Authorization": header}), 401,
            "unauthenticated")


def test_401_comes_before_body_validation(anon, db):
    before = snapshot(db)
    r = anon.post(f"{API}/credit-memos", content=b"{not json",
                  headers={"content-type": "application/json"})
    problem(r, 401, "unauthenticated")
    assert snapshot(db) == before


WRONG_KEY = {"Authorization": "Bearer cdk_not-a-real-key"}


def test_401_for_a_wrong_key_comes_before_everything_the_request_gets_wrong(client, anon, db):
    """The key is looked up in the endpoint's thread (one thread-pool hop); whatever fails
    before the endpoint runs is still answered 401 when the key is wrong."""
    before = snapshot(db)
    for method, path in _api_routes(client):
        r = anon.request(method, path, content=b"{not json",
                         headers={**WRONG_KEY, "content-type": "application/json"})
        problem(r, 401, "unauthenticated", ctx=(method, path))
    problem(anon.post(f"{API}/credit-memos", json={"reason": 7}, headers=WRONG_KEY), 401,
            "unauthenticated")
    problem(anon.get(f"{API}/credit-memos/cm_x%00y", headers=WRONG_KEY), 401, "unauthenticated")
    problem(anon.get(f"{API}/credit-memos", params={"cursor": "a\u0000b"}, headers=WRONG_KEY),
            401, "unauthenticated")
    problem(anon.get(f"{API}/credit-memos", params={"limit": 0}, headers=WRONG_KEY), 401,
            "unauthenticated")
    chunks = (b"x" * 65_536 for _ in range(40))  # 2.5 MB, no Content-Length: read to refuse
    problem(anon.post(f"{API}/customers", content=chunks,
                      headers={**WRONG_KEY, "content-type": "application/json"}), 401,
            "unauthenticated")
    assert snapshot(db) == before
    # The same requests with the right key: the refusals that the key hid.
    problem(client.post(f"{API}/credit-memos", json={"reason": 7}), 422, "validation_error")
    problem(client.get(f"{API}/credit-memos/cm_x%00y"), 404, "not_found")
    problem(client.get(f"{API}/credit-memos", params={"cursor": "a\u0000b"}), 422,
            "validation_error", "cursor")
    problem(client.post(f"{API}/customers", content=(b"x" * 65_536 for _ in range(40)),
                        headers={"content-type": "application/json"}), 413,
            "request_too_large")


def _valid_body(method: str, path: str) -> dict | None:
    """A well-formed body for ``method path``, so that only the unknown id is wrong."""
    if method == "PATCH":
        return {"notes": "x"}
    if method != "POST":
        return None
    if path.endswith("/payments"):
        return {"amount": "1.00"}
    if path.endswith("/merge"):
        return {"customer_id": "cus_missing"}
    if path.endswith("/applications"):
        return {"invoice_id": "inv_missing", "amount": "1.00"}
    if path.endswith("/refunds"):
        return {"amount": "1.00", "method": "card"}
    if path.endswith("/credit-memos"):
        return {"reason": "goodwill"}
    if path.startswith(f"{API}/credit-memos") and path.endswith("/void"):
        return {"reason": "x"}
    return None


def test_404_not_found_for_unknown_ids_on_every_id_route(client, db):
    world(client)
    before = snapshot(db)
    routes = [(m, p) for m, p in _api_routes(client) if "x_" in p]
    assert len(routes) >= 15
    for method, path in routes:
        r = client.request(method, path, json=_valid_body(method, path),
                           params={"invoice_id": "inv_missing"})
        problem(r, 404, "not_found")
    assert snapshot(db) == before


def test_404_for_unknown_path_and_405_for_unknown_method_are_problems(client):
    problem(client.get(f"{API}/no-such-thing"), 404, "not_found")
    body = problem(client.put(f"{API}/credit-memos"), 405, "method_not_allowed")
    assert "PUT" in body["detail"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/credit-memos", {"GET", "POST"}),
    ("OPTIONS", "/credit-memos", {"GET", "POST"}),
    ("POST", "/credit-memos/cm_x", {"GET", "PATCH", "DELETE"}),
    ("PUT", "/credit-memos/cm_x/applications", {"GET", "POST", "DELETE"}),
    ("DELETE", "/settings/credit-balance-visibility", {"GET", "PUT"}),
    ("POST", "/settings/portal-credit-application", {"GET", "PUT"}),
    ("PATCH", "/integrations/int_x", {"GET", "DELETE"}),
])
def test_e7_405_allow_lists_every_method_of_the_path(client, db, method, path, allowed):
    """Starlette named only the first route matching the path ("Allow: POST")."""
    before = snapshot(db)
    r = client.request(method, f"{API}{path}")
    body = problem(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].split(", ")) == allowed, r.headers["allow"]
    assert method in body["detail"]
    assert snapshot(db) == before


def test_e7_405_on_a_page_path_lists_its_methods_too(client):
    r = client.put("/login")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "POST"}


def test_e3_database_refusal_is_a_422_problem_not_a_500(client, db, monkeypatch):
    """The safety net behind validation: a value the database refuses is the client's input."""

    def refuse(*args, **kwargs):
        raise DataError("INSERT ...", {}, ValueError("value out of range"))

    monkeypatch.setattr(customers, "create_customer", refuse)
    before = snapshot(db)
    problem(client.post(f"{API}/customers", json={"name": "x"}), 422, "validation_error")
    assert snapshot(db) == before


def test_409_invalid_state_changes_nothing(client, db):
    cid = customer(client)
    issued = memo(client, cid, "10.00")
    void = memo(client, cid, "10.00")
    ok(client.post(f"{API}/credit-memos/{void['id']}/void", json={"reason": "dup"}))
    before = snapshot(db)
    for r in [
        client.post(f"{API}/credit-memos/{issued['id']}/issue"),  # L2
        client.patch(f"{API}/credit-memos/{issued['id']}", json={"notes": "x"}),  # L1, L6
        client.delete(f"{API}/credit-memos/{issued['id']}"),  # L1
        client.post(f"{API}/credit-memos/{void['id']}/void", json={"reason": "again"}),  # L4
        client.post(f"{API}/credit-memos/{void['id']}/issue"),
        client.patch(f"{API}/credit-memos/{void['id']}", json={"amount": "1"}),
    ]:
        body = problem(r, 409, "invalid_state")
        assert "CM-000" in body["detail"]
    assert snapshot(db) == before


def test_l5_409_memo_has_applications(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    for amount in ("4.00", "10.00"):  # partially applied, then fully applied
        m = memo(client, cid, "10.00")
        apply(client, m["id"], inv["id"], amount)
        before = snapshot(db)
        body = problem(client.post(f"{API}/credit-memos/{m['id']}/void", json={"reason": "x"}),
                       409, "memo_has_applications")
        assert "remove" in body["detail"].lower()
        assert snapshot(db) == before


@pytest.fixture
def synced_memo(client, db, partner) -> dict:
    """A memo synced from Xero, written straight to the table as a sync would (Y3)."""
    cid = customer(client)
    now = datetime.now(UTC)
    memo_id = new_id("cm")
    with db.write() as session:
        session.add(models.CreditMemo(
            id=memo_id, partner_id=partner.partner_id, customer_id=cid, number="CN-0042",
            currency="USD", reason="other", status="issued", total_minor=5000, applied_minor=0,
            source="xero", external_id="xero-cn-42", issued_at=now, created_at=now,
            updated_at=now))
    return {"id": memo_id, "customer": cid}


def test_y3_synced_memo_is_read_only_over_http(client, db, synced_memo):
    mid = synced_memo["id"]
    got = ok(client.get(f"{API}/credit-memos/{mid}"))
    assert (got["source"], got["read_only"], got["external_id"]) == ("xero", True, "xero-cn-42")
    assert got["remaining_amount"] == "50.00"
    inv = invoice(client, synced_memo["customer"], "100.00")
    before = snapshot(db)
    for r in [
        client.patch(f"{API}/credit-memos/{mid}", json={"notes": "x"}),
        client.delete(f"{API}/credit-memos/{mid}"),
        client.post(f"{API}/credit-memos/{mid}/issue"),
        client.post(f"{API}/credit-memos/{mid}/void", json={"reason": "x"}),
        client.post(f"{API}/credit-memos/{mid}/applications",
                    json={"invoice_id": inv["id"], "amount": "1.00"}),
    ]:
        body = problem(r, 409, "read_only")
        assert "Xero" in body["detail"]
    assert snapshot(db) == before


def test_s1_synced_memo_counts_in_credit_summary(client, synced_memo):
    s = ok(client.get(f"{API}/customers/{synced_memo['customer']}/credit-summary"))
    assert s["balances"] == [{"currency": "USD", "available_credit": "50.00"}]
    assert [m["source"] for m in s["memos"]] == ["xero"]
    listed = ok(client.get(f"{API}/credit-memos", params={"source": "xero"}))["data"]
    assert [m["id"] for m in listed] == [synced_memo["id"]]


def test_c5_422_exceeds_invoice_total(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    memo(client, cid, "70.00", issue=False, invoice_id=inv["id"])
    before = snapshot(db)
    body = problem(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "goodwill", "amount": "30.01", "invoice_id": inv["id"]}),
        422, "exceeds_invoice_total")
    assert "30.00" in body["detail"]
    problem(client.post(f"{API}/invoices/{inv['id']}/credit-memos", json={"reason": "other"}),
            422, "exceeds_invoice_total")
    assert snapshot(db) == before
    ok(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "goodwill", "amount": "30.00", "invoice_id": inv["id"]}), 201)


def test_m4_c5_422_currency_mismatch(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    eur = memo(client, cid, "10.00", currency="EUR")
    before = snapshot(db)
    problem(client.post(f"{API}/credit-memos/{eur['id']}/applications",
                        json={"invoice_id": inv["id"], "amount": "1.00"}), 422,
            "currency_mismatch")
    problem(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "goodwill", "amount": "1", "currency": "EUR",
        "invoice_id": inv["id"]}), 422, "currency_mismatch")
    assert snapshot(db) == before


def test_m4_c5_422_customer_mismatch(client, db):
    a, b = customer(client, "A"), customer(client, "B")
    inv_b = invoice(client, b, "100.00")
    m = memo(client, a, "10.00")
    before = snapshot(db)
    problem(client.post(f"{API}/credit-memos/{m['id']}/applications",
                        json={"invoice_id": inv_b["id"], "amount": "1.00"}), 422,
            "customer_mismatch")
    problem(client.post(f"{API}/credit-memos", json={
        "customer_id": a, "reason": "goodwill", "amount": "1", "invoice_id": inv_b["id"]}),
        422, "customer_mismatch")
    assert snapshot(db) == before


def test_a2_422_exceeds_memo_remaining_and_invoice_balance(client, db):
    cid = customer(client)
    small_inv, big_inv = invoice(client, cid, "5.00"), invoice(client, cid, "500.00")
    m = memo(client, cid, "10.00")
    before = snapshot(db)
    problem(client.post(f"{API}/credit-memos/{m['id']}/applications",
                        json={"invoice_id": big_inv["id"], "amount": "10.01"}), 422,
            "exceeds_memo_remaining")
    problem(client.post(f"{API}/credit-memos/{m['id']}/applications",
                        json={"invoice_id": small_inv["id"], "amount": "5.01"}), 422,
            "exceeds_invoice_balance")
    problem(client.post(f"{API}/invoices/{small_inv['id']}/payments", json={"amount": "5.01"}),
            422, "exceeds_invoice_balance")
    assert snapshot(db) == before


def test_e2_422_idempotency_key_reused(client, db):
    cid = customer(client)
    key = {"Idempotency-Key": "create-1"}
    ok(client.post(f"{API}/credit-memos", headers=key,
                   json={"customer_id": cid, "reason": "goodwill", "amount": "1.00"}), 201)
    before = snapshot(db)
    body = problem(client.post(f"{API}/credit-memos", headers=key, json={
        "customer_id": cid, "reason": "goodwill", "amount": "2.00"}), 422,
        "idempotency_key_reused")
    assert "Idempotency-Key" in body["detail"]
    assert snapshot(db) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "goodwill", "amount": "1"}, "customer_id"),
    ({"customer_id": "C", "amount": "1"}, "reason"),
    ({"customer_id": "C", "reason": "refund", "amount": "1"}, "reason"),  # C2
    ({"customer_id": "C", "reason": "goodwill"}, "amount"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "10.001"}, "amount"),  # M1
    ({"customer_id": "C", "reason": "goodwill", "amount": "0"}, "amount"),  # M2
    ({"customer_id": "C", "reason": "goodwill", "amount": "1000000000000"}, "amount"),  # M2
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "currency": "ABC"}, "currency"),
    ({"customer_id": "C", "reason": "goodwill", "amount": "1", "color": "red"}, "color"),
    ({"customer_id": "C", "reason": "goodwill", "lines": [
        {"description": "", "quantity": 0, "unit_price": "-1"}]}, "lines[0].quantity"),
])
def test_422_validation_error_names_the_field(client, db, body, field):
    cid = customer(client)
    body = {k: (cid if v == "C" else v) for k, v in body.items()}
    before = snapshot(db)
    problem(client.post(f"{API}/credit-memos", json=body), 422, "validation_error", field)
    assert snapshot(db) == before


def test_e7_a_sku_already_in_use_is_409_conflict(client, db):
    """A uniqueness rule against stored data, like an email in use: not a malformed request
    (the document allows any SKU), so not 422."""
    variant_body = {"sku": "SKU-9", "name": "Nine", "price": "9.00"}
    ok(client.post(f"{API}/products", json={"name": "P", "variants": [variant_body]}), 201)
    before = snapshot(db)
    r = client.post(f"{API}/products", json={"name": "Q", "variants": [variant_body]})
    body = problem(r, 409, "conflict", "variants.sku")
    assert "SKU-9" in body["detail"]
    assert snapshot(db) == before
