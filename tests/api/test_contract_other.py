"""Customers, credit summary, catalog, inventory, journal, trial balance and audit events."""

from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import API, apply, customer, invoice, memo, ok, problem, variant, world


def test_i1_create_customer_returns_201(client):
    c = ok(client.post(f"{API}/customers", json={"name": "Initech", "email": "ap@initech.test"}),
           201)
    assert {"id", "name", "email", "currency"} <= set(c)
    assert (c["name"], c["email"], c["currency"]) == ("Initech", "ap@initech.test", "USD")
    assert ok(client.get(f"{API}/customers/{c['id']}")) == c
    eur = ok(client.post(f"{API}/customers", json={"name": "Euro", "currency": "EUR"}), 201)
    assert eur["currency"] == "EUR"


def test_customer_list_search_and_paging(client):
    ids = [customer(client, name) for name in ("Alpha", "Beta", "Gamma")]
    page = ok(client.get(f"{API}/customers", params={"limit": 2}))
    assert set(page) == {"data", "next_cursor"}
    assert [c["id"] for c in page["data"]] == ids[::-1][:2]
    rest = ok(client.get(f"{API}/customers", params={"cursor": page["next_cursor"]}))
    assert [c["id"] for c in rest["data"]] == [ids[0]] and rest["next_cursor"] is None
    found = ok(client.get(f"{API}/customers", params={"q": "bet"}))["data"]
    assert [c["id"] for c in found] == [ids[1]]


def test_customer_and_invoice_search_take_q_literally(client):
    odd = customer(client, "50%_off\\Ltd")
    customer(client, "Plain")
    inv = invoice(client, odd, "1.00")
    for q, expected in [("%", [odd]), ("_", [odd]), ("\\", [odd]), ("0%_o", [odd]),
                        ("x%", []), ("P_ain", [])]:
        found = ok(client.get(f"{API}/customers", params={"q": q}))["data"]
        assert [c["id"] for c in found] == expected, q
    for q in ("%", "_", "INV%", "\\"):
        assert ok(client.get(f"{API}/invoices", params={"q": q}))["data"] == [], q
    assert [i["id"] for i in ok(client.get(f"{API}/invoices", params={"q": "0001"}))["data"]] == [
        inv["id"]]


def test_s1_credit_summary(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    issued = memo(client, cid, "10.00")
    partial = memo(client, cid, "20.00")
    apply(client, partial["id"], inv["id"], "5.00")
    memo(client, cid, "99.00", issue=False)  # drafts are no credit
    eur = memo(client, cid, "7.50", currency="EUR")
    s = ok(client.get(f"{API}/customers/{cid}/credit-summary"))
    # S1's fields, and R3's refunds (none here)
    assert set(s) == {"customer_id", "balances", "memos", "refunded", "refunds"}
    assert s["customer_id"] == cid and s["refunded"] == s["refunds"] == []
    assert s["balances"] == [{"currency": "EUR", "available_credit": "7.50"},
                             {"currency": "USD", "available_credit": "25.00"}]
    assert {m["id"] for m in s["memos"]} == {issued["id"], partial["id"], eur["id"]}
    for m in s["memos"]:
        assert set(m) == {"id", "number", "currency", "total", "remaining_amount", "status",
                          "source"}
    p = next(m for m in s["memos"] if m["id"] == partial["id"])
    assert (p["total"], p["remaining_amount"], p["status"], p["source"]) == (
        "20.00", "15.00", "partially_applied", "native")


def test_s1_credit_summary_of_customer_without_credit(client):
    cid = customer(client)
    assert ok(client.get(f"{API}/customers/{cid}/credit-summary")) == {
        "customer_id": cid, "balances": [], "memos": [], "refunded": [], "refunds": []}


def test_create_product_returns_201_with_variant_ids(client):
    p = ok(client.post(f"{API}/products", json={"name": "Router", "variants": [
        {"sku": "R-1", "name": "Small", "price": "49.90", "stock_on_hand": 3},
        {"sku": "R-2", "name": "Large", "price": 99}]}), 201)
    assert p["id"] and p["name"] == "Router" and len(p["variants"]) == 2
    small = next(v for v in p["variants"] if v["sku"] == "R-1")
    got = ok(client.get(f"{API}/variants/{small['id']}"))
    assert {"id", "sku", "name", "price", "stock_on_hand"} <= set(got)
    assert (got["sku"], got["name"], got["price"], got["stock_on_hand"]) == (
        "R-1", "Small", "49.90", 3)
    large = next(v for v in p["variants"] if v["sku"] == "R-2")
    assert ok(client.get(f"{API}/variants/{large['id']}"))["price"] == "99.00"


def test_l2_j3_inventory_activities_follow_sale_restock_and_reversal(client):
    cid = customer(client)
    var = variant(client, stock=10)
    inv = invoice(client, cid, "25.00", variant_id=var["id"], quantity=4)
    m = ok(client.post(f"{API}/credit-memos", json={"customer_id": cid, "reason": "returned_goods",
                                                    "lines": [{"description": "back",
                                                               "quantity": 2,
                                                               "unit_price": "25.00",
                                                               "variant_id": var["id"]}]}), 201)
    ok(client.post(f"{API}/credit-memos/{m['id']}/issue"))
    assert ok(client.get(f"{API}/variants/{var['id']}"))["stock_on_hand"] == 8
    ok(client.post(f"{API}/credit-memos/{m['id']}/void", json={"reason": "never returned"}))
    page = ok(client.get(f"{API}/inventory-activities", params={"variant_id": var["id"]}))
    assert set(page) == {"data", "next_cursor"}
    entries = page["data"]
    for e in entries:
        assert set(e) >= {"id", "variant_id", "quantity", "kind", "source_type", "source_id",
                          "created_at"}
    kinds = [(e["kind"], e["quantity"]) for e in entries]
    assert ("sale", -4) in kinds and ("credit_memo_restock", 2) in kinds
    assert ("credit_memo_restock_reversal", -2) in kinds
    assert sum(q for _, q in kinds) == 6 == ok(client.get(f"{API}/variants/{var['id']}"))[
        "stock_on_hand"]  # J3
    by_memo = ok(client.get(f"{API}/inventory-activities", params={"source_id": m["id"]}))
    assert {e["kind"] for e in by_memo["data"]} == {"credit_memo_restock",
                                                    "credit_memo_restock_reversal"}
    assert inv["id"] not in {e["source_id"] for e in by_memo["data"]}


def test_journal_entries_shape_and_filters(client):
    ids = world(client)
    page = ok(client.get(f"{API}/journal-entries"))
    assert set(page) == {"data", "next_cursor"}
    for e in page["data"]:
        assert {"id", "date", "description", "source_type", "source_id", "lines"} <= set(e)
        for li in e["lines"]:
            assert set(li) == {"account_code", "account_name", "debit", "credit"}
        assert sum(Decimal(li["debit"]) for li in e["lines"]) == sum(
            Decimal(li["credit"]) for li in e["lines"])  # J1
    types = {e["source_type"] for e in page["data"]}
    assert types == {"invoice", "payment", "credit_memo"}
    for t in types:
        got = ok(client.get(f"{API}/journal-entries", params={"source_type": t}))["data"]
        assert got and all(e["source_type"] == t for e in got)
    memo_entries = ok(client.get(f"{API}/journal-entries", params={"source_id": ids["void"]}))
    assert len(memo_entries["data"]) == 2  # issue and its reversal (L4)
    one = ok(client.get(f"{API}/journal-entries", params={"limit": 1}))
    assert len(one["data"]) == 1 and one["next_cursor"]
    problem(client.get(f"{API}/journal-entries", params={"source_type": "memo"}), 422,
            "validation_error", "source_type")


def test_j1_trial_balance_shape_and_balance(client):
    world(client)
    tb = ok(client.get(f"{API}/reports/trial-balance"))
    assert {"accounts", "total_debit", "total_credit"} <= set(tb)
    assert tb["total_debit"] == tb["total_credit"]
    accounts = {a["code"]: a for a in tb["accounts"]}
    assert {"1000", "1100", "4000", "4900"} <= set(accounts)
    for a in tb["accounts"]:
        assert set(a) == {"code", "name", "debit", "credit", "balance"}
    assert accounts["1000"]["balance"] == "10.00"  # the one payment
    # J2: AR = balance due of issued invoices (100 - 10 - 20 = 70) - remaining credit (10)
    assert accounts["1100"]["balance"] == "60.00"


def test_e1_audit_events_shape_and_filters(client):
    ids = world(client)
    page = ok(client.get(f"{API}/audit-events"))
    assert set(page) == {"data", "next_cursor"}
    for e in page["data"]:
        assert set(e) == {"id", "at", "actor", "action", "entity_type", "entity_id", "data"}
        assert e["actor"] and e["at"]
    mine = ok(client.get(f"{API}/audit-events", params={"entity_type": "credit_memo",
                                                        "entity_id": ids["memo"]}))["data"]
    actions = [e["action"] for e in mine]
    assert {"credit_memo.create", "credit_memo.issue", "credit_memo.apply"} <= set(actions)
    assert all(e["entity_id"] == ids["memo"] for e in mine)
    first = ok(client.get(f"{API}/audit-events", params={"limit": 3}))
    second = ok(client.get(f"{API}/audit-events", params={"limit": 3,
                                                           "cursor": first["next_cursor"]}))
    assert not {e["id"] for e in first["data"]} & {e["id"] for e in second["data"]}
    assert max(e["id"] for e in second["data"]) < min(e["id"] for e in first["data"])
