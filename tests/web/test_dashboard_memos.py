"""Partner Dashboard: memo list, memo page and its actions (P1, S2, L1-L5, A1-A2, U1-U2)."""

from __future__ import annotations

import html
import re

from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.invoicing import invoices
from tests import factories


def _id_in(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1]


def test_memo_list_shows_rows_with_badges_and_filters(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    draft = memos.get_memo(db, actor=actor, memo_id=factories.memo(db, actor, cid, "12.50",
                                                                    issue=False))
    issued = memos.get_memo(db, actor=actor, memo_id=factories.memo(db, actor, cid, "40.00"))
    r = admin.get("/dashboard/credit-memos")
    assert r.status_code == 200
    for m in (draft, issued):
        assert m.number in r.text
    assert "Globex" in r.text and "$12.50" in r.text and "Goodwill" in r.text
    assert "CreditDesk" in r.text  # the source badge
    for tab in ("all", "draft", "issued", "partially_applied", "applied", "void"):
        assert f'id="tab-{tab}"' in r.text
    only_drafts = admin.get("/dashboard/credit-memos?status=draft").text
    assert draft.number in only_drafts and issued.number not in only_drafts
    remaining = admin.get("/dashboard/credit-memos?has_remaining=1").text
    assert issued.number in remaining and draft.number not in remaining
    found = admin.get(f"/dashboard/credit-memos?q={issued.number}").text
    assert issued.number in found and draft.number not in found
    by_customer = admin.get(f"/dashboard/credit-memos?customer_id={cid}&source=native").text
    assert issued.number in by_customer


def test_memo_list_paginates(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    for _ in range(27):
        factories.memo(db, actor, cid, "1.00", issue=False)
    first = admin.get("/dashboard/credit-memos")
    assert first.text.count('<tr id="memo-') == 25
    nxt = re.search(r'id="next-page" rel="next" href="[^"]*cursor=([^"&]+)"|'
                    r'href="([^"]*cursor=[^"]+)" id="next-page"', first.text)
    link = re.search(r'href="(/dashboard/credit-memos\?[^"]*cursor=[^"]+)"', first.text)
    assert nxt or link
    second = admin.get(link.group(1).replace("&amp;", "&"))
    assert second.text.count('<tr id="memo-') == 2


def test_memo_list_fragment_for_htmx(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    factories.memo(db, actor, cid)
    r = admin.get("/dashboard/credit-memos", headers={"HX-Request": "true",
                                                      "HX-Target": "memo-results"})
    assert r.text.lstrip().startswith('<section id="memo-results"')
    assert "<html" not in r.text


def test_bad_filter_is_a_clear_page_not_a_crash(admin) -> None:
    r = admin.get("/dashboard/credit-memos?source=nonsense")
    assert r.status_code == 422 and "source" in r.text
    assert admin.get("/dashboard/credit-memos?cursor=%%%").status_code == 422


def test_new_memo_with_an_amount(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    form = admin.get(f"/dashboard/credit-memos/new?customer_id={cid}")
    # the picker opens on that customer (its type-ahead text and the hidden id)
    assert form.status_code == 200 and 'value="Globex (USD)"' in form.text.split("<datalist")[0]
    assert f'name="customer_id" value="{cid}"' in form.text
    r = admin.post("/dashboard/credit-memos/new", {
        "customer_id": cid, "reason": "service_issue", "amount": "75.00",
        "notes": "Outage on the 3rd", "line_count": "3"}, follow_redirects=False)
    assert r.status_code == 303
    m = memos.get_memo(db, actor=actor, memo_id=_id_in(r.headers["location"]))
    assert (m.status, m.total.to_str(), m.reason, m.notes) == (
        "draft", "75.00", "service_issue", "Outage on the 3rd")


def test_new_memo_with_lines_and_a_variant(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    vid = factories.variant(db, actor, "SSD-1", "80.00")
    inv = factories.invoice(db, actor, cid, "500.00")
    number = invoices.get_invoice(db, actor=actor, invoice_id=inv).number
    r = admin.post("/dashboard/credit-memos/new", {
        "customer_id": cid, "reason": "returned_goods", "line_count": "3",
        "line-0-description": "Returned SSD", "line-0-quantity": "2",
        "line-0-unit_price": "80.00", "line-0-variant_id": vid,
        "line-2-description": "Restocking waived", "line-2-quantity": "1",
        "line-2-unit_price": "5.00", "invoice_number": number.lower()},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    m = memos.get_memo(db, actor=actor, memo_id=_id_in(r.headers["location"]))
    assert m.total.to_str() == "165.00" and len(m.lines) == 2 and m.invoice_id == inv
    assert m.lines[0].variant_id == vid
    page = admin.get(r.headers["location"]).text
    assert "SSD-1" in page and "Returned SSD" in page and number in page


def test_new_memo_refusal_keeps_what_was_typed(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    r = admin.post("/dashboard/credit-memos/new", {
        "customer_id": cid, "reason": "goodwill", "amount": "10.001", "notes": "typed note",
        "line_count": "3"})
    assert r.status_code == 422
    assert "at most 2 decimal places" in r.text
    assert 'value="10.001"' in r.text and "typed note" in r.text
    r = admin.post("/dashboard/credit-memos/new", {
        "customer_id": cid, "reason": "goodwill", "line_count": "3",
        "line-1-description": "Half a line", "line-1-quantity": "x"})
    assert r.status_code == 422
    assert 'id="err-memo-line-1-quantity"' in r.text and 'value="Half a line"' in r.text
    r = admin.post("/dashboard/credit-memos/new", {
        "customer_id": cid, "reason": "goodwill", "amount": "5", "invoice_number": "INV-9999",
        "line_count": "3"})
    assert r.status_code == 422 and "no invoice numbered INV-9999" in r.text
    assert memos.list_memos(db, actor=actor).data == []


def test_add_a_line_saves_nothing(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    r = admin.post("/dashboard/credit-memos/new", {
        "customer_id": cid, "reason": "goodwill", "line_count": "3", "add_line": "1",
        "line-0-description": "kept"})
    assert r.status_code == 200 and 'id="line-3"' in r.text and 'value="kept"' in r.text
    assert memos.list_memos(db, actor=actor).data == []


def test_edit_and_delete_a_draft(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid, "20.00", issue=False)
    form = admin.get(f"/dashboard/credit-memos/{mid}/edit")
    assert form.status_code == 200 and 'value="20.00"' in form.text
    r = admin.post(f"/dashboard/credit-memos/{mid}/edit", {
        "reason": "pricing_error", "amount": "25.00", "line_count": "3"},
        follow_redirects=False)
    assert r.status_code == 303
    m = memos.get_memo(db, actor=actor, memo_id=mid)
    assert (m.total.to_str(), m.reason) == ("25.00", "pricing_error")
    r = admin.post(f"/dashboard/credit-memos/{mid}/delete", follow_redirects=False)
    assert r.status_code == 303
    assert admin.get(f"/dashboard/credit-memos/{mid}").status_code == 404


def test_issued_memo_offers_no_edit_and_refuses_delete(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid, "20.00")
    page = admin.get(f"/dashboard/credit-memos/{mid}").text
    assert 'id="edit-memo"' not in page and 'id="issue-memo"' not in page
    r = admin.get(f"/dashboard/credit-memos/{mid}/edit", follow_redirects=False)
    assert r.status_code == 303
    r = admin.post(f"/dashboard/credit-memos/{mid}/delete")
    assert r.status_code == 409 and "can't be deleted" in html.unescape(r.text)
    r = admin.post(f"/dashboard/credit-memos/{mid}/edit", {"reason": "goodwill",
                                                           "amount": "1", "line_count": "1"})
    assert r.status_code == 409 and "can't be edited" in html.unescape(r.text)


def test_issue_apply_remove_and_void(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    inv1 = factories.invoice(db, actor, cid, "60.00")
    inv2 = factories.invoice(db, actor, cid, "100.00")
    n1 = invoices.get_invoice(db, actor=actor, invoice_id=inv1).number
    mid = factories.memo(db, actor, cid, "100.00", issue=False)
    r = admin.post(f"/dashboard/credit-memos/{mid}/issue", follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(f"/dashboard/credit-memos/{mid}").text
    assert "issued." in page  # the flash
    assert "4900 Sales Returns" in page  # the journal entry
    # the amount is pre-filled with the largest allowed: min(100 remaining, 60 due)
    assert f'id="amount-{n1}"' in page
    assert re.search(rf'id="amount-{n1}"[^>]*value="60.00"', page)
    r = admin.post(f"/dashboard/credit-memos/{mid}/apply", {"invoice_id": inv1,
                                                            "amount": "60.00"},
                   follow_redirects=False)
    assert r.status_code == 303
    r = admin.post(f"/dashboard/credit-memos/{mid}/apply", {"invoice_id": inv2,
                                                            "amount": "50.00"})
    assert r.status_code == 422
    assert "has only $40.00 remaining" in r.text or "only 40.00 USD remaining" in r.text
    assert 'value="50.00"' in r.text  # kept what was typed
    admin.post(f"/dashboard/credit-memos/{mid}/apply", {"invoice_id": inv2, "amount": "40"})
    m = memos.get_memo(db, actor=actor, memo_id=mid)
    assert m.status == "applied"
    page = admin.get(f"/dashboard/credit-memos/{mid}").text
    assert 'id="application-' + inv1 + '"' in page and 'id="void-memo"' not in page
    r = admin.post(f"/dashboard/credit-memos/{mid}/applications/{inv1}/remove",
                   follow_redirects=False)
    assert r.status_code == 303
    m = memos.get_memo(db, actor=actor, memo_id=mid)
    assert (m.status, m.remaining_amount.to_str()) == ("partially_applied", "60.00")
    # L5: void refused while credit is applied
    r = admin.post(f"/dashboard/credit-memos/{mid}/void", {"reason": "mistake"})
    assert r.status_code == 409 and "remove its applications first" in r.text
    assert "mistake" in r.text


def test_void_needs_a_reason_and_keeps_it(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid, "30.00")
    r = admin.post(f"/dashboard/credit-memos/{mid}/void", {"reason": "  "})
    assert r.status_code == 422 and "required" in r.text
    assert memos.get_memo(db, actor=actor, memo_id=mid).status == "issued"
    r = admin.post(f"/dashboard/credit-memos/{mid}/void", {"reason": "Duplicate of CM-9"},
                   follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(f"/dashboard/credit-memos/{mid}").text
    assert "Duplicate of CM-9" in page and "Void" in page
    assert memos.get_memo(db, actor=actor, memo_id=mid).status == "void"


def test_apply_to_an_unknown_invoice_is_a_message_not_a_crash(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid, "30.00")
    r = admin.post(f"/dashboard/credit-memos/{mid}/apply", {"invoice_id": "inv_nope",
                                                            "amount": "1"})
    assert r.status_code == 404 and "No invoice with id inv_nope" in r.text
    assert 'id="memo-number"' in r.text  # still the memo page, with the message


def test_memo_page_search_candidates_by_number(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    a = invoices.get_invoice(db, actor=actor, invoice_id=factories.invoice(db, actor, cid))
    b = invoices.get_invoice(db, actor=actor, invoice_id=factories.invoice(db, actor, cid))
    mid = factories.memo(db, actor, cid, "10.00")
    page = admin.get(f"/dashboard/credit-memos/{mid}?invoice_q={b.number}").text
    assert f'id="candidate-{b.number}"' in page and f'id="candidate-{a.number}"' not in page


def test_another_partners_memo_is_404_everywhere(admin, rival, db, actor) -> None:
    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid, "30.00", issue=False)
    other, _ = rival
    assert other.get(f"/dashboard/credit-memos/{mid}").status_code == 404
    assert other.get(f"/dashboard/credit-memos/{mid}/edit").status_code == 404
    for action in ("issue", "delete", "void"):
        r = other.post(f"/dashboard/credit-memos/{mid}/{action}", {"reason": "x"})
        assert r.status_code == 404, action
    assert other.post(f"/dashboard/credit-memos/{mid}/apply",
                      {"invoice_id": "x", "amount": "1"}).status_code == 404
    assert memos.get_memo(db, actor=actor, memo_id=mid).status == "draft"
    assert "CM-0001" not in other.get("/dashboard/credit-memos").text


def test_synced_memo_is_read_only_naming_its_source(admin, db, actor) -> None:
    from sqlalchemy import update

    from creditdesk.db import models

    cid = factories.customer(db, actor)
    mid = factories.memo(db, actor, cid, "30.00")
    with db.write() as s:  # no sync engine yet: mark a memo as synced from Xero
        s.execute(update(models.CreditMemo).where(models.CreditMemo.id == mid)
                  .values(source="xero", external_id="X-1"))
    page = admin.get(f"/dashboard/credit-memos/{mid}").text
    assert "Synced from Xero" in page and "read-only" in page
    assert 'id="void-memo"' not in page
    # Y11: its credit may be applied — to its own system's invoices, written back there
    assert 'id="write-back-hint"' in page and 'id="apply-candidates"' not in page
    r = admin.post(f"/dashboard/credit-memos/{mid}/void", {"reason": "x"})
    assert r.status_code == 409 and "change it in Xero" in r.text


def test_apply_cap_from_the_invoice_side_and_remove_there(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid, "50.00")
    mid = factories.memo(db, actor, cid, "20.00")
    credit.apply_credit(db, actor=actor, memo_id=mid, invoice_id=inv, amount="20.00")
    page = admin.get(f"/dashboard/invoices/{inv}").text
    m = memos.get_memo(db, actor=actor, memo_id=mid)
    assert m.number in page and "$30.00" in page  # balance due
    r = admin.post(f"/dashboard/invoices/{inv}/credits/{mid}/remove", follow_redirects=False)
    assert r.status_code == 303
    assert invoices.get_invoice(db, actor=actor, invoice_id=inv).balance_due.to_str() == "50.00"
    r = admin.post(f"/dashboard/invoices/{inv}/credits/{mid}/remove")
    assert r.status_code == 404 and "has no credit applied" in r.text
