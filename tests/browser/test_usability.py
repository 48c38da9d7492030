"""Usable in a real browser (issue 3, item 4): keyboard-operable (spot checks), readable at
375 px (no page wider than the phone), and screenshots of the main pages at desktop and
phone widths, saved to tests/browser/screenshots/ for anyone to look at."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.access import portal_links
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, Page, expect, screenshot, sign_in

pytestmark = pytest.mark.browser

LONG_NAME = "Northridge Property Management & Facilities Services International LLC"


@pytest.fixture
def books(site, tenant):
    """Realistic pages: a long customer name, a memo with lines applied to two invoices, a
    payment, a draft, a void memo, and an exception in the visibility setting."""
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, LONG_NAME)
    other = factories.customer(db, actor, "Contoso Dental Group")
    sku = factories.variant(db, actor, "DL-LATITUDE-5550-32GB-1TB", "1689.00", 20)
    inv_a = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Managed IT services, per seat (monthly)", "quantity": 42,
         "unit_price": "125.00"},
        {"description": "Dell Latitude 5550 laptop, 32 GB / 1 TB", "quantity": 3,
         "unit_price": "1689.00", "variant_id": sku}]).id
    invoices.issue_invoice(db, actor=actor, invoice_id=inv_a)
    invoices.record_payment(db, actor=actor, invoice_id=inv_a, amount="1000.00")
    inv_b = factories.invoice(db, actor, cid, "12500.00")
    memo = memos.create_memo(db, actor=actor, customer_id=cid, reason="returned_goods",
                             invoice_id=inv_a, notes="Returned unopened; back on the shelf.",
                             lines=[{"description": "Returned: Dell Latitude 5550 laptop, "
                                     "32 GB / 1 TB", "quantity": 2, "unit_price": "1689.00",
                                     "variant_id": sku}]).id
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo)
    credit.apply_credit(db, actor=actor, memo_id=memo, invoice_id=inv_a, amount="1200.00")
    credit.apply_credit(db, actor=actor, memo_id=memo, invoice_id=inv_b, amount="900.00")
    draft = factories.memo(db, actor, cid, "75.00", issue=False)
    void = factories.memo(db, actor, cid, "40.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void,
                             reason="Superseded by a corrected credit memo")
    factories.memo(db, actor, other, "250.00")
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True,
                               exceptions=[other])
    return {"customer": cid, "invoice": inv_a, "memo": memo, "draft": draft}


def _overflow(page: Page) -> dict:
    """How wide the document is, and the elements that stick out past the viewport."""
    return page.evaluate("""() => {
        const w = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > w + 0.5
                       && (!e.closest('.table-wrap')  /* scrolls inside, unless it escapes: */
                           || ['absolute', 'fixed'].includes(getComputedStyle(e).position)))
          .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                             + (e.className ? '.' + String(e.className) : ''));
        return {scrollWidth: document.documentElement.scrollWidth, wide};
    }""")


def _check(page: Page, name: str, problems: list[str]) -> None:
    """Screenshots at desktop and phone widths; at 375 px nothing wider than the screen."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    found = _overflow(page)
    if found["scrollWidth"] > PHONE["width"]:
        problems.append(f"{name} ({page.url}): {found['scrollWidth']} px wide at 375 px; "
                        f"{found['wide']}")
    screenshot(page, f"{name}-375")
    page.set_viewport_size(DESKTOP)


def test_main_pages_fit_a_phone_and_are_photographed(new_page, site, tenant, books) -> None:
    problems: list[str] = []
    page = new_page()
    page.goto("/login")
    _check(page, "login", problems)
    sign_in(page, tenant)
    pages = [("memo-list", "/dashboard/credit-memos"),
             ("memo", f"/dashboard/credit-memos/{books['memo']}"),
             ("memo-draft", f"/dashboard/credit-memos/{books['draft']}"),
             ("new-memo", f"/dashboard/credit-memos/new?customer_id={books['customer']}"),
             ("invoice-list", "/dashboard/invoices"),
             ("invoice", f"/dashboard/invoices/{books['invoice']}"),
             ("customer-list", "/dashboard/customers"),
             ("preferences", "/dashboard/preferences/credit-balance-visibility?q=Contoso")]
    for name, url in pages:
        r = page.goto(url)
        assert r is not None and r.status == 200, url
        _check(page, name, problems)

    # The customer page with a fresh portal sign-in link shown (a long URL).
    page.goto(f"/dashboard/customers/{books['customer']}")
    page.get_by_role("button", name="Create portal sign-in link").click()
    expect(page.get_by_label("Sign-in link")).to_have_value(re.compile(r"/portal/sign-in/"))
    _check(page, "customer", problems)

    # A refusal next to its form.
    page.goto(f"/dashboard/credit-memos/{books['memo']}")
    page.locator(".apply-form input[name=amount]").first.fill("99999.00")
    page.locator(".apply-form button").first.click()
    expect(page.locator("#error-apply")).to_be_visible()
    _check(page, "memo-refusal", problems)

    # The Customer Portal, credit shown.
    link = portal_links.create_link(site.db, actor=tenant.actor, customer_id=books["customer"])
    portal = new_page()
    portal.goto(f"/portal/sign-in/{link.token}")
    _check(portal, "portal-sign-in", problems)
    portal.get_by_role("button", name="Continue to your account").click()
    expect(portal.locator("#available-credit")).to_be_visible()
    for name, url in [("portal-overview", "/portal/"),
                      ("portal-credit-memos", "/portal/credit-memos"),
                      ("portal-invoices", "/portal/invoices"),
                      ("portal-invoice", f"/portal/invoices/{books['invoice']}")]:
        r = portal.goto(url)
        assert r is not None and r.status == 200, url
        _check(portal, name, problems)

    assert not problems, "pages wider than a 375 px phone:\n" + "\n".join(problems)


def _focused(page: Page) -> str:
    return page.evaluate("() => { const e = document.activeElement;"
                         " return e.id || e.getAttribute('href') || e.tagName; }")


def _tab_to(page: Page, target: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page) == target:
            return
    raise AssertionError(f"{target} is not reachable with Tab")


def _focus_is_visible(page: Page) -> bool:
    return page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                         " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0; }")


def test_keyboard_only(page: Page, tenant, books) -> None:
    # Sign in with the keyboard alone: the email field has the focus, Tab, Enter.
    page.goto("/login")
    assert _focused(page) == "email"
    page.keyboard.type(tenant.email)
    page.keyboard.press("Tab")
    assert _focused(page) == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert _focused(page) == "sign-in"
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos$"))

    # The first Tab lands on "Skip to content", which shows and moves the focus to main.
    page.reload()
    page.keyboard.press("Tab")
    assert _focused(page) == "#main"
    skip = page.get_by_role("link", name="Skip to content")
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # on screen when focused
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    assert _focused(page) == "main"

    # From there, Tab to a memo and open it with Enter; issue the draft with the keyboard.
    _tab_to(page, f"/dashboard/credit-memos/{books['draft']}")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/dashboard/credit-memos/{books['draft']}$"))
    expect(page.locator("h1 .badge")).to_have_text("Draft")
    _tab_to(page, "issue-memo")
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    # The confirmation (P6) takes the focus on its Confirm button: Enter confirms.
    expect(page.locator("#confirm-action")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1 .badge")).to_have_text("Issued")

    # Void it: Tab to the reason, type, Tab to the button, Enter.
    _tab_to(page, "void_reason")
    page.keyboard.type("Entered against the wrong customer")
    page.keyboard.press("Tab")
    assert _focused(page) == "void-memo"
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-action")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1 .badge")).to_have_text("Void")
    expect(page.locator("#void-reason")).to_have_text("Entered against the wrong customer")
