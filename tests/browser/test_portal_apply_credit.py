"""P5 in a real browser: the partner lets customers apply their credit (Team Preferences),
then the customer applies credit to its invoice from the portal — the effect first (the
invoice's new balance due, the credit left), confirm, the page again with the new balance —
with JavaScript on (htmx puts the confirmation into the page) and off (a page of its own,
POST-redirect-GET), at desktop width and at 375 px. Screenshots in
tests/browser/screenshots/portal-apply-credit-*.png."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, Page, expect, screenshot, sign_in
from tests.browser.test_portal_pages import signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def books(site, tenant):
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Initech")
    inv = factories.invoice(db, actor, cid, "1250.00")
    memo = factories.memo(db, actor, cid, "300.00")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    return {"customer": cid, "invoice": inv, "memo": memo,
            "number": memos.get_memo(db, actor=actor, memo_id=memo).number}


def allow_in_portal(admin: Page) -> None:
    """Team Preferences > Customers may apply their credit in the portal: on, confirmed."""
    admin.get_by_role("link", name="Team Preferences").click()
    admin.get_by_role("link", name="Customers may apply their credit in the portal").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        "Customers may apply their credit in the portal")
    switch = admin.get_by_role("switch", name="Customers may apply their credit in the portal")
    switch.set_checked(True)
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#choice-1-start")).to_contain_text(
        "1 customer will be able to apply their credit")
    screenshot(admin, "portal-apply-credit-preference-confirm")
    admin.locator("#confirm-action").click()
    expect(admin.locator("main .notice")).to_contain_text(
        "Customers may now apply their credit in the portal")
    expect(switch).to_be_checked()


def fits(page: Page, viewport: dict) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{page.url}: {width} px wide"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_p5_the_customer_applies_its_credit_after_seeing_the_effect(
        new_page, site, tenant, books, javascript, viewport) -> None:
    admin = new_page(javascript=javascript)
    sign_in(admin, tenant)
    if javascript:
        allow_in_portal(admin)
    else:  # the same page without JavaScript: the confirmation is a page of its own
        admin.goto("/dashboard/preferences/portal-credit-application")
        admin.get_by_role("switch", name="Customers may apply their credit in the portal"
                          ).set_checked(True)
        admin.get_by_role("button", name="Save").click()
        expect(admin.locator("#confirmation-page")).to_be_visible()
        admin.locator("#confirm-action").click()
        expect(admin.locator("main .notice")).to_contain_text("may now apply their credit")

    name = f"portal-apply-credit-{'js' if javascript else 'nojs'}-{viewport['width']}"
    page = signed_in(new_page, site, tenant, books["customer"], viewport, javascript=javascript)
    page.goto(f"/portal/invoices/{books['invoice']}")
    section = page.locator("#apply-credit")
    expect(section).to_contain_text(f"Credit memo {books['number']}")
    amount = page.get_by_label(re.compile("Amount to apply"))
    expect(amount).to_have_value("300.00")  # min(credit left, balance due)
    fits(page, viewport)
    screenshot(page, f"{name}-1-invoice")

    # A refusal first (more than the memo holds): words on the page, nothing applied.
    amount.fill("400")
    section.get_by_role("button", name=re.compile("Apply credit")).click()
    expect(page.locator("#error-apply")).to_contain_text("has only $300.00 remaining")
    screenshot(page, f"{name}-2-refused")

    page.get_by_label(re.compile("Amount to apply")).fill("250")
    page.locator("#apply-credit").get_by_role("button", name=re.compile("Apply credit")).click()
    expect(page.locator("#confirm-balance")).to_have_text("$1,250.00 → $1,000.00")
    expect(page.locator("#confirm-credit-left")).to_have_text("$300.00 → $50.00")
    if javascript:  # in the invoice page, under its form
        expect(page).to_have_url(re.compile(rf"/portal/invoices/{books['invoice']}$"))
        expect(page.locator("#confirmation #confirm-card")).to_be_visible()
    else:
        expect(page.locator("#confirmation-page")).to_be_visible()
    fits(page, viewport)
    screenshot(page, f"{name}-3-confirm")
    assert invoices.get_invoice(site.db, actor=tenant.actor, invoice_id=books["invoice"]
                                ).balance_due.to_str() == "1250.00"  # nothing yet

    page.locator("#confirm-action").click()
    expect(page).to_have_url(re.compile(rf"/portal/invoices/{books['invoice']}$"))
    expect(page.locator("main .notice")).to_contain_text(
        f"Applied $250.00 of credit memo {books['number']}")
    expect(page.locator("#invoice-balance")).to_have_text("$1,000.00")
    expect(page.locator("#balance-explained")).to_contain_text(
        f"Credit memo {books['number']} applied on")
    expect(page.get_by_label(re.compile("Amount to apply"))).to_have_value("50.00")
    fits(page, viewport)
    screenshot(page, f"{name}-4-applied")

    # The partner sees who did it: the customer.
    admin.goto(f"/dashboard/credit-memos/{books['memo']}")
    expect(admin.locator("#audit-trail")).to_contain_text(f"by customer:{books['customer']}")


def test_p5_not_allowed_shows_no_control(new_page, site, tenant, books) -> None:
    page = signed_in(new_page, site, tenant, books["customer"], DESKTOP)
    page.goto(f"/portal/invoices/{books['invoice']}")
    expect(page.locator("#invoice-balance")).to_have_text("$1,250.00")
    expect(page.locator("#apply-credit")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Apply credit"))).to_have_count(0)


@pytest.mark.parametrize(("javascript", "viewport"), [(True, PHONE), (False, DESKTOP)],
                         ids=["js-375", "nojs-desktop"])
def test_p5_y11_the_customer_applies_xero_credit_written_back_to_xero(
        new_page, site, tenant, fake_xero, javascript, viewport) -> None:
    """P5 with Y11 in Chromium: a Xero invoice offers the customer's Xero credit; the effect
    shown is what Xero's acceptance will do; after Confirm the credit is waiting; once the
    job has written it to Xero (the runner, elsewhere), the invoice shows Xero's balance."""
    from creditdesk.db import models
    from creditdesk.services.customer_accounts import portal_credit_setting
    from tests.services.test_write_back import Books, allocations, drain

    db, actor = site.db, tenant.actor
    b = Books(db, actor, fake_xero)
    with db.read() as session:
        customer_id = session.get_one(models.CreditMemo, b.memo_id).customer_id
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    portal_credit_setting.set_enabled(db, actor=actor, enabled=True)
    name = f"portal-apply-xero-credit-{'js' if javascript else 'nojs'}-{viewport['width']}"
    page = signed_in(new_page, site, tenant, customer_id, viewport, javascript=javascript)
    page.goto(f"/portal/invoices/{b.invoices[0]}")
    expect(page.locator("#invoice-balance")).to_have_text("$80.00")
    page.get_by_label(re.compile("Amount to apply")).fill("30")
    page.locator("#apply-credit").get_by_role("button", name=re.compile("Apply credit")).click()
    expect(page.locator("#confirm-card")).to_contain_text("sent to Xero")
    expect(page.locator("#confirm-balance")).to_have_text("$80.00 → $50.00")
    fits(page, viewport)
    screenshot(page, f"{name}-1-confirm")
    page.locator("#confirm-action").click()
    expect(page.locator("main .notice")).to_contain_text("Sent $30.00 of credit memo")
    expect(page.locator("#credit-waiting")).to_contain_text("$30.00")
    expect(page.locator("#invoice-balance")).to_have_text("$80.00")  # Xero's, until it answers
    fits(page, viewport)
    screenshot(page, f"{name}-2-waiting")
    drain(db, fake_xero)
    assert len(allocations(fake_xero, b.note)) == 1
    page.reload()
    expect(page.locator("#invoice-balance")).to_have_text("$50.00")
    expect(page.locator("#credit-waiting")).to_have_count(0)
    screenshot(page, f"{name}-3-applied")
