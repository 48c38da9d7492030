"""E6 in Chromium: under the pages' Content-Security-Policy (no inline script, no eval, no
inline style) the main pages log no violation and no script error; htmx still boosts
navigation and swaps a filter's results; the moved behaviours (select on focus, "Go back")
work; and with JavaScript off the same forms still work."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import memos
from tests import factories
from tests.browser.conftest import Page, expect, portal_link, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def books(site, tenant):
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Initech LLC")
    inv = factories.invoice(db, actor, cid, "500.00")
    issued = factories.memo(db, actor, cid, "40.00")
    draft = factories.memo(db, actor, cid, "15.00", issue=False)
    return {"customer": cid, "invoice": inv, "issued": issued, "draft": draft,
            "draft_number": memos.get_memo(db, actor=actor, memo_id=draft).number,
            "issued_number": memos.get_memo(db, actor=actor, memo_id=issued).number}


class Console:
    """What the page's console and script errors said (a CSP violation is logged there as
    "Refused to ... because it violates the following Content Security Policy directive")."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.messages.append(f"pageerror: {e}"))

    def problems(self) -> list[str]:
        # an error page's own 404/422 is logged as "Failed to load resource": not a problem
        return [m for m in self.messages if "Content Security Policy" in m
                or m.startswith("pageerror") or (m.startswith("error")
                                                 and "Failed to load resource" not in m)]


def boosted(page: Page) -> bool:
    """True while the document loaded at the start of the test is still the one shown:
    htmx swapped the page in rather than the browser loading it."""
    return page.evaluate("window.__same_document === true")


def test_e6_no_csp_violation_and_htmx_still_works(page: Page, site, tenant, books,
                                                  new_page) -> None:
    console = Console(page)
    sign_in(page, tenant)
    assert "script-src 'self'" in page.evaluate(
        "fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    page.evaluate("window.__same_document = true")

    # A boosted navigation: the nav link is fetched by htmx and swapped in.
    page.get_by_role("link", name="Invoices").click()
    expect(page).to_have_url(re.compile(r"/dashboard/invoices$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
    assert boosted(page), "the navigation was a full page load: htmx did not run"

    # A filter swap: the memo list's results block alone is replaced, the address follows.
    page.get_by_role("link", name="Credit memos").click()
    expect(page.locator("#memo-table")).to_contain_text(books["issued_number"])
    page.get_by_label("Memo number").fill(books["draft_number"])
    page.get_by_label("Memo number").press("Enter")
    expect(page).to_have_url(re.compile(r"q=" + books["draft_number"]))
    expect(page.locator("#memo-table tbody tr")).to_have_count(1)
    expect(page.locator("#memo-table")).to_contain_text(books["draft_number"])
    assert boosted(page)
    screenshot(page, "e6_csp_memo_filter")

    # The pages with the moved behaviours and the rest of the main pages.
    page.goto(f"/dashboard/customers/{books['customer']}")
    page.get_by_role("button", name="Create portal sign-in link").click()
    link = page.get_by_label("Sign-in link")
    link.focus()
    assert page.evaluate("""() => { const e = document.getElementById('portal-link');
        return e.selectionStart === 0 && e.selectionEnd === e.value.length
               && e.value.length > 20; }"""), "focus no longer selects the link"
    for url in ("/dashboard/credit-memos/new", f"/dashboard/credit-memos/{books['issued']}",
                f"/dashboard/invoices/{books['invoice']}", "/dashboard/customers",
                "/dashboard/suggestions", "/dashboard/preferences/credit-balance-visibility"):
        page.goto(url)
        expect(page.locator("main h1")).to_be_visible()
    page.goto("/dashboard/integrations")
    page.locator("#connect-desktop").get_by_role("button", name="Connect").click()
    page.get_by_label("Web Connector password").focus()
    assert page.evaluate("""() => { const e = document.getElementById('qbwc-password');
        return e.selectionEnd - e.selectionStart === e.value.length; }""")

    # An error page: "Go back" returns to where the person was.
    page.goto("/dashboard/customers")
    page.goto("/dashboard/credit-memos/cm_missing")
    expect(page.locator("#error-detail")).to_be_visible()
    screenshot(page, "e6_csp_error_page")
    page.get_by_role("link", name="Go back").click()
    expect(page).to_have_url(re.compile(r"/dashboard/customers$"))

    # The portal, signed in through its one-time link.
    portal = new_page()
    portal_console = Console(portal)
    portal.goto(portal_link(site, tenant, books["customer"]))
    portal.get_by_role("button", name=re.compile("Sign in|Continue|View")).click()
    expect(portal).to_have_url(re.compile(r"/portal/$"))
    portal.goto("/portal/invoices")
    expect(portal.locator("main h1")).to_be_visible()
    screenshot(portal, "e6_csp_portal")

    assert console.problems() == [], console.problems()
    assert portal_console.problems() == [], portal_console.problems()


def test_e6_with_javascript_off_the_forms_still_work(new_page, site, tenant, books) -> None:
    page = new_page(javascript=False)
    sign_in(page, tenant)
    page.get_by_label("Memo number").fill(books["draft_number"])
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"q=" + books["draft_number"]))
    expect(page.locator("#memo-table tbody tr")).to_have_count(1)

    page.get_by_role("link", name="New credit memo").click()
    page.get_by_label("Customer").fill("Initech LLC (USD)")
    page.get_by_label("Amount", exact=True).fill("\u00b2")  # refused next to the field
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#error-memo")).to_be_visible()
    page.get_by_label("Amount", exact=True).fill("12.50")
    page.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos/cm_\w+$"))
    expect(page.locator("#memo-total")).to_have_text("$12.50")
    page.get_by_role("button", name="Issue credit memo").click()
    page.locator("#confirm-action").click()  # the confirmation page (P6)
    expect(page.locator("h1 .badge")).to_have_text("Issued")
    screenshot(page, "e6_no_javascript_memo_issued")

    page.goto("/dashboard/credit-memos/cm_missing")
    page.get_by_role("link", name="Go back").click()  # a plain link without JavaScript
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos$"))


@pytest.mark.parametrize("javascript", [True, False])
def test_e6_connect_quickbooks_online_may_leave_for_its_sign_in(
        new_page, site, tenant, fake_qbo, monkeypatch, javascript: bool) -> None:
    """The policy's form-action lets the Connect form's answer redirect to the configured
    OAuth sign-in (here the fake's), with JavaScript (a browser navigation, not htmx) or
    without; the fake consents at once and sends the browser back to CreditDesk, whose callback
    sends it on to the Integrations page (test_connect_books.py says what that page shows)."""
    monkeypatch.setenv("CREDITDESK_PUBLIC_URL", site.url)
    page = new_page(javascript=javascript)
    console = Console(page)
    sign_in(page, tenant)
    page.goto("/dashboard/integrations")
    with page.expect_request(re.compile(re.escape(fake_qbo.base_url) + r"/connect/oauth2")):
        page.locator("#connect-qbo").get_by_role("button", name="Connect").click()
    expect(page).to_have_url(re.compile(r"/dashboard/integrations\?connection=int_\w+$"))
    assert console.problems() == [], console.problems()
