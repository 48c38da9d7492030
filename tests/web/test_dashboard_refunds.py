"""R1-R3 and P6 on the memo page through HTTP (JavaScript off): the Refund form asks for
confirmation with the preview, then records the refund; each refund has Void; refusals are
shown next to the form; the memo, invoice and customer pages show the refunded credit."""

from __future__ import annotations

import re

from creditdesk.services.credit_memos import credit, memos, refunds
from tests import factories

FORM = {"amount": "30.00", "method": "check", "refunded_at": "2026-11-30",
        "reference": "Check 1042"}


def test_r1_p6_refund_form_confirms_then_records(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    memo_id = factories.memo(db, actor, cid, "100.00")
    page = admin.get(f"/dashboard/credit-memos/{memo_id}")
    assert 'id="refund-form"' in page.text and 'id="no-refunds"' in page.text
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/refund/preview", FORM)
    assert r.status_code == 200 and 'id="confirm-card"' in r.text
    assert "Refund $30.00 of CM-0001 to Globex by check?" in r.text
    assert "1100 Accounts Receivable" in r.text and "1000 Cash" in r.text
    assert "$100.00 → $70.00" in r.text
    form = re.search(r'<form method="post" action="([^"]+)" id="confirm-form"', r.text)
    assert form and form.group(1) == f"/dashboard/credit-memos/{memo_id}/refund"
    assert memos.get_memo(db, actor=actor, memo_id=memo_id).refunds == ()  # nothing yet
    done = admin.post(f"/dashboard/credit-memos/{memo_id}/refund", FORM,
                      follow_redirects=False)
    assert done.status_code == 303
    page = admin.get(f"/dashboard/credit-memos/{memo_id}")
    assert "Refunded $30.00 of CM-0001 by check." in page.text
    assert 'id="refunds-table"' in page.text and "Check 1042" in page.text
    assert '<dd id="memo-refunded">$30.00</dd>' in page.text
    assert "Refund of credit memo CM-0001" in page.text  # the journal
    assert "Refunded $30.00 by check (reference Check 1042) on 2026-11-30" in page.text


def test_r1_refusal_is_shown_by_the_refund_form_with_what_was_typed(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    memo_id = factories.memo(db, actor, cid, "10.00")
    admin.get(f"/dashboard/credit-memos/{memo_id}")
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/refund/preview",
                   {**FORM, "amount": "10.01"})
    assert r.status_code == 422 and 'id="error-refund"' in r.text
    assert "refund $10.01: credit memo CM-0001 has only $10.00" in r.text
    assert 'value="10.01"' in r.text
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/refund", {**FORM, "method": ""})
    assert r.status_code == 422 and 'id="err-refund-method"' in r.text


def test_r2_void_of_a_refund_from_the_memo_page(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    memo_id = factories.memo(db, actor, cid, "10.00")
    r = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="10.00",
                            method="cash").refund
    page = admin.get(f"/dashboard/credit-memos/{memo_id}")
    assert 'id="refund-form"' not in page.text  # fully refunded: nothing left to refund
    url = f"/dashboard/credit-memos/{memo_id}/refunds/{r.id}/void"
    assert f'action="{url}/preview"' in page.text
    ask = admin.post(f"{url}/preview")
    assert ask.status_code == 200 and "The credit returns to the memo." in ask.text
    assert "$0.00 → $10.00" in ask.text
    assert admin.post(url, follow_redirects=False).status_code == 303
    m = memos.get_memo(db, actor=actor, memo_id=memo_id)
    assert (m.status, m.remaining_amount.minor) == ("issued", 1000)
    again = admin.post(url)
    assert again.status_code == 409 and 'id="error-refund-void"' in again.text


def test_r3_invoice_and_customer_pages_show_refunded_credit(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    inv = factories.invoice(db, actor, cid, "100.00")
    memo_id = factories.memo(db, actor, cid, "40.00", invoice_id=inv)
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="15.00")
    refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="25.00", method="card")
    invoice_page = admin.get(f"/dashboard/invoices/{inv}").text
    assert 'id="linked-refunded-CM-0001"' in invoice_page and "$25.00" in invoice_page
    customer_page = admin.get(f"/dashboard/customers/{cid}").text
    assert 'id="customer-refunds"' in customer_page
    assert "Refunded $25.00 by card" in customer_page


def test_r3_p3_portal_shows_refunds_only_when_credit_is_visible(db, actor,
                                                                 new_browser) -> None:
    from creditdesk.services.customer_accounts import visibility
    from tests.web.conftest import portal_for

    cid = factories.customer(db, actor, "Globex")
    inv = factories.invoice(db, actor, cid, "100.00")
    memo_id = factories.memo(db, actor, cid, "40.00", invoice_id=inv)
    refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="25.00", method="card",
                        reference="secret-ref")
    hidden = portal_for(db, new_browser, actor, cid)
    for url in ("/portal", "/portal/invoices", f"/portal/invoices/{inv}",
                "/portal/credit-memos"):
        text = hidden.get(url).text
        assert "Refund" not in text and "$25.00" not in text and "secret-ref" not in text, url
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    shown = portal_for(db, new_browser, actor, cid).get("/portal/credit-memos").text
    assert "Refunded: $25.00" in shown and "$15.00" in shown  # remaining 15.00
