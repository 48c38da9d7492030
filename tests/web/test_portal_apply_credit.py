"""P5 through HTTP: the customer applies its own credit from the portal's invoice page —
the effect shown first (a page of its own, or the htmx fragment), confirm, POST-redirect-
GET; refusals in words on the page; no control and a refused forged POST when not allowed;
nothing about credit when it is hidden (P3)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.customer_accounts import portal_credit_setting as setting
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.web.conftest import portal_for

HTMX = {"HX-Request": "true", "HX-Target": "confirmation"}


@pytest.fixture
def books(db, actor):
    """Wayne: a $120.00 invoice and a $200.00 memo; credit shown, applying it allowed."""
    cid = factories.customer(db, actor, "Wayne Enterprises")
    inv = factories.invoice(db, actor, cid, "120.00")
    memo = factories.memo(db, actor, cid, "200.00")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    setting.set_enabled(db, actor=actor, enabled=True)
    return {"customer": cid, "invoice": inv, "memo": memo,
            "number": memos.get_memo(db, actor=actor, memo_id=memo).number,
            "url": f"/portal/invoices/{inv}"}


def _balance(db, actor, books) -> str:
    return invoices.get_invoice(db, actor=actor, invoice_id=books["invoice"]).balance_due.to_str()


def test_p5_preview_then_confirm_without_javascript(db, actor, new_browser, books):
    b = portal_for(db, new_browser, actor, books["customer"])
    page = b.get(books["url"]).text
    assert 'id="apply-credit"' in page and books["number"] in page
    assert f'id="amount-{books["memo"]}"' in page and 'value="120.00"' in page  # the default
    r = b.post(books["url"] + "/apply-credit/preview",
               {"credit_memo_id": books["memo"], "amount": "50"})
    assert r.status_code == 200 and 'id="confirmation-page"' in r.text
    assert "$120.00 → <strong>$70.00</strong>" in r.text  # the invoice's new balance due
    assert "$200.00 → <strong>$150.00</strong>" in r.text  # the credit left
    assert _balance(db, actor, books) == "120.00"  # nothing changed yet
    r = b.post(books["url"] + "/apply-credit",
               {"credit_memo_id": books["memo"], "amount": "50.00"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == books["url"]
    after = b.get(books["url"]).text
    assert "Applied $50.00 of credit memo" in after and "Balance due now: $70.00" in after
    assert _balance(db, actor, books) == "70.00"
    with db.read() as session:
        app = session.scalars(select(models.CreditApplication)).one()
    assert (app.origin, app.applied_by) == ("portal", f"customer:{books['customer']}")


def test_p5_preview_with_htmx_is_the_fragment(db, actor, new_browser, books):
    b = portal_for(db, new_browser, actor, books["customer"])
    r = b.post(books["url"] + "/apply-credit/preview",
               {"credit_memo_id": books["memo"], "amount": "120.00"}, headers=HTMX)
    assert r.status_code == 200 and 'id="confirm-card"' in r.text
    assert "<html" not in r.text and "confirmation-page" not in r.text
    assert "$120.00 → <strong>$0.00</strong>" in r.text


@pytest.mark.parametrize("htmx", [False, True])
def test_p5_refusals_are_words_on_the_invoice_page(db, actor, new_browser, books, htmx):
    b = portal_for(db, new_browser, actor, books["customer"])
    headers = HTMX if htmx else {}
    r = b.post(books["url"] + "/apply-credit/preview",
               {"credit_memo_id": books["memo"], "amount": "150.00"}, headers=headers)
    assert r.status_code == 422 and "balance due of only $120.00" in r.text
    assert 'id="apply-credit"' in r.text and 'value="150.00"' in r.text  # typed, kept
    r = b.post(books["url"] + "/apply-credit/preview",
               {"credit_memo_id": books["memo"], "amount": "lots"}, headers=headers)
    assert r.status_code == 422 and 'id="error-apply"' in r.text
    # A balance that changed between the preview and Confirm: refused, nothing changed.
    credit.apply_credit(db, actor=actor, memo_id=books["memo"], invoice_id=books["invoice"],
                        amount="100.00")
    r = b.post(books["url"] + "/apply-credit",
               {"credit_memo_id": books["memo"], "amount": "120.00"}, headers=headers)
    assert r.status_code == 422 and "balance due is $20.00" in r.text
    assert _balance(db, actor, books) == "20.00"


def test_p5_forms_need_the_csrf_token(db, actor, new_browser, books):
    b = portal_for(db, new_browser, actor, books["customer"])
    for path in ("/apply-credit/preview", "/apply-credit"):
        r = b.post(books["url"] + path, {"credit_memo_id": books["memo"], "amount": "1"},
                   csrf=False)
        assert r.status_code == 403
    assert _balance(db, actor, books) == "120.00"


@pytest.mark.parametrize("why", ["preference_off", "an_exception", "credit_hidden"])
def test_p5_not_allowed_no_control_and_a_forged_post_is_refused(db, actor, new_browser,
                                                                books, why):
    if why == "preference_off":
        setting.set_enabled(db, actor=actor, enabled=False)
    elif why == "an_exception":
        setting.add_exception(db, actor=actor, customer_id=books["customer"])
    else:
        visibility.set_show_to_all(db, actor=actor, show_to_all_customers=False)
    b = portal_for(db, new_browser, actor, books["customer"])
    page = b.get(books["url"]).text
    assert "apply-credit" not in page and "Apply your credit" not in page
    for path in ("/apply-credit/preview", "/apply-credit"):
        r = b.post(books["url"] + path, {"credit_memo_id": books["memo"], "amount": "1.00"})
        assert r.status_code == (404 if why == "credit_hidden" else 403), path
        assert 'id="error-detail"' in r.text
        if why == "credit_hidden":  # P3: nothing about credit at all
            assert "credit" not in r.text.lower() and books["number"] not in r.text
        else:
            assert "Applying your credit from this portal is not available" in r.text
    assert _balance(db, actor, books) == "120.00"


def test_p5_hidden_credit_leaves_no_trace_of_the_controls(db, actor, new_browser, books):
    """P3 with the preference on: the invoice page says nothing about credit."""
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=False)
    b = portal_for(db, new_browser, actor, books["customer"])
    page = b.get(books["url"]).text
    assert "credit" not in page.lower() and "$200.00" not in page


def test_p5_another_customers_memo_or_invoice_is_not_found(db, actor, new_browser, books):
    other = factories.customer(db, actor, "Other")
    their_memo = factories.memo(db, actor, other, "10.00")
    their_invoice = factories.invoice(db, actor, other, "10.00")
    b = portal_for(db, new_browser, actor, books["customer"])
    r = b.post(books["url"] + "/apply-credit/preview",
               {"credit_memo_id": their_memo, "amount": "1.00"})
    assert r.status_code == 404 and "has no credit to apply" in r.text
    assert memos.get_memo(db, actor=actor, memo_id=their_memo).number not in r.text
    r = b.post(f"/portal/invoices/{their_invoice}/apply-credit",
               {"credit_memo_id": books["memo"], "amount": "1.00"})
    assert r.status_code == 404


def test_p5_nothing_offered_on_a_paid_invoice_or_without_credit_in_its_currency(
        db, actor, new_browser, books):
    eur = factories.invoice(db, actor, books["customer"], "10.00", currency="EUR")
    b = portal_for(db, new_browser, actor, books["customer"])
    page = b.get(f"/portal/invoices/{eur}").text
    assert 'id="no-credit-to-apply"' in page and "no credit in EUR" in page
    credit.apply_credit(db, actor=actor, memo_id=books["memo"], invoice_id=books["invoice"],
                        amount="120.00")
    assert 'id="apply-credit"' not in b.get(books["url"]).text  # paid: takes no credit


def test_p5_y11_synced_credit_is_applied_to_a_synced_invoice_and_written_back(
        db, actor, new_browser, fake_xero):
    """P5 with Y11: a Xero invoice takes the customer's Xero credit only; the effect shown
    is what Xero's acceptance will do; the application is sent to Xero (origin portal), is
    shown as waiting, then the invoice shows Xero's balance."""
    from tests.services.test_write_back import Books, allocations, drain

    b = Books(db, actor, fake_xero)
    with db.read() as session:
        customer_id = session.get_one(models.CreditMemo, b.memo_id).customer_id
    native = factories.memo(db, actor, customer_id, "15.00")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    setting.set_enabled(db, actor=actor, enabled=True)
    browser = portal_for(db, new_browser, actor, customer_id)
    url = f"/portal/invoices/{b.invoices[0]}"
    page = browser.get(url).text
    assert f'id="apply-credit-{b.memo_id}"' in page
    assert f'id="apply-credit-{native}"' not in page  # native credit: native invoices only
    asked = browser.post(url + "/apply-credit/preview",
                         {"credit_memo_id": b.memo_id, "amount": "30.00"})
    assert "sent to Xero" in asked.text
    assert "$80.00 → <strong>$50.00</strong>" in asked.text  # once Xero accepts it
    assert "$100.00 → <strong>$70.00</strong>" in asked.text
    done = browser.post(url + "/apply-credit", {"credit_memo_id": b.memo_id, "amount": "30.00"})
    assert "Sent $30.00 of credit memo" in done.text and 'id="credit-waiting"' in done.text
    with db.read() as session:
        app = session.scalars(select(models.CreditApplication)).one()
    assert (app.status, app.origin, app.write_back_system) == ("pending", "portal", "xero")
    drain(db, fake_xero)
    assert len(allocations(fake_xero, b.note)) == 1
    after = browser.get(url).text
    assert 'id="credit-waiting"' not in after and "$50.00" in after
