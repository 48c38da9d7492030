"""Synced invoices shown (Y9, P1, P3), in Chromium: the dashboard's invoice list with the
"QuickBooks Online" badge and the source filter (htmx, keeping the customer filter), the
read-only invoice page with the system's tax and balance due, and the Customer Portal's
balance due summing a native and a synced invoice."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.browser.conftest import expect, portal_link, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def books(site, tenant):
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Harbor Supply Co")
    other = factories.customer(db, actor, "Contoso Dental")
    native = factories.invoice(db, actor, cid, "100.00")
    factories.invoice(db, actor, other, "75.00")
    synced = factories.synced_invoice(
        db, actor, cid, "110.00", balance="50.00", tax="10.00", number="1042",
        external_id="130", lines=[("Backup seats (per seat, monthly)", "1.5", "60.00"),
                                  ("Onboarding", "1", "40.00")])
    return {"customer": cid, "native": native, "synced": synced}


def test_y9_synced_invoice_in_the_dashboard_list_and_the_portal_total(page, site, tenant,
                                                                      books) -> None:
    sign_in(page, tenant)
    page.get_by_role("link", name="Invoices", exact=True).click()
    rows = page.locator("#invoice-table tbody tr")
    expect(rows).to_have_count(3)
    synced_row = rows.filter(has=page.get_by_role("link", name="1042", exact=True))
    expect(synced_row.locator(".badge.source-quickbooks_online")).to_have_text(
        "QuickBooks Online")
    expect(synced_row).to_contain_text("$50.00")
    # filter: this customer, then QuickBooks Online only (htmx swaps the results)
    page.get_by_label("Customer").select_option(label="Harbor Supply Co (USD)")
    expect(rows).to_have_count(2)
    page.get_by_label("Source").select_option(label="QuickBooks Online")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("1042")
    expect(page).to_have_url(re.compile(r"source=quickbooks_online"))
    expect(page).to_have_url(re.compile(rf"customer_id={books['customer']}"))
    screenshot(page, "synced_invoice_list")

    rows.first.get_by_role("link", name="1042").click()
    expect(page.locator("#invoice-source")).to_have_text("From QuickBooks Online")
    expect(page.locator("#read-only")).to_contain_text("change it in QuickBooks Online")
    expect(page.locator("#invoice-tax")).to_have_text("$10.00")
    expect(page.locator("#invoice-balance")).to_have_text("$50.00")
    expect(page.get_by_text("Balance due (as QuickBooks Online reports it)")).to_be_visible()
    expect(page.locator("#create-memo")).to_have_count(0)
    expect(page.locator("form[action*='/dashboard/invoices/']")).to_have_count(0)
    screenshot(page, "synced_invoice_page")

    portal = page.context.browser.new_context(base_url=site.url).new_page()
    portal.goto(portal_link(site, tenant, books["customer"]))
    portal.get_by_role("button", name="Continue to your account").click()
    expect(portal.locator("#balance-due")).to_contain_text("$150.00")
    open_rows = portal.locator("#open-invoices tbody tr")
    expect(open_rows).to_have_count(2)
    expect(open_rows.filter(has_text="1042")).to_contain_text("$50.00")
    screenshot(portal, "synced_invoice_portal_overview")
    portal.context.close()
