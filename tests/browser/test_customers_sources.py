"""One customer across sources (Y10) and synced memos that tell one story (Y4), in Chromium:
source badges on the customer list and page, the matching rule stated, merge and unlink
from the customer page with a confirmation (JavaScript on and off), staff seeing no such
controls, and a synced memo showing "Applied in QuickBooks Online: $150.00" on the memo page
and in the portal — never "No credit applied yet" — with refunds at the source kept apart."""

from __future__ import annotations

import re
from datetime import date

import pytest

from creditdesk.connectors import base
from creditdesk.services.access import users
from creditdesk.services.customer_accounts import visibility
from tests.browser.conftest import (
    PASSWORD,
    PHONE,
    expect,
    portal_link,
    screenshot,
    sign_in,
)
from tests.sync_helpers import land, synced_memos

pytestmark = pytest.mark.browser


def remote(external_id: str, customer_id: str, name: str, *, total: int = 15000,
           remaining: int | None = None, refunded: int = 0,
           number: str | None = None) -> base.RemoteMemo:
    return base.RemoteMemo(
        external_id=external_id, number=number or f"CM-{external_id}",
        customer_external_id=customer_id, customer_name=name, currency="USD",
        total_minor=total, remaining_minor=total if remaining is None else remaining,
        issue_date=date(2026, 11, 2), refunded_minor=refunded)


@pytest.fixture
def copies(site, tenant):
    """The same business synced from QuickBooks Online and from Xero, without an email to
    match them by: two customers until an admin links them."""
    db, actor = site.db, tenant.actor
    land(db, actor, "quickbooks_online", [remote("q61", "61", "Customer 61", number="1061")])
    land(db, actor, "xero", [remote("x61", "g-61", "Customer 61 LLC", total=4000,
                                    number="CN-0061")])
    return {"qbo": synced_memos(db, "quickbooks_online")["q61"].customer_id,
            "xero": synced_memos(db, "xero")["x61"].customer_id}


def test_y10_sources_badges_and_the_rule_on_the_customer_list(page, tenant, copies) -> None:
    sign_in(page, tenant)
    page.get_by_role("link", name="Customers", exact=True).click()
    expect(page.locator("#matching-rule")).to_contain_text("same billing email")
    rows = page.locator("#customer-table tbody tr")
    expect(rows.filter(has_text="Customer 61 LLC").locator(".sources")).to_have_text("Xero")
    qbo_row = rows.filter(has=page.get_by_role("link", name="Customer 61", exact=True))
    expect(qbo_row.locator(".sources")).to_have_text("QuickBooks Online")
    screenshot(page, "customers_sources_list")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_y10_merge_then_unlink_from_the_customer_page_with_confirmation(
        new_page, site, tenant, copies, javascript: bool) -> None:
    page = new_page(javascript=javascript)
    sign_in(page, tenant)
    page.goto(f"/dashboard/customers/{copies['qbo']}")
    sources = page.locator("#sources")
    expect(sources.locator("#matching-rule")).to_contain_text(
        "matched by its id in that system")
    expect(page.locator("#source-table")).to_contain_text("QuickBooks Online")
    expect(page.locator("#source-table")).to_contain_text("Created by sync")
    page.get_by_label("Find a customer by name or email").fill("Customer 61")
    page.get_by_role("button", name="Search", exact=True).last.click()
    candidate = page.locator(f"#candidate-{copies['xero']}")
    expect(candidate).to_contain_text("Customer 61 LLC")
    expect(candidate).to_contain_text("Xero")

    # the confirmation says what will move; Cancel changes nothing
    candidate.get_by_role("button", name=re.compile("^Merge Customer 61 LLC")).click()
    confirm = page.locator("#confirm-merge")
    expect(confirm.get_by_role("heading")).to_have_text(
        "Merge Customer 61 LLC into Customer 61?")
    expect(confirm).to_contain_text("1 credit memo and the source Xero g-61")
    screenshot(page, f"customers_merge_confirmation_{'js' if javascript else 'nojs'}")
    confirm.get_by_role("link", name="Cancel").click()
    expect(page.locator("#confirm-merge")).to_have_count(0)
    expect(page.locator("#available-credit, #credit-summary .balances")).to_contain_text(
        "$150.00")

    page.get_by_label("Find a customer by name or email").fill("LLC")
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.locator(f"#candidate-{copies['xero']}").get_by_role("button").click()
    page.get_by_role("button", name="Merge customers").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/customers/{copies['qbo']}$"))
    expect(page.get_by_role("status").first).to_contain_text(
        "Merged Customer 61 LLC into Customer 61: moved 1 credit memo and the source Xero g-61")
    expect(page.locator("#customer-sources")).to_have_text(
        re.compile(r"QuickBooks Online\s+Xero"))
    expect(page.locator("#credit-summary .balances")).to_have_text("$190.00")
    expect(page.locator("#customer-memos")).to_contain_text("CN-0061")
    expect(page.locator("#source-table")).to_contain_text("By an administrator")
    expect(page.locator("#customer-audit")).to_contain_text(
        "Merged Customer 61 LLC into this customer: moved 1 credit memo and the source "
        "Xero g-61")
    expect(page.locator("#customer-audit")).to_contain_text(
        "Created by sync from QuickBooks Online (id 61)")
    screenshot(page, f"customers_merged_{'js' if javascript else 'nojs'}")

    # unlink the Xero source again: confirmation first, then a new customer takes it
    page.get_by_role("button", name="Unlink Xero g-61").click()
    confirm = page.locator("#confirm-unlink")
    expect(confirm.get_by_role("heading")).to_have_text("Unlink Xero g-61 from Customer 61?")
    expect(confirm).to_contain_text("A new customer, Customer 61 LLC, is created")
    expect(confirm).to_contain_text("1 credit memo")
    screenshot(page, f"customers_unlink_confirmation_{'js' if javascript else 'nojs'}")
    page.get_by_role("button", name="Unlink source").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Unlinked Xero g-61 from Customer 61: it now belongs to a new customer, "
        "Customer 61 LLC, with 1 credit memo")
    expect(page.locator("#customer-sources")).to_have_text("QuickBooks Online")
    expect(page.locator("#credit-summary .balances")).to_have_text("$150.00")
    expect(page.locator("#customer-memos")).not_to_contain_text("CN-0061")
    expect(page.locator("#customer-audit li").first).to_contain_text(
        "Unlinked Xero g-61: it moved to a new customer, Customer 61 LLC, with 1 credit memo")
    page.get_by_role("link", name="Customers", exact=True).click()
    expect(page.locator("#customer-table tbody tr").filter(has_text="Customer 61 LLC")
           .locator(".sources")).to_have_text("Xero")
    # the merged-away customer's old page is gone (merged, then a new one made on unlink)
    page.goto(f"/dashboard/customers/{copies['xero']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("This page isn't here")


def test_y10_refusal_in_words_next_to_the_form(page, site, tenant, copies) -> None:
    from tests import factories

    cad = factories.customer(site.db, tenant.actor, "Customer 61 Canada", currency="CAD")
    sign_in(page, tenant)
    page.goto(f"/dashboard/customers/{cad}")
    expect(page.locator("#no-candidates")).to_contain_text("No other CAD customer")
    page.goto(f"/dashboard/customers/{copies['qbo']}")
    page.get_by_label("Find a customer by name or email").fill("Canada")
    page.get_by_role("button", name="Search", exact=True).last.click()
    # only customers of the same currency are offered
    expect(page.locator("#no-candidates")).to_contain_text(
        "No other USD customer matches “Canada”")


def test_y10_staff_see_sources_but_no_merge_or_unlink(new_page, site, tenant, copies) -> None:
    users.create_user(site.db, actor=tenant.actor, email=f"staff-{tenant.partner_id}@x.test",
                      password=PASSWORD, role="staff")
    page = new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(f"staff-{tenant.partner_id}@x.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/dashboard/customers/{copies['qbo']}")
    expect(page.locator("#source-table")).to_contain_text("QuickBooks Online")
    expect(page.locator("#sources #matching-rule")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Unlink"))).to_have_count(0)
    expect(page.locator("#h-merge")).to_have_count(0)


def test_y10_customer_page_at_phone_width(new_page, tenant, copies) -> None:
    page = new_page(PHONE)
    sign_in(page, tenant)
    page.goto(f"/dashboard/customers/{copies['qbo']}")
    expect(page.locator("#sources")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    screenshot(page, "customers_sources_phone")


# --- Y4: synced memos tell one story --------------------------------------------------------

def portal_sign_in(customer, link: str) -> None:
    customer.goto(link)
    customer.get_by_role("button", name="Continue to your account").click()
    expect(customer).to_have_url(re.compile(r"/portal/$"))


def test_y4_synced_memo_shows_applied_in_the_system_never_no_credit_applied(
        page, new_page, site, tenant) -> None:
    db, actor = site.db, tenant.actor
    land(db, actor, "quickbooks_online", [
        remote("q150", "70", "Harbor Supply Co", total=20000, remaining=5000, number="1070")])
    land(db, actor, "xero", [
        remote("x30", "g-70", "Harbor Supply Co (Xero)", total=20000, remaining=2000,
               refunded=3000, number="CN-0070")])
    qbo = synced_memos(db, "quickbooks_online")["q150"]
    xero = synced_memos(db, "xero")["x30"]
    sign_in(page, tenant)

    page.goto(f"/dashboard/credit-memos/{qbo.id}")
    apps = page.locator("#applications")
    expect(apps).to_contain_text("Applied in QuickBooks Online")
    expect(apps.locator("#synced-applied")).to_have_text("$150.00")
    expect(apps).not_to_contain_text("No credit applied yet")
    expect(page.locator("#memo-applied")).to_have_text("$150.00 in QuickBooks Online")
    expect(page.locator("#memo-remaining")).to_have_text("$50.00")
    screenshot(page, "synced_memo_applied_in_qbo")

    page.goto(f"/dashboard/credit-memos/{xero.id}")
    apps = page.locator("#applications")
    expect(apps.locator("#synced-applied")).to_have_text("$150.00")
    expect(apps.locator("#synced-refunded")).to_have_text("$30.00")
    expect(apps).to_contain_text("Refunded in Xero")
    expect(page.locator("#memo-applied")).to_have_text("$150.00 in Xero")  # not $180.00
    expect(page.locator("#memo-refunded")).to_have_text("$30.00 in Xero")
    screenshot(page, "synced_memo_refunded_in_xero")

    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    customer = new_page()
    portal_sign_in(customer, portal_link(site, tenant, qbo.customer_id))
    customer.goto("/portal/credit-memos")
    row = customer.locator("#portal-memos tbody tr").filter(has_text="1070")
    expect(row.locator(".used")).to_have_text("Applied in QuickBooks Online: $150.00")
    screenshot(customer, "portal_synced_memo_applied")
    customer2 = new_page()
    portal_sign_in(customer2, portal_link(site, tenant, xero.customer_id))
    customer2.goto("/portal/credit-memos")
    row = customer2.locator("#portal-memos tbody tr").filter(has_text="CN-0070")
    expect(row.locator(".used .applied")).to_have_text("Applied in Xero: $150.00")
    expect(row.locator(".used .refunded")).to_have_text("Refunded in Xero: $30.00")
