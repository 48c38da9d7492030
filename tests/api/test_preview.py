"""P6 through the API: ``?preview=true`` on issue, apply, remove and void answers what the
change would do, changes nothing (not even an idempotency record, an audit event or a
counter), equals what the change then does, and a refused change answers its real error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from tests.api.conftest import API, apply, customer, invoice, memo, ok, problem, snapshot, variant

MEMO_FIELDS = ("status", "total", "applied_amount", "remaining_amount", "issue_date",
               "void_reason")
INVOICE_FIELDS = ("status", "total", "amount_paid", "credit_applied", "balance_due")


def everything(db: Database) -> dict[str, Any]:
    """``snapshot`` plus what it leaves out: idempotency records and the number counters."""
    out = snapshot(db)
    with db.read() as session:
        out["idempotency_records"] = session.scalar(
            select(func.count()).select_from(models.IdempotencyRecord))
        out["counters"] = sorted(session.execute(
            select(models.Counter.partner_id, models.Counter.name, models.Counter.value)).all())
        out["audit"] = session.scalar(select(func.count()).select_from(models.AuditEvent))
    return out


def journal(client, memo_id: str) -> list[tuple]:
    entries = ok(client.get(f"{API}/journal-entries", params={"source_id": memo_id}))["data"]
    return sorted((e["description"], li["account_code"], li["debit"], li["credit"])
                  for e in entries for li in e["lines"])


def preview_journal(p: dict) -> list[tuple]:
    return sorted((li["description"], li["account_code"], li["debit"], li["credit"])
                  for li in p["journal_lines"])


def stock(client, memo_id: str) -> list[tuple]:
    rows = ok(client.get(f"{API}/inventory-activities", params={"source_id": memo_id}))["data"]
    return sorted((a["variant_id"], a["quantity"], a["kind"]) for a in rows)


def preview_stock(p: dict) -> list[tuple]:
    return sorted((s["variant_id"], s["quantity"], s["kind"]) for s in p["inventory"])


def same(a: dict, b: dict, names: tuple[str, ...]) -> None:
    assert {n: a[n] for n in names} == {n: b[n] for n in names}


def previewed(client, db: Database, method: str, path: str, **kwargs: Any) -> dict:
    """The preview of ``method path``, checking that it changed nothing at all."""
    before = everything(db)
    sep = "&" if "?" in path else "?"
    body = ok(client.request(method, f"{API}{path}{sep}preview=true", **kwargs))
    assert set(body) == {"preview"}
    assert set(body["preview"]) == {"journal_lines", "inventory", "credit_memo", "invoice",
                                    "portal"}
    assert everything(db) == before
    return body["preview"]


@pytest.fixture
def restocking(client) -> dict[str, Any]:
    """A draft memo of two units of a stocked variant (issuing restocks them, L2)."""
    cid = customer(client)
    var = variant(client, stock=10)
    m = ok(client.post(f"{API}/credit-memos", json={
        "customer_id": cid, "reason": "returned_goods", "lines": [
            {"description": "Returned router", "quantity": 2, "unit_price": "25.00",
             "variant_id": var["id"]}]}), 201)
    return {"customer": cid, "variant": var, "memo": m}


def test_p6_issue_preview_changes_nothing_and_equals_the_issue(client, db, restocking):
    m, var = restocking["memo"], restocking["variant"]
    p = previewed(client, db, "POST", f"/credit-memos/{m['id']}/issue")
    assert preview_journal(p) == [
        (f"Credit memo {m['number']} issued", "1100", "0.00", "50.00"),
        (f"Credit memo {m['number']} issued", "4900", "50.00", "0.00")] or \
        [li[1:] for li in preview_journal(p)] == [("1100", "0.00", "50.00"),
                                                  ("4900", "50.00", "0.00")]
    assert p["inventory"] == [{"variant_id": var["id"], "sku": var["sku"], "name": var["name"],
                               "quantity": 2, "kind": "credit_memo_restock",
                               "stock_on_hand_after": 12}]
    assert p["credit_memo"]["status"] == "issued" and p["invoice"] is None
    assert ok(client.get(f"{API}/credit-memos/{m['id']}"))["status"] == "draft"
    assert ok(client.get(f"{API}/variants/{var['id']}"))["stock_on_hand"] == 10

    done = ok(client.post(f"{API}/credit-memos/{m['id']}/issue"))
    same(done, p["credit_memo"], MEMO_FIELDS)
    assert journal(client, m["id"]) == preview_journal(p)
    assert stock(client, m["id"]) == preview_stock(p)
    assert ok(client.get(f"{API}/variants/{var['id']}"))["stock_on_hand"] == 12


def test_p6_void_preview_equals_the_void(client, db, restocking):
    m = restocking["memo"]
    ok(client.post(f"{API}/credit-memos/{m['id']}/issue"))
    issued_journal = journal(client, m["id"])
    p = previewed(client, db, "POST", f"/credit-memos/{m['id']}/void", json={"reason": "typo"})
    assert [li[1:] for li in preview_journal(p)] == [("1100", "50.00", "0.00"),
                                                     ("4900", "0.00", "50.00")]
    assert preview_stock(p) == [(restocking["variant"]["id"], -2,
                                 "credit_memo_restock_reversal")]
    assert p["credit_memo"]["status"] == "void" and p["credit_memo"]["void_reason"] == "typo"

    done = ok(client.post(f"{API}/credit-memos/{m['id']}/void", json={"reason": "typo"}))
    same(done, p["credit_memo"], MEMO_FIELDS)
    assert journal(client, m["id"]) == sorted(issued_journal + preview_journal(p))
    assert [a for a in stock(client, m["id"]) if a[1] < 0] == preview_stock(p)


def test_p6_apply_preview_equals_the_application(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "50.00")
    p = previewed(client, db, "POST", f"/credit-memos/{m['id']}/applications",
                  json={"invoice_id": inv["id"], "amount": "30.00"})
    assert p["journal_lines"] == [] and p["inventory"] == []  # AR moved at issue
    assert p["credit_memo"]["status"] == "partially_applied"
    assert p["credit_memo"]["remaining_amount"] == "20.00"
    assert p["invoice"]["balance_due"] == "70.00"

    done = apply(client, m["id"], inv["id"], "30.00")
    same(done["credit_memo"], p["credit_memo"], MEMO_FIELDS)
    same(done["invoice"], p["invoice"], INVOICE_FIELDS)
    assert [c["amount"] for c in done["invoice"]["credits_applied"]] == \
        [c["amount"] for c in p["invoice"]["credits_applied"]]


@pytest.mark.parametrize("side", ["memo", "invoice"])
def test_p6_remove_preview_equals_the_removal(client, db, side):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "50.00")
    apply(client, m["id"], inv["id"], "50.00")
    path = (f"/credit-memos/{m['id']}/applications?invoice_id={inv['id']}" if side == "memo"
            else f"/invoices/{inv['id']}/credits/{m['id']}")
    p = previewed(client, db, "DELETE", path)
    assert p["credit_memo"]["status"] == "issued" and p["credit_memo"]["applied_amount"] == "0.00"
    assert p["invoice"]["balance_due"] == "100.00" and p["invoice"]["credits_applied"] == []

    done = ok(client.delete(f"{API}{path}"))
    same(done["credit_memo"], p["credit_memo"], MEMO_FIELDS)
    same(done["invoice"], p["invoice"], INVOICE_FIELDS)


def _visibility(client, show: bool, exceptions: list[str] = ()) -> None:
    ok(client.put(f"{API}/settings/credit-balance-visibility",
                  json={"show_to_all_customers": show, "exceptions": list(exceptions)}))


def test_p6_portal_shows_the_credit_when_visible(client, db):
    cid = customer(client, "Initech")
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "50.00")
    _visibility(client, True)
    p = previewed(client, db, "POST", f"/credit-memos/{m['id']}/applications",
                  json={"invoice_id": inv["id"], "amount": "30.00"})
    assert p["portal"] == {
        "customer_name": "Initech", "credit_visible": True,
        "available_credit": [{"currency": "USD", "amount": "20.00"}],
        "credit_memo": {"number": m["number"], "status": "partially_applied",
                        "total": "50.00", "remaining_amount": "20.00"},
        "invoice": {"number": inv["number"], "status": "partially_paid", "balance_due": "70.00",
                    "credit_applied": "30.00"}}


def test_p6_portal_says_nothing_of_hidden_credit(client, db):
    cid = customer(client, "Initech")
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "50.00")
    _visibility(client, True, [cid])  # shown to all but this customer
    p = previewed(client, db, "POST", f"/credit-memos/{m['id']}/applications",
                  json={"invoice_id": inv["id"], "amount": "30.00"})
    assert p["portal"] == {
        "customer_name": "Initech", "credit_visible": False, "available_credit": None,
        "credit_memo": None,
        "invoice": {"number": inv["number"], "status": "partially_paid", "balance_due": "70.00",
                    "credit_applied": None}}


def test_p6_issue_preview_shows_a_draft_becoming_visible_credit(client, db):
    cid = customer(client)
    m = memo(client, cid, "50.00", issue=False)
    _visibility(client, True)
    p = previewed(client, db, "POST", f"/credit-memos/{m['id']}/issue")
    assert p["portal"]["available_credit"] == [{"currency": "USD", "amount": "50.00"}]
    assert p["portal"]["credit_memo"]["status"] == "issued"
    assert p["portal"]["invoice"] is None


# --- refusals are the real errors ---------------------------------------------------

REFUSALS = [
    # (what, method, path, body, status, code)
    ("issue an issued memo", "POST", "/credit-memos/{M}/issue", None, 409, "invalid_state"),
    ("void without reason", "POST", "/credit-memos/{D}/void", {"reason": " "}, 422,
     "validation_error"),
    ("void with credit applied", "POST", "/credit-memos/{A}/void", {"reason": "x"}, 409,
     "memo_has_applications"),
    ("apply above remaining", "POST", "/credit-memos/{M}/applications",
     {"invoice_id": "{I}", "amount": "60.00"}, 422, "exceeds_memo_remaining"),
    ("apply a draft", "POST", "/credit-memos/{D}/applications",
     {"invoice_id": "{I}", "amount": "1.00"}, 409, "invalid_state"),
    ("remove what is not applied", "DELETE", "/credit-memos/{M}/applications?invoice_id={I}",
     None, 404, "not_found"),
    ("remove from the invoice side", "DELETE", "/invoices/{I}/credits/{M}", None, 404,
     "not_found"),
    ("a missing memo", "POST", "/credit-memos/cm_missing/issue", None, 404, "not_found"),
]


@pytest.mark.parametrize(("what", "method", "path", "body", "status", "code"), REFUSALS,
                         ids=[r[0] for r in REFUSALS])
def test_p6_a_refused_preview_answers_the_real_error(client, db, what, method, path, body,
                                                      status, code):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    ids = {"M": memo(client, cid, "50.00")["id"], "D": memo(client, cid, "5.00",
                                                            issue=False)["id"],
           "A": memo(client, cid, "10.00")["id"], "I": inv["id"]}
    apply(client, ids["A"], inv["id"], "10.00")

    def fill(value):
        if isinstance(value, str):
            for k, v in ids.items():
                value = value.replace("{" + k + "}", v)
            return value
        return {k: fill(v) for k, v in value.items()} if isinstance(value, dict) else value

    url, sent = f"{API}{fill(path)}", fill(body)
    before = everything(db)
    sep = "&" if "?" in url else "?"
    previewed_answer = client.request(method, f"{url}{sep}preview=true", json=sent)
    assert everything(db) == before
    real = client.request(method, url, json=sent)
    a = problem(previewed_answer, status, code)
    b = problem(real, status, code)
    assert a["detail"] == b["detail"]


def test_p6_other_partners_memo_is_a_404_in_preview(client, other_client):
    cid = customer(other_client)
    theirs = memo(other_client, cid, "50.00", issue=False)
    problem(client.post(f"{API}/credit-memos/{theirs['id']}/issue?preview=true"), 404,
            "not_found")
    assert ok(other_client.get(f"{API}/credit-memos/{theirs['id']}"))["status"] == "draft"


# --- Idempotency-Key: previews are not stored under it ------------------------------

def test_p6_a_keyed_preview_is_not_stored_and_leaves_the_key_free(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "50.00")
    path = f"/credit-memos/{m['id']}/applications"
    body = {"invoice_id": inv["id"], "amount": "30.00"}
    headers = {"Idempotency-Key": "preview-then-apply"}
    before = everything(db)
    for _ in range(2):  # each time a fresh preview, never a replay
        r = client.post(f"{API}{path}?preview=true", json=body, headers=headers)
        assert ok(r)["preview"]["invoice"]["balance_due"] == "70.00"
        assert "idempotent-replayed" not in r.headers
    assert everything(db) == before

    first = client.post(f"{API}{path}", json=body, headers=headers)
    assert ok(first, 201)["invoice"]["balance_due"] == "70.00"
    again = client.post(f"{API}{path}", json=body, headers=headers)
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    # After the change, a keyed preview is still a fresh preview, never the stored answer.
    later = client.post(f"{API}{path}?preview=true", json={**body, "amount": "20.00"},
                        headers=headers)
    assert ok(later)["preview"]["invoice"]["balance_due"] == "50.00"


def test_p6_a_keyed_refused_preview_is_not_stored(client, db):
    cid = customer(client)
    m = memo(client, cid, "50.00")
    headers = {"Idempotency-Key": "refused-preview"}
    before = everything(db)
    problem(client.post(f"{API}/credit-memos/{m['id']}/issue?preview=true", headers=headers),
            409, "invalid_state")
    assert everything(db) == before


def test_p6_preview_false_is_the_change(client):
    cid = customer(client)
    m = memo(client, cid, "50.00", issue=False)
    done = ok(client.post(f"{API}/credit-memos/{m['id']}/issue?preview=false"))
    assert done["status"] == "issued"


def test_p6_openapi_describes_the_preview(client):
    doc = ok(client.get("/openapi.json"))
    apply_op = doc["paths"][f"{API}/credit-memos/{{memo_id}}/applications"]["post"]
    assert any(p["name"] == "preview" and p["in"] == "query" for p in apply_op["parameters"])
    assert "PreviewOut" in str(apply_op["responses"]["200"])
    for path, method in [("/credit-memos/{memo_id}/issue", "post"),
                         ("/credit-memos/{memo_id}/void", "post"),
                         ("/credit-memos/{memo_id}/applications", "delete"),
                         ("/invoices/{invoice_id}/credits/{credit_memo_id}", "delete")]:
        op = doc["paths"][f"{API}{path}"][method]
        assert any(p["name"] == "preview" for p in op["parameters"]), path
        assert "PreviewOut" in str(op["responses"]["200"]), path
