"""P4 over HTTP: a partner never sees or touches another partner's data; another partner's
id is answered exactly like a missing one."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, customer, invoice, memo, ok, problem, snapshot, world

LISTS = ["/customers", "/invoices", "/credit-memos", "/journal-entries", "/inventory-activities",
         "/audit-events"]


def _requests(ids: dict[str, str]) -> list[tuple[str, str, dict | None, dict | None]]:
    """Every request naming one of ``ids`` in its path, query or body."""
    c, i, m, d, v = ids["customer"], ids["invoice"], ids["memo"], ids["draft"], ids["variant"]
    return [
        ("GET", f"/customers/{c}", None, None),
        ("GET", f"/customers/{c}/credit-summary", None, None),
        ("GET", f"/variants/{v}", None, None),
        ("GET", f"/invoices/{i}", None, None),
        ("POST", f"/invoices/{i}/issue", None, None),
        ("POST", f"/invoices/{i}/void", None, None),
        ("POST", f"/invoices/{i}/payments", {"amount": "1.00"}, None),
        ("POST", f"/invoices/{i}/credit-memos", {"reason": "goodwill", "amount": "1.00"}, None),
        ("DELETE", f"/invoices/{i}/credits/{m}", None, None),
        ("GET", f"/credit-memos/{m}", None, None),
        ("PATCH", f"/credit-memos/{d}", {"notes": "mine now"}, None),
        ("DELETE", f"/credit-memos/{d}", None, None),
        ("POST", f"/credit-memos/{d}/issue", None, None),
        ("POST", f"/credit-memos/{m}/void", {"reason": "x"}, None),
        ("GET", f"/credit-memos/{m}/applications", None, None),
        ("DELETE", f"/credit-memos/{m}/applications", None, {"invoice_id": i}),
        ("POST", "/credit-memos", {"customer_id": c, "reason": "goodwill", "amount": "1"}, None),
        ("POST", "/invoices", {"customer_id": c, "lines": [
            {"description": "x", "quantity": 1, "unit_price": "1"}]}, None),
    ]


def _same_problem(a, b, real_id: str, missing_id: str) -> None:
    """Two answers are the same once the id each one names is set aside."""
    assert (a.status_code, a.headers["content-type"]) == (b.status_code, b.headers["content-type"])
    ja, jb = a.json(), b.json()
    ja["detail"] = ja["detail"].replace(real_id, "<id>")
    jb["detail"] = jb["detail"].replace(missing_id, "<id>")
    assert ja == jb


def test_p4_other_partner_gets_404_for_every_resource(client, other_client, db):
    ids = world(client)
    before = snapshot(db)
    for method, path, body, params in _requests(ids):
        r = other_client.request(method, f"{API}{path}", json=body, params=params)
        problem(r, 404, "not_found", ctx=(method, path))
    assert snapshot(db) == before


@pytest.mark.parametrize("kind", ["customer", "invoice", "memo", "draft", "variant"])
def test_p4_other_partners_id_is_answered_exactly_like_a_missing_one(client, other_client, kind):
    ids = world(client)
    real = ids[kind]
    missing = real[:-6] + "zzzzzz"  # same shape, names nothing
    ids_missing = dict(ids, **{kind: missing})
    for (method, path, body, params), (_, path2, body2, params2) in zip(
            _requests(ids), _requests(ids_missing), strict=True):
        if real not in f"{path}{body}{params}":
            continue
        a = other_client.request(method, f"{API}{path}", json=body, params=params)
        b = other_client.request(method, f"{API}{path2}", json=body2, params=params2)
        assert a.status_code == 404, (method, path, a.text)
        _same_problem(a, b, real, missing)


def test_p4_apply_across_partners_is_404_both_ways(client, other_client, db):
    cid = customer(client)
    my_inv = invoice(client, cid, "100.00")
    my_memo = memo(client, cid, "10.00")
    ocid = customer(other_client)
    their_inv = invoice(other_client, ocid, "100.00")
    their_memo = memo(other_client, ocid, "10.00")
    before = snapshot(db)
    problem(client.post(f"{API}/credit-memos/{my_memo['id']}/applications",
                        json={"invoice_id": their_inv["id"], "amount": "1"}), 404, "not_found")
    problem(other_client.post(f"{API}/credit-memos/{their_memo['id']}/applications",
                              json={"invoice_id": my_inv["id"], "amount": "1"}), 404, "not_found")
    problem(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "goodwill", "amount": "1", "invoice_id": their_inv["id"]}),
        404, "not_found")
    assert snapshot(db) == before


def test_p4_other_partners_variant_is_refused_like_a_missing_one(client, other_client, db):
    ids = world(client)
    ocid = customer(other_client)
    before = snapshot(db)
    for variant_id in (ids["variant"], "var_missing"):
        line = {"description": "x", "quantity": 1, "unit_price": "1", "variant_id": variant_id}
        body = problem(other_client.post(f"{API}/invoices", json={
            "customer_id": ocid, "lines": [line]}), 422, "validation_error", "lines[0].variant_id")
        assert variant_id in body["detail"]
    assert snapshot(db) == before


def test_p4_lists_never_show_the_other_partners_data(client, other_client):
    ids = world(client)
    theirs = customer(other_client, "Their customer")
    for path in LISTS:
        mine = ok(client.get(f"{API}{path}", params={"limit": 200}))["data"]
        seen = ok(other_client.get(f"{API}{path}", params={"limit": 200}))["data"]
        assert mine, path
        assert not {r["id"] for r in mine} & {r["id"] for r in seen}, path
    assert [c["id"] for c in ok(other_client.get(f"{API}/customers"))["data"]] == [theirs]
    for path, params in [
        ("/credit-memos", {"customer_id": ids["customer"]}),
        ("/invoices", {"customer_id": ids["customer"]}),
        ("/journal-entries", {"source_id": ids["invoice"]}),
        ("/inventory-activities", {"variant_id": ids["variant"]}),
        ("/audit-events", {"entity_id": ids["memo"]}),
        ("/credit-memos", {"q": "CM-"}), ("/customers", {"q": "Glob"}),
    ]:
        assert ok(other_client.get(f"{API}{path}", params=params))["data"] == [], (path, params)


def test_p4_trial_balance_is_per_partner(client, other_client):
    world(client)
    tb = ok(other_client.get(f"{API}/reports/trial-balance"))
    assert tb["total_debit"] == tb["total_credit"] == "0.00"
    assert all(a["debit"] == a["credit"] == "0.00" for a in tb["accounts"])
    mine = ok(client.get(f"{API}/reports/trial-balance"))
    assert mine["total_debit"] != "0.00"


def test_p4_cursor_from_one_partner_shows_nothing_of_the_other(client, other_client):
    cid = customer(client)
    for _ in range(3):
        memo(client, cid, "1.00", issue=False)
    page = ok(client.get(f"{API}/credit-memos", params={"limit": 1}))
    assert ok(other_client.get(f"{API}/credit-memos",
                               params={"cursor": page["next_cursor"]}))["data"] == []


def test_p4_numbers_are_per_partner(client, other_client):
    a = memo(client, customer(client), "1.00", issue=False)
    b = memo(other_client, customer(other_client), "1.00", issue=False)
    assert a["number"] == b["number"] == "CM-0001"  # C3: a sequence per partner
