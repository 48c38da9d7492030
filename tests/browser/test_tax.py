"""T1-T4 in a real browser, JavaScript on and off, at desktop width and at 375 px: an admin
adds a tax rate under Team Preferences, picks it on a new memo's line, sees the tax per
rate on the memo page, starts a memo from a taxed invoice, and reads the tax report; the
customer sees the tax in the portal. Screenshots in tests/browser/screenshots/tax-*.png."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import memo_lifecycle, memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices, tax_rates
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, expect, screenshot, sign_in
from tests.browser.test_portal_apply_credit import fits
from tests.browser.test_portal_pages import signed_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_t1_t4_rates_memo_lines_pages_and_report(new_page, site, tenant, javascript,
                                                 viewport) -> None:
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Initech")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    name = f"tax-{'js' if javascript else 'nojs'}-{viewport['width']}"
    page = new_page(viewport, javascript=javascript)
    sign_in(page, tenant)

    # T1: Team Preferences > Tax rates: a compound rate, then a refusal, then a simple one
    page.goto("/dashboard/preferences/credit-balance-visibility")
    page.locator("#tab-tax-rates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tax rates")
    page.get_by_label("Name", exact=True).fill("NYC sales tax")
    page.get_by_label("Component 1 name").fill("State")
    page.get_by_label("Component 1 rate (%)").fill("4")
    page.get_by_label("Component 2 name").fill("City")
    page.get_by_label("Component 2 rate (%)").fill("4.875")
    page.get_by_role("button", name="Add tax rate").click()
    expect(page.locator("main .notice")).to_contain_text("NYC sales tax (8.875 %) added")
    page.get_by_label("Name", exact=True).fill("CA sales tax")
    page.get_by_label("Rate (%)", exact=True).fill("7.25001")
    page.get_by_role("button", name="Add tax rate").click()
    expect(page.locator("#err-add-rate")).to_contain_text("4 decimal places")
    page.get_by_label("Rate (%)", exact=True).fill("7.25")
    page.get_by_role("button", name="Add tax rate").click()
    expect(page.locator("#tax-rates-table")).to_contain_text("State 4 % + City 4.875 %")
    fits(page, viewport)
    screenshot(page, f"{name}-1-rates")

    # T2: a new memo with a taxed line
    page.goto(f"/dashboard/credit-memos/new?customer_id={cid}")
    page.get_by_label("Line 1 description").fill("Seats")
    page.locator("#line-0-quantity").fill("2")
    page.locator("#line-0-unit_price").fill("50.00")
    page.locator("#line-0-tax_rate_id").select_option(label="CA sales tax (7.25 %)")
    fits(page, viewport)
    screenshot(page, f"{name}-2-memo-form")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#memo-subtotal")).to_have_text("$100.00")
    expect(page.locator(".memo-tax")).to_have_text(["$7.25"])
    expect(page.locator("#memo-total")).to_have_text("$107.25")
    fits(page, viewport)
    screenshot(page, f"{name}-3-memo")

    # T3: a taxed invoice, credited from its page: the memo carries the rate
    ca = next(r.id for r in tax_rates.list_tax_rates(db, actor=actor) if r.name == "CA sales tax")
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Backup", "quantity": 3, "unit_price": "33.33", "tax_rate_id": ca}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    page.goto(f"/dashboard/invoices/{inv.id}")
    expect(page.locator("#invoice-total")).to_have_text("$107.24")  # 99.99 + 7.249 -> 7.25
    fits(page, viewport)
    screenshot(page, f"{name}-4-invoice")

    # T4: the report
    page.goto("/dashboard/invoices")
    page.locator("#link-tax-report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tax report")
    expect(page.locator("#tax-report-table")).to_contain_text("CA sales tax")
    fits(page, viewport)
    screenshot(page, f"{name}-5-report")

    # the portal shows the invoice's tax
    portal = signed_in(new_page, site, tenant, cid, viewport, javascript=javascript)
    portal.goto(f"/portal/invoices/{inv.id}")
    expect(portal.locator("#invoice-subtotal")).to_have_text("$99.99")
    expect(portal.get_by_text(re.compile("Tax: CA sales tax"))).to_be_visible()
    fits(portal, viewport)
    screenshot(portal, f"{name}-6-portal-invoice")

    # T2: the portal's memo list shows a memo's tax per rate
    nyc = next(r.id for r in tax_rates.list_tax_rates(db, actor=actor)
               if r.name == "NYC sales tax")
    m = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill", lines=[
        {"description": "Seats", "quantity": 1, "unit_price": "100.00", "tax_rate_id": ca},
        {"description": "Support", "quantity": 1, "unit_price": "10.00", "tax_rate_id": nyc}])
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id)
    portal.goto("/portal/credit-memos")
    row = portal.locator("#portal-memos tr", has_text=m.number)
    expect(row).to_contain_text("incl. CA sales tax $7.25")
    expect(row).to_contain_text("incl. NYC sales tax $0.89")  # 0.40 + 0.4875 → 0.49
    fits(portal, viewport)
    screenshot(portal, f"{name}-7-portal-memos")
