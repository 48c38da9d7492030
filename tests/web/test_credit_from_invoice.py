"""The "Create credit memo" form of an invoice (C5, C6) without a browser's scripts: the
lines pre-filled with what can still be credited, the selection posted, refusals per line,
and an edited draft keeping the invoice lines it credits."""

from __future__ import annotations

import html
import re

from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices


def _invoice(db, actor, cid):
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Firewall appliance", "quantity": 2, "unit_price": "1000.00"},
        {"description": "Installation hours", "quantity": 3, "unit_price": "130.00"}])
    return invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)


def _memo_id(r) -> str:
    assert r.status_code == 303, r.text[-1500:]
    return r.headers["location"].rsplit("/", 1)[-1]


def test_form_prefills_and_posts_a_selection(admin, db, actor) -> None:
    from tests import factories
    cid = factories.customer(db, actor)
    inv = _invoice(db, actor, cid)
    page = admin.get(f"/dashboard/invoices/{inv.id}/credit-memos/new").text
    assert 'id="line-0-quantity" name="line-0-quantity" inputmode="numeric" size="5" value="2"' \
        in page
    l1, l2 = (li.id for li in inv.lines)
    form = {"reason": "returned_goods", "line_count": "2", "line-0-invoice_line_id": l1,
            "line-0-selected": "1", "line-0-quantity": "1", "line-1-invoice_line_id": l2,
            "line-1-quantity": "3"}  # line 2 not ticked
    first = memos.get_memo(db, actor=actor,
                           memo_id=_memo_id(admin.post(
                               f"/dashboard/invoices/{inv.id}/credit-memos", form,
                               follow_redirects=False)))
    assert [(li.invoice_line_id, li.quantity) for li in first.lines] == [(l1, 1)]
    # over-crediting line 1 and nothing ticked are both said in words, per line
    r = admin.post(f"/dashboard/invoices/{inv.id}/credit-memos",
                   form | {"line-0-quantity": "2"})
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert "Line 1: only 1 can still be credited, not 2" in text
    assert 'id="err-create_memo-line-0-quantity"' in r.text
    r = admin.post(f"/dashboard/invoices/{inv.id}/credit-memos",
                   {"reason": "other", "line_count": "2", "line-0-invoice_line_id": l1})
    assert r.status_code == 422 and "Choose at least one line to credit" in r.text

    # Editing the draft on the memo form keeps the invoice line it credits.
    edit = admin.get(f"/dashboard/credit-memos/{first.id}/edit").text
    assert f'name="line-0-invoice_line_id" value="{l1}"' in edit
    fields = dict(re.findall(r'name="([\w-]+)" value="([^"]*)"', edit))
    fields = {k: html.unescape(v) for k, v in fields.items()
              if not k.startswith("csrf") and k != "add_line"}
    fields |= {"reason": "returned_goods", "line-0-quantity": "2", "line_count": "3"}
    r = admin.post(f"/dashboard/credit-memos/{first.id}/edit", fields, follow_redirects=False)
    assert r.status_code == 303, html.unescape(r.text)[-2000:]
    again = memos.get_memo(db, actor=actor, memo_id=first.id)
    assert [(li.invoice_line_id, li.quantity) for li in again.lines] == [(l1, 2)]
