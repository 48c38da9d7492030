"""AU1 through the API: PUT /settings/auto-apply, then POST /invoices/{id}/issue applies the
customer's available credit (origin ``automatic``, applied by ``automatic``), the DELETE of
either side removes it, and ``?preview=true`` on the issue shows it and changes nothing
(P6)."""

from __future__ import annotations

from tests.api.conftest import API, customer, invoice, memo, ok, problem
from tests.api.test_preview import INVOICE_FIELDS, MEMO_FIELDS, everything, same

SETTING = f"{API}/settings/auto-apply"


def _on(client, exceptions: list[str] | None = None) -> None:
    ok(client.put(SETTING, json={"enabled": True, "exceptions": exceptions or []}))


def test_au1_issue_applies_available_credit_marked_automatic(client) -> None:
    cid = customer(client)
    older = memo(client, cid, "30.00")
    newer = memo(client, cid, "50.00")
    _on(client)
    inv = invoice(client, cid, "60.00", issue=False)
    done = ok(client.post(f"{API}/invoices/{inv['id']}/issue"))
    assert done["status"] == "paid" and done["balance_due"] == "0.00"
    assert [(c["credit_memo_id"], c["amount"]) for c in done["credits_applied"]] == [
        (older["id"], "30.00"), (newer["id"], "30.00")]
    apps = ok(client.get(f"{API}/credit-memos/{newer['id']}/applications"))
    apps = apps["data"] if isinstance(apps, dict) else apps
    assert [(a["origin"], a["applied_by"], a["amount"]) for a in apps] == [
        ("automatic", "automatic", "30.00")]
    assert ok(client.get(f"{API}/credit-memos/{older['id']}"))["status"] == "applied"
    assert ok(client.get(f"{API}/credit-memos/{newer['id']}"))["remaining_amount"] == "20.00"

    # U1: removable from the invoice side like any other application
    removed = ok(client.delete(f"{API}/invoices/{inv['id']}/credits/{newer['id']}"))
    assert removed["invoice"]["balance_due"] == "30.00"
    assert removed["credit_memo"]["status"] == "issued"


def test_au1_off_by_default_the_issue_applies_nothing(client) -> None:
    cid = customer(client)
    memo(client, cid, "30.00")
    assert ok(client.get(SETTING)) == {"enabled": False, "exceptions": []}
    inv = invoice(client, cid, "60.00", issue=False)
    done = ok(client.post(f"{API}/invoices/{inv['id']}/issue"))
    assert done["credits_applied"] == [] and done["balance_due"] == "60.00"


def test_au1_excepted_customer_gets_the_opposite(client) -> None:
    cid = customer(client)
    memo(client, cid, "30.00")
    _on(client, [cid])
    inv = invoice(client, cid, "60.00", issue=False)
    assert ok(client.post(f"{API}/invoices/{inv['id']}/issue"))["credits_applied"] == []


def test_p6_au1_issue_preview_shows_the_automatic_credit_and_changes_nothing(client,
                                                                            db) -> None:
    cid = customer(client)
    older = memo(client, cid, "30.00")
    newer = memo(client, cid, "50.00")
    _on(client)
    inv = invoice(client, cid, "60.00", issue=False)
    before = everything(db)
    body = ok(client.post(f"{API}/invoices/{inv['id']}/issue?preview=true"))
    assert everything(db) == before
    p = body["preview"]
    assert set(p) == {"journal_lines", "inventory", "credit_memo", "invoice", "portal",
                      "automatic_applications"}
    assert [(a["credit_memo_id"], a["credit_memo_number"], a["amount"],
             a["credit_memo"]["status"], a["credit_memo"]["remaining_amount"])
            for a in p["automatic_applications"]] == [
        (older["id"], older["number"], "30.00", "applied", "0.00"),
        (newer["id"], newer["number"], "30.00", "partially_applied", "20.00")]
    assert p["credit_memo"]["id"] == older["id"]
    assert p["invoice"]["status"] == "paid" and p["invoice"]["balance_due"] == "0.00"
    assert sorted(li["account_code"] for li in p["journal_lines"]) == ["1100", "4000"]
    assert ok(client.get(f"{API}/invoices/{inv['id']}"))["status"] == "draft"

    done = ok(client.post(f"{API}/invoices/{inv['id']}/issue"))
    same(done, p["invoice"], INVOICE_FIELDS)
    for a in p["automatic_applications"]:
        same(ok(client.get(f"{API}/credit-memos/{a['credit_memo_id']}")), a["credit_memo"],
             MEMO_FIELDS)


def test_p6_issue_preview_without_credit_keeps_the_five_keys(client, db) -> None:
    cid = customer(client)
    inv = invoice(client, cid, "60.00", issue=False)
    p = ok(client.post(f"{API}/invoices/{inv['id']}/issue?preview=true"))["preview"]
    assert set(p) == {"journal_lines", "inventory", "credit_memo", "invoice", "portal"}
    assert p["credit_memo"] is None and p["invoice"]["status"] == "open"


def test_p6_issue_preview_of_an_issued_invoice_answers_the_real_error(client) -> None:
    cid = customer(client)
    inv = invoice(client, cid, "60.00")
    problem(client.post(f"{API}/invoices/{inv['id']}/issue?preview=true"), 409,
            "invalid_state")


def test_au1_a_keyed_issue_applies_once_and_replays(client) -> None:
    """E2: the issue and its automatic applications are one effect under one key."""
    cid = customer(client)
    m = memo(client, cid, "30.00")
    _on(client)
    inv = invoice(client, cid, "60.00", issue=False)
    headers = {"Idempotency-Key": "issue-with-credit-1"}
    first = ok(client.post(f"{API}/invoices/{inv['id']}/issue", headers=headers))
    again = ok(client.post(f"{API}/invoices/{inv['id']}/issue", headers=headers))
    assert first == again and first["credit_applied"] == "30.00"
    apps = ok(client.get(f"{API}/credit-memos/{m['id']}/applications"))
    apps = apps["data"] if isinstance(apps, dict) else apps
    assert len(apps) == 1
