"""Lists (issue 11, item 7): the htmx fragment carries the tabs, sort headers and pager, so
each keeps every filter after a filter changes; sorted pages follow each other; the audit
trail says what changed."""

from __future__ import annotations

import html
import re

from creditdesk.services.credit_memos import credit, memos
from tests import factories


def _links(text: str) -> dict[str, str]:
    return {m[2]: html.unescape(m[1]) for m in re.finditer(r'href="([^"]+)" id="([\w-]+)"', text)}


def test_fragment_tabs_and_headers_keep_every_filter(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    factories.memo(db, actor, cid)
    r = admin.get("/dashboard/credit-memos", params={
        "customer_id": cid, "q": "00", "source": "native", "has_remaining": "1",
        "sort": "-total"}, headers={"HX-Request": "true", "HX-Target": "memo-results"})
    links = _links(r.text)
    for tab in ("tab-issued", "tab-all"):
        for part in (f"customer_id={cid}", "q=00", "source=native", "has_remaining=1",
                     "sort=-total"):
            assert part in links[tab], (tab, part, links[tab])
    assert "status=issued" in links["tab-issued"] and "status=" not in links["tab-all"]
    assert "sort=total" in links["sort-total"]  # a second click reverses
    assert "sort=-remaining" in links["sort-remaining"] and "sort=number" in links["sort-number"]
    assert f"customer_id={cid}" in links["sort-number"]
    assert 'aria-sort="descending"' in r.text


def test_sorted_list_pages_keep_the_sort(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    for i in range(1, 28):
        factories.memo(db, actor, cid, f"{i}.00", issue=False)
    first = admin.get("/dashboard/credit-memos?sort=total")
    assert first.text.count('<tr id="memo-') == 25
    nxt = _links(first.text)["next-page"]
    assert "sort=total" in nxt
    second = admin.get(nxt)
    numbers = re.findall(r">(CM-\d+)</a>", second.text)
    assert numbers == ["CM-0026", "CM-0027"]
    assert admin.get("/dashboard/credit-memos?sort=colour").status_code == 422


def test_invoice_list_sorts_and_keeps_filters(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    small = factories.invoice(db, actor, cid, "10.00")
    big = factories.invoice(db, actor, cid, "900.00")
    r = admin.get("/dashboard/invoices", params={"sort": "-total", "customer_id": cid})
    assert r.text.index(f"/dashboard/invoices/{big}") < r.text.index(
        f"/dashboard/invoices/{small}")
    assert f"customer_id={cid}" in _links(r.text)["sort-balance"]


def test_audit_trail_says_what_changed(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    inv = factories.invoice(db, actor, cid, "500.00")
    number = re.search(r"INV-\d+", admin.get(f"/dashboard/invoices/{inv}").text)[0]
    mid = factories.memo(db, actor, cid, "100.00", issue=False)
    memos.update_memo(db, actor=actor, memo_id=mid, changes={"amount": "150.00",
                                                             "reason": "pricing_error"})
    from creditdesk.services.credit_memos import memo_lifecycle
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=mid)
    credit.apply_credit(db, actor=actor, memo_id=mid, invoice_id=inv, amount="40.00")
    text = html.unescape(admin.get(f"/dashboard/credit-memos/{mid}").text)
    trail = text[text.index('id="audit-trail"'):]
    assert "Changed the total from $100.00 to $150.00; the reason from Goodwill to Pricing " \
           "error" in trail
    assert "Issued for $150.00" in trail
    assert f"Applied $40.00 to invoice {number}" in trail
