"""The demo at first sight, in Chromium (issue 11, item 11): the demo partner's
Suggestions page shows one open suggestion of each reason, a memo applied to invoices,
and a customer portal with an overdue invoice paid in part and credited, explained; memos
synced from QuickBooks Online and Xero with their source badges and their credit used
at the source, a customer with records in three places and a likely copy, and the two
disconnected connections with their run; synced invoices and synced credit written back
(applied, pending, refused with Retry and Cancel); and every page of the demo, crawled,
fits a 375 px phone. Screenshots in
tests/browser/screenshots/ (demo-*.png and phone/demo-*.png)."""

from __future__ import annotations

import re

import pytest

from creditdesk.demo import books as demo_sync
from creditdesk.demo import partner as demo
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import portal as portal_service
from tests.browser.conftest import PHONE, expect, screenshot
from tests.browser.test_phone_width import (
    REQUIRED_DASHBOARD,
    REQUIRED_PORTAL,
    check,
    crawl,
    fresh_screenshots,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def northwind(site):
    """The demo partner, loaded into the browser tests' database (once: load is idempotent)."""
    info = demo.load(site.db)
    return info, partners.authenticate_api_key(site.db, info.api_key)


def sign_in_demo(page, info) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(info.admin_email)
    page.get_by_label("Password").fill(info.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Credit memos")


def explained_customer(site, actor: Actor) -> tuple[str, str]:
    """A demo customer who sees credit, with an overdue invoice paid in part and credited."""
    today = clock.today()
    for inv in invoices.list_invoices(site.db, actor=actor, limit=200).data:
        if (inv.payments and inv.credits_applied and inv.balance_due.minor > 0
                and inv.due_date and inv.due_date < today
                and portal_service.credit_visible(site.db, who=_who(actor, inv.customer_id))):
            return inv.customer_id, inv.id
    raise AssertionError("the demo has no overdue invoice paid in part and credited")


def _who(actor: Actor, customer_id: str):
    from creditdesk.services.access.portal_links import PortalCustomer

    return PortalCustomer(actor.partner_id, customer_id, "")


def test_the_demo_shows_every_feature_at_first_sight(new_page, site, northwind) -> None:
    info, actor = northwind
    page = new_page()
    sign_in_demo(page, info)
    page.get_by_role("link", name="Suggestions").click()
    items = page.locator("ol.suggestions > li")
    expect(items).to_have_count(4)
    for reason in ("Duplicate charge", "Pricing error", "Billing adjustment", "Service issue"):
        expect(page.locator("ol.suggestions h3", has_text=reason)).to_have_count(1)
    screenshot(page, "demo-suggestions-desktop")

    # A memo applied across two invoices, each application with Remove.
    spread = next(m for m in memos.list_memos(site.db, actor=actor, limit=200).data
                  if len(credit.list_applications(site.db, actor=actor, memo_id=m.id)) >= 2)
    page.goto(f"/dashboard/credit-memos/{spread.id}")
    expect(page.locator("#applications-table tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name=re.compile("^Remove credit from"))).to_have_count(2)

    # A customer's portal: overdue marked, the partly paid invoice explained.
    cid, inv = explained_customer(site, actor)
    page.goto(f"/dashboard/customers/{cid}")
    page.get_by_role("button", name="Create portal sign-in link").click()
    link = page.get_by_label("Sign-in link").input_value()
    customer = new_page()
    customer.goto(link)
    expect(customer.locator("#partner-name")).to_have_text("Northwind IT Services")
    customer.get_by_role("button", name="Continue to your account").click()
    expect(customer.locator("#overdue-summary")).to_contain_text("Overdue:")
    screenshot(customer, "demo-portal-overview-desktop")
    customer.goto(f"/portal/invoices/{inv}")
    expect(customer.locator("h1")).to_contain_text("Overdue by")
    expect(customer.locator("#balance-explained tr.payment")).not_to_have_count(0)
    expect(customer.locator("#balance-explained tr.applied")).not_to_have_count(0)
    screenshot(customer, "demo-portal-invoice-desktop")

    # The visibility exception: that customer's portal says nothing of credit.
    excepted = customers.list_customers(site.db, actor=actor, limit=200).data
    hidden = [c for c in excepted if not portal_service.credit_visible(
        site.db, who=_who(actor, c.id))]
    assert len(hidden) == 1


def _customer_named(site, actor: Actor, name: str, *, synced: bool) -> str:
    found = [c for c in customers.list_customers(site.db, actor=actor, limit=200).data
             if c.name == name and bool(c.references and c.sources != ["native"]) == synced]
    assert len(found) == 1, found
    return found[0].id


def _memo_numbered(site, actor: Actor, number: str) -> str:
    return next(m.id for m in memos.list_memos(site.db, actor=actor, limit=200).data
                if m.number == number)


def test_the_demo_shows_synced_books_at_first_sight(new_page, site, northwind) -> None:
    """Items 5 and 6 with nothing to set up: synced memos among the native ones, credit used
    in QuickBooks Online and in Xero said as such, Contoso's page listing its sources with
    memos from all three, Fabrikam's likely copy, and the disconnected connections."""
    info, actor = northwind
    page = new_page()
    sign_in_demo(page, info)
    table = page.locator("#memo-table")
    for badge in ("CreditDesk", "QuickBooks Online", "Xero"):
        expect(table.locator("span.badge", has_text=badge).first).to_be_visible()
    screenshot(page, "demo-memos-with-sources-desktop")
    page.get_by_label("Source").select_option(label="QuickBooks Online")  # htmx: on change
    expect(page).to_have_url(re.compile(r"source=quickbooks_online"))
    expect(table.locator("tbody tr")).to_have_count(4)

    page.goto(f"/dashboard/credit-memos/{_memo_numbered(site, actor, '1041')}")
    expect(page.locator("#synced-use")).to_contain_text("Applied in QuickBooks Online")
    expect(page.locator("#synced-applied")).to_have_text("$150.00")
    expect(page.get_by_text("No credit applied yet")).to_have_count(0)
    expect(page.locator("#synced-lines")).to_be_visible()
    screenshot(page, "demo-synced-memo-qbo-desktop")
    page.goto(f"/dashboard/credit-memos/{_memo_numbered(site, actor, 'CN-0207')}")
    expect(page.locator("#synced-use")).to_contain_text("Applied in Xero")
    expect(page.locator("#synced-applied")).to_have_text("$164.00")
    expect(page.locator("#synced-refunded")).to_have_text("$100.00")
    screenshot(page, "demo-synced-memo-xero-desktop")

    linked = _customer_named(site, actor, demo_sync.LINKED[0], synced=True)
    page.goto(f"/dashboard/customers/{linked}")
    expect(page.locator("#customer-sources")).to_have_text(
        re.compile(r"QuickBooks Online\s+Xero"))
    rows = page.locator("#source-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Same billing email")).to_have_count(2)
    memo_sources = page.locator("#customer-memos td span.badge")
    for badge in ("CreditDesk", "QuickBooks Online", "Xero"):
        expect(memo_sources.filter(has_text=badge).first).to_be_visible()
    screenshot(page, "demo-customer-three-sources-desktop")

    native = _customer_named(site, actor, demo_sync.COPY[0], synced=False)
    page.goto(f"/dashboard/customers/{native}")
    copy = page.locator("#merge-candidates tbody tr")
    expect(copy).to_have_count(1)
    expect(copy).to_contain_text(demo_sync.COPY[1])
    expect(copy).to_contain_text("QuickBooks Online")
    page.locator("#sources").scroll_into_view_if_needed()
    screenshot(page, "demo-customer-likely-copy-desktop")

    page.goto("/dashboard/integrations")
    cards = page.locator("section.integration")
    expect(cards).to_have_count(2)
    for name, fetched, n, invs in (("QuickBooks Online", 7, 4, 3), ("Xero", 5, 3, 2)):
        card = cards.filter(has=page.get_by_role("heading", name=f"{name}: {demo_sync.COMPANY}"))
        expect(card.locator(".integration-status")).to_have_text("disconnected")
        expect(card.locator(".sync-summary")).to_contain_text(
            f"{fetched} fetched; {n} memos created, 0 updated, 0 voided; {invs} invoices "
            "created")
        expect(card).to_contain_text("Disconnected: syncing has stopped")
        expect(card.get_by_role("button", name="Sync now")).to_have_count(0)
    screenshot(page, "demo-integrations-desktop")


def _invoice_numbered(site, actor: Actor, number: str) -> str:
    return next(i.id for i in invoices.list_invoices(site.db, actor=actor, limit=200).data
                if i.number == number)


def test_the_demo_shows_synced_invoices_and_write_backs_at_first_sight(
        new_page, site, northwind) -> None:
    """Y9 and Y11-Y13 with nothing to set up: a synced invoice with its badge and the
    system's balance; on the memo pages, credit applied here and written back (applied),
    one sent and waiting for Xero, one refused in QuickBooks' words with Retry and
    Cancel."""
    info, actor = northwind
    page = new_page()
    sign_in_demo(page, info)
    page.goto("/dashboard/invoices")
    rows = page.locator("#invoice-table tbody tr")
    for badge in ("QuickBooks Online", "Xero"):
        expect(rows.locator("span.badge", has_text=badge).first).to_be_visible()
    page.goto(f"/dashboard/invoices/{_invoice_numbered(site, actor, '1187')}")
    expect(page.locator("#invoice-source")).to_have_text("From QuickBooks Online")
    expect(page.locator("#invoice-balance")).to_have_text("$1,096.00")
    screenshot(page, "demo-synced-invoice-desktop")

    page.goto(f"/dashboard/credit-memos/{_memo_numbered(site, actor, '1042')}")
    row = page.locator("#applications-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("1187")
    expect(row).to_contain_text("Applied (")
    expect(row.get_by_role("button", name="Remove credit from 1187 in QuickBooks Online")
           ).to_be_visible()
    screenshot(page, "demo-write-back-applied-desktop")
    page.goto(f"/dashboard/credit-memos/{_memo_numbered(site, actor, '1044')}")
    row = page.locator("#applications-table tbody tr.write-back-failed")
    expect(row.locator(".write-back-error")).to_have_text(
        "QuickBooks Online refused to apply the credit: The account period has closed.")
    expect(row.get_by_role("button", name="Send 1190 to QuickBooks Online again")).to_be_visible()
    expect(row.get_by_role("button", name="Cancel the write-back to 1190")).to_be_visible()
    screenshot(page, "demo-write-back-refused-desktop")
    page.goto(f"/dashboard/credit-memos/{_memo_numbered(site, actor, 'CN-0214')}")
    expect(page.locator("#applications-table tbody tr.write-back-pending")).to_contain_text(
        "Sent — waiting for Xero")
    screenshot(page, "demo-write-back-pending-desktop")


def test_every_demo_page_fits_a_phone(new_page, site, northwind) -> None:
    info, actor = northwind
    problems: list[str] = []
    fresh_screenshots("demo")
    page = new_page(PHONE)
    sign_in_demo(page, info)
    # From the drafts tab: the newest memos are the synced ones, which have no Edit link,
    # and the crawl visits only a few memo pages.
    crawl(page, site.url, "/dashboard/credit-memos?status=draft", ("/dashboard",),
          REQUIRED_DASHBOARD, problems, "demo")
    synced = [*(f"/dashboard/credit-memos/{_memo_numbered(site, actor, n)}"
                for n in ("1041", "CN-0207", "1042", "1044", "CN-0214")),
              *(f"/dashboard/invoices/{_invoice_numbered(site, actor, n)}"
                for n in ("1187", "1190", "INV-0418"))]
    linked = _customer_named(site, actor, demo_sync.LINKED[0], synced=True)
    copied = _customer_named(site, actor, demo_sync.COPY[0], synced=False)
    for url in [*synced, f"/dashboard/customers/{linked}", f"/dashboard/customers/{copied}"]:
        page.goto(url)
        check(page, url, problems, "demo-synced")
    cid, _inv = explained_customer(site, actor)
    page.goto(f"/dashboard/customers/{cid}")
    page.get_by_role("button", name="Create portal sign-in link").click()
    link = page.get_by_label("Sign-in link").input_value()
    check(page, "/dashboard/customers/with-link", problems, "demo-state")
    portal = new_page(PHONE)
    portal.goto(link)
    portal.get_by_role("button", name="Continue to your account").click()
    crawl(portal, site.url, "/portal/", ("/portal",), REQUIRED_PORTAL, problems, "demo-portal")
    assert not problems, "demo pages wider than a 375 px phone:\n" + "\n".join(problems)
