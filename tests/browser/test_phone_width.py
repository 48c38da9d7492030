"""No page wider than a 375 px phone (issue 11, item 9), on EVERY page, found by crawling.

The test signs in, then crawls: from the dashboard's navigation into every list, from the
lists into their detail pages (memos, invoices, customers, suggestions …), and likewise
through the Customer Portal of a customer whose credit is visible. Pages are discovered,
not listed, so pages added later (connect-books flows, previews, merges …) are checked as
soon as a link leads to them. A fixed list of required pages makes the test fail when
discovery misses one; a few page states reached through forms (a search, a refusal) are
visited directly.

On each page, at a 375 px viewport: the document is no wider than the screen, nothing
sticks out past its right edge, and no table scrolls sideways inside the page either
(tables become stacked rows). The data is made to be wide: long customer names and
emails, long unbroken line descriptions, many lines, applications with Remove controls,
an apply form, suggestions, an integration, a visibility exception. Every page is
photographed to tests/browser/screenshots/phone/.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urljoin, urlsplit

import pytest

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the chromium fixture skips (fails in CI) and says why
    PlaywrightError = Exception

from creditdesk.db import models
from creditdesk.services.access import portal_links, users
from creditdesk.services.books import qbwc_setup
from creditdesk.services.credit_memos import approvals, credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers, portal_credit_setting, visibility
from creditdesk.services.invoicing import invoices
from creditdesk.services.suggesting import incidents as sla
from creditdesk.services.suggesting import refresh_runs, suggestions
from creditdesk.web.app import create_app
from tests import factories
from tests.browser.conftest import PHONE, SCREENSHOTS, SECRET, Page, expect, sign_in
from tests.web.page_routes import page_routes

pytestmark = pytest.mark.browser

WIDTH = PHONE["width"]
LONG_NAME = "Northridge Property Management & Facilities Services International Holdings LLC"
LONG_EMAIL = ("accounts.receivable.department@northridge-property-management-and-facilities"
              "-services.example.com")
LONG_STAFF = "finance.operations.and.accounts.receivable.team.{n}@northridge-facilities.example.com"
UNBROKEN = "DL-LATITUDE-5550-32GB-1TB-REFURBISHED-GRADE-A-WITH-DOCKING-STATION-AND-3-YEAR-CARE"
ID_SEGMENT = re.compile(r"^[a-z]{2,5}_[0-9a-z]{10,}$")
PER_PATTERN = 3  # instances of one page pattern visited, beyond the required ones
MAX_PAGES = 120
SKIP = re.compile(r"/(logout|sign-out|delete|remove|disconnect|export)(/|$)|\.(qwc|csv|json)$"
                  r"|/pdf$")

# The pages discovery must reach (by pattern; {id} is any id). Missing one fails the test.
REQUIRED_DASHBOARD = [
    "/dashboard/credit-memos", "/dashboard/credit-memos/new", "/dashboard/credit-memos/{id}",
    "/dashboard/credit-memos/{id}/edit", "/dashboard/invoices", "/dashboard/invoices/{id}",
    "/dashboard/customers", "/dashboard/customers/{id}", "/dashboard/suggestions",
    "/dashboard/integrations", "/dashboard/preferences/credit-balance-visibility",
    "/dashboard/preferences/portal-credit-application", "/dashboard/preferences/auto-apply",
    "/dashboard/users", "/dashboard/account",
    "/dashboard/approvals", "/dashboard/preferences/approvals",  # AP1
    "/dashboard/preferences/tax-rates", "/dashboard/tax-report",  # T1, T4
    "/dashboard/reports/credit-aging",  # D3
    "/dashboard/preferences/documents",  # D1, D2 (a memo's Send step: discovered from its page)
    "/dashboard/webhooks",  # D4
    "/dashboard/incidents", "/dashboard/incidents/sla",  # G5
]
REQUIRED_PORTAL = ["/portal/", "/portal/invoices", "/portal/invoices/{id}",
                   "/portal/credit-memos"]
# The app's GET page routes the crawl need not reach by a link, and why. Every other GET
# page route must be discovered: a new page no link leads to fails the test (add the link,
# or add it here with the reason and visit it in the test directly).
NOT_CRAWLED = {
    "/dashboard/": "redirects to the memo list",
    "/dashboard/preferences": "redirects to the visibility page",
    "/dashboard/preferences/": "redirects to the visibility page",
    "/dashboard/integrations/{id}/qwc": "a file download, not a page",
    "/dashboard/credit-memos/{id}/pdf": "a memo's PDF (D1), a document, not a page",
    "/portal/credit-memos/{id}/pdf": "a memo's PDF (D1), a document, not a page",
    "/dashboard/preferences/logo": "the logo image the Documents page shows (D1)",
    "/dashboard/integrations/{id}/sync-status": "a fragment htmx polls into the Integrations "
                                                "page (at 375 px in test_connect_books.py)",
    "/dashboard/suggestions/refresh-status": "a fragment htmx polls into the Suggestions page "
                                             "while a refresh runs (its states below, and at "
                                             "375 px in test_suggestion_runs.py)",
    "/login": "visited before signing in",
    "/dashboard/credit-memos/export": "a CSV download, not a page (D3)",
    "/dashboard/applications/export": "a CSV download, not a page (D3)",
    "/dashboard/refunds/export": "a CSV download, not a page (D3)",
    "/dashboard/reports/credit-aging.csv": "a CSV download, not a page (D3)",
    "/portal/sign-in/{id}": "the emailed link, visited directly",
}


def route_patterns(site) -> set[str]:
    """Every GET page route of the app, its path parameters written {id}."""
    app = create_app(site.db, secret_key=SECRET)
    return {re.sub(r"\{[a-z_]+\}", "{id}", r.path) for r in page_routes(app)
            if r.method == "GET"}


def pattern(url: str) -> str:
    path = urlsplit(url).path
    return "/".join("{id}" if ID_SEGMENT.match(s) else s for s in path.split("/"))


def slug(text: str) -> str:
    text = re.sub(r"\b[a-z]{2,5}_[0-9a-z]{10,}\b|\{id\}", "id", text)
    text = re.sub(r"[A-Za-z0-9_-]{30,}", "token", text)  # a sign-in link's token
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:100] or "root"


taken: Counter = Counter()  # screenshots per name: stable names from run to run


def fresh_screenshots(*prefixes: str) -> None:
    """Remove the last run's phone screenshots of these prefixes (pages come and go)."""
    taken.clear()
    for prefix in prefixes:
        for old in (SCREENSHOTS / "phone").glob(f"{prefix}-*.png"):
            old.unlink()


@pytest.fixture
def wide_books(site, tenant):
    """Everything that makes pages wide, for one partner."""
    db, actor = site.db, tenant.actor
    cid = customers.create_customer(db, actor=actor, name=LONG_NAME, email=LONG_EMAIL).id
    other = customers.create_customer(db, actor=actor, name="Contoso Dental Group",
                                      email="billing.and.payments@contoso-dental-group.example"
                                            ".com").id
    sku = factories.variant(db, actor, UNBROKEN[:60], "1689.00", 50)
    lines = [{"description": f"{UNBROKEN} unit {n}", "quantity": n + 1,
              "unit_price": "1689.00", "variant_id": sku} for n in range(3)]
    lines += [{"description": "Managed IT services, per seat (monthly), including "
               "after-hours support and quarterly on-site reviews", "quantity": 142,
               "unit_price": "125.00"} for _ in range(8)]
    due = date.today() - timedelta(days=40)  # overdue
    inv_a = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=lines,
                                    issue_date=due - timedelta(days=30), due_date=due).id
    invoices.issue_invoice(db, actor=actor, invoice_id=inv_a)
    invoices.record_payment(db, actor=actor, invoice_id=inv_a, amount="10000.00")
    inv_b = factories.invoice(db, actor, cid, "123456.78")
    open_invoice = factories.invoice(db, actor, cid, "9876.54")  # open: apply form candidate
    memo = memos.create_memo(
        db, actor=actor, customer_id=cid, reason="returned_goods", invoice_id=inv_a,
        notes=f"Returned unopened; back on the shelf. Reference {UNBROKEN}.",
        lines=[{"description": f"Returned: {UNBROKEN}", "quantity": 2, "unit_price": "1689.00",
                "variant_id": sku}]).id
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo)
    credit.apply_credit(db, actor=actor, memo_id=memo, invoice_id=inv_a, amount="1200.00")
    credit.apply_credit(db, actor=actor, memo_id=memo, invoice_id=inv_b, amount="900.00")
    issued = factories.memo(db, actor, cid, "123456.00")  # an apply form with candidates
    draft = factories.memo(db, actor, cid, "75.00", issue=False)
    void = factories.memo(db, actor, cid, "40.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void, reason=f"Superseded: {UNBROKEN}")
    factories.memo(db, actor, other, "250.00")
    # A monthly plan billed twice in one month: an open duplicate-charge suggestion.
    for m in range(10):
        inv = invoices.create_invoice(db, actor=actor, customer_id=other,
                                      issue_date=date(2025, 1, 6) + timedelta(days=30 * m),
                                      lines=[{"description": "Managed services", "quantity": 20,
                                              "unit_price": "15.00"}])
        invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    dup = invoices.create_invoice(db, actor=actor, customer_id=other,
                                  issue_date=date(2025, 1, 6) + timedelta(days=271),
                                  lines=[{"description": "Managed services", "quantity": 20,
                                          "unit_price": "15.00"}])
    invoices.issue_invoice(db, actor=actor, invoice_id=dup.id)
    assert suggestions.refresh(db, actor=actor).open >= 1
    # G5: a long incident touching the long-named customer and product, and SLA policies
    sla.replace_sla(db, actor=actor, policies=[
        {"availability_promised": "99.95", "bands": [{"below": "99.95", "credit_percent": "5"},
                                                     {"below": "99.5", "credit_percent": "25"}]},
        {"variant_id": sku, "availability_promised": "99.9", "bands": [
            {"below": "99.9", "credit_percent": "10"}]}])
    sla.create_incident(db, actor=actor, started_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
                        ended_at=datetime(2026, 3, 4, 22, 45, tzinfo=UTC),
                        description=f"Storage array failure in {UNBROKEN}",
                        customer_ids=[cid, other], variant_ids=[sku])
    # Y9: a synced invoice, with the system's long line text, tax and balance due
    synced = factories.synced_invoice(
        db, actor, cid, "24680.00", balance="12345.67", tax="1680.00",
        number="QBO-INVOICE-2026-000123456", external_id="1234567890",
        lines=[(f"{UNBROKEN} per seat", "142.375", "23000.00"), ("Shipping", None, "1680.00")])
    qbwc_setup.create(db, actor=actor)
    users.create_user(db, actor=actor, email=LONG_STAFF.format(n=tenant.partner_id[-8:]),
                      password="correct horse staff", role="staff")
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True, exceptions=[other])
    portal_credit_setting.set_enabled(db, actor=actor, enabled=True)  # P5: Apply credit
    # AP1: the draft waits for an approval, with a long comment (last: nothing is issued after)
    approvals.replace_settings(db, actor=actor, thresholds=[{"currency": "USD",
                                                             "amount": "50.00"}])
    approvals.request_approval(db, actor=actor, memo_id=draft,
                               comment=f"Please approve: {UNBROKEN} returned in full")
    return {"customer": cid, "memo": memo, "issued": issued, "draft": draft,
            "invoice": inv_a, "synced_invoice": synced, "open_invoice": open_invoice}


def measure(page: Page) -> dict:
    """The document's width, what sticks out past the viewport's right edge, and what
    scrolls sideways inside the page (a table that did not stack, say)."""
    return page.evaluate("""(width) => {
        const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (typeof e.className === 'string' && e.className ? '.' + e.className.trim()
               .split(/\\s+/).join('.') : '');
        const clipped = e => { for (let a = e; a; a = a.parentElement) {
            const s = getComputedStyle(a);  // visually hidden (for screen readers only)
            if (s.clip !== 'auto' && s.clip !== '') return true; } return false; };
        const shown = e => { const r = e.getBoundingClientRect();
            return r.width > 1 && r.height > 1 && getComputedStyle(e).visibility !== 'hidden'
                   && !clipped(e); };
        const all = [...document.querySelectorAll('body *')];
        const out = all.filter(e => shown(e) && e.getBoundingClientRect().right > width + 0.5);
        const scrollers = all.filter(e => !['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName)
            && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
            && e.scrollWidth > e.clientWidth + 1);
        return {scrollWidth: document.documentElement.scrollWidth,
                out: out.slice(0, 5).map(name), scrollers: scrollers.slice(0, 5).map(name)};
    }""", WIDTH)


def check(page: Page, url: str, problems: list[str], prefix: str) -> None:
    found = measure(page)
    shot = f"{prefix}-{slug(pattern(url) + '?' + urlsplit(url).query)}"
    taken[shot] += 1
    if found["scrollWidth"] > WIDTH or found["out"] or found["scrollers"]:
        problems.append(f"{url}: {found['scrollWidth']} px wide at {WIDTH} px; sticking out: "
                        f"{found['out']}; scrolling sideways: {found['scrollers']}")
    (SCREENSHOTS / "phone").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phone" / f"{shot}-{taken[shot]}.png"),
                    full_page=True)


def links(page: Page, origin: str, prefixes: tuple[str, ...]) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]:not([download])",
                                      "els => els.map(e => e.getAttribute('href'))")
    out = []
    for href in hrefs:
        url = urljoin(page.url, href.split("#")[0])
        parts = urlsplit(url)
        if (f"{parts.scheme}://{parts.netloc}" == origin and parts.path.startswith(prefixes)
                and not SKIP.search(parts.path)):
            out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def crawl(page: Page, origin: str, start: str, prefixes: tuple[str, ...],
          required: list[str], problems: list[str], prefix: str) -> set[str]:
    """Visit pages breadth-first from ``start``; return the patterns discovered. Required
    patterns are visited whatever the per-pattern cap; the rest up to PER_PATTERN each."""
    queue, seen, visited = [start], {start}, Counter()
    discovered: set[str] = set()
    while queue and sum(visited.values()) < MAX_PAGES:
        # Pages of a pattern not yet visited first: every kind of page before more of one.
        queue.sort(key=lambda u: visited[pattern(u)])
        url = queue.pop(0)
        key = pattern(url)
        if visited[key] >= PER_PATTERN:
            continue
        try:
            r = page.goto(url)
        except PlaywrightError as exc:  # a download (the Web Connector's .qwc file)
            if "Download is starting" in str(exc):
                continue
            raise
        assert r is not None, url
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue  # a file shown by the browser, not a page
        if r.status != 200:
            problems.append(f"{url}: answered {r.status} (a broken link)")
            continue
        visited[key] += 1
        discovered.add(key)
        check(page, url, problems, prefix)
        for found in links(page, origin, prefixes):
            discovered.add(pattern(found))
            if found not in seen:
                seen.add(found)
                queue.append(found)
    missing = [p for p in required if p not in discovered]
    assert not missing, f"crawling never reached {missing}; discovered {sorted(discovered)}"
    return discovered


def test_every_dashboard_and_portal_page_fits_a_phone(new_page, site, tenant, wide_books):
    problems: list[str] = []
    fresh_screenshots("dashboard", "portal")
    page = new_page(PHONE)
    page.goto("/login")
    check(page, "/login", problems, "dashboard")
    sign_in(page, tenant)
    found = crawl(page, site.url, "/dashboard/credit-memos", ("/dashboard",),
                  REQUIRED_DASHBOARD, problems, "dashboard")
    assert len(found) >= len(REQUIRED_DASHBOARD)

    # Page states reached through forms rather than links.
    states = [
        "/dashboard/preferences/credit-balance-visibility?q=a",  # search: long emails
        f"/dashboard/credit-memos/{wide_books['issued']}",  # apply: candidates and amounts
        f"/dashboard/credit-memos/{wide_books['memo']}",  # applications with Remove
        f"/dashboard/credit-memos/{wide_books['draft']}",  # AP1: waiting for an approval
        f"/dashboard/invoices/{wide_books['invoice']}",  # many lines; credits with Remove
        f"/dashboard/invoices/{wide_books['synced_invoice']}",  # Y9: read-only, the system's
        "/dashboard/invoices?source=quickbooks_online",  # the source filter
        f"/dashboard/customers/{wide_books['customer']}",  # long name and email
        f"/dashboard/credit-memos/new?customer_id={wide_books['customer']}",
    ]
    for url in states:
        r = page.goto(url)
        assert r is not None and r.status == 200, url
        check(page, url, problems, "dashboard-state")
    page.goto(f"/dashboard/credit-memos/{wide_books['issued']}")
    page.locator(".apply-form input[name=amount]").first.fill("99999999.00")
    page.locator(".apply-form button").first.click()
    expect(page.locator("#error-apply")).to_be_visible()
    check(page, "/dashboard/credit-memos/issued-refused", problems, "dashboard-state")
    page.goto(f"/dashboard/customers/{wide_books['customer']}")
    page.get_by_role("button", name="Create portal sign-in link").click()
    expect(page.get_by_label("Sign-in link")).to_have_value(re.compile(r"/portal/sign-in/"))
    check(page, "/dashboard/customers/with-link", problems, "dashboard-state")
    # Issue 16: the Suggestions page while a refresh of every customer is queued, running
    # (progress text and bar, large counts) and after it failed.
    run, _ = refresh_runs.start(site.db, actor=tenant.actor)
    page.goto("/dashboard/suggestions")
    expect(page.locator("#suggestion-run")).to_contain_text("waiting for a worker")
    check(page, "/dashboard/suggestions/run-queued", problems, "dashboard-state")
    assert refresh_runs.claim(site.db, run.id) == 1  # a worker, as far as it got
    with site.db.write() as session:
        row = session.get_one(models.SuggestionRun, run.id)
        row.customers_total, row.customers_done, row.open = 123_456, 65_432, 98_765
    page.goto("/dashboard/suggestions")
    expect(page.locator("#suggestion-run progress")).to_be_visible()
    check(page, "/dashboard/suggestions/run-progress", problems, "dashboard-state")
    with site.db.write() as session:  # ended, so no later runner takes it up
        row = session.get_one(models.SuggestionRun, run.id)
        row.status, row.finished_at = "failed", row.heartbeat_at
        row.error = refresh_runs.FAILED_MESSAGE.format(done="65,432", total="123,456")
    page.goto("/dashboard/suggestions")
    expect(page.locator("#suggestion-run .error")).to_be_visible()
    check(page, "/dashboard/suggestions/run-failed", problems, "dashboard-state")

    # The Customer Portal of the long-named customer (credit visible to it).
    link = portal_links.create_link(site.db, actor=tenant.actor,
                                    customer_id=wide_books["customer"])
    portal = new_page(PHONE)
    portal.goto(f"/portal/sign-in/{link.token}")
    check(portal, "/portal/sign-in", problems, "portal")
    portal.get_by_role("button", name="Continue to your account").click()
    expect(portal).to_have_url(re.compile(r"/portal/$"))
    found |= crawl(portal, site.url, "/portal/", ("/portal",), REQUIRED_PORTAL, problems,
                   "portal")
    # P5: the customer's Apply credit, refused, then its confirmation (forms, not links).
    portal.goto(f"/portal/invoices/{wide_books['open_invoice']}")
    portal.locator(".apply-credit-form input[name=amount]").first.fill("99999999.00")
    portal.locator(".apply-credit-form button").first.click()
    expect(portal.locator("#error-apply")).to_be_visible()
    check(portal, "/portal/invoices/apply-credit-refused", problems, "portal-state")
    portal.locator(".apply-credit-form input[name=amount]").first.fill("1.00")
    portal.locator(".apply-credit-form button").first.click()
    expect(portal.locator("#confirm-card")).to_be_visible()
    check(portal, "/portal/invoices/apply-credit-confirm", problems, "portal-state")
    unreached = route_patterns(site) - found - set(NOT_CRAWLED)
    assert not unreached, (f"no link leads to the pages {sorted(unreached)}: link them, or "
                           "list them in NOT_CRAWLED (with why) and visit them here")
    url = f"/portal/invoices/{wide_books['synced_invoice']}"  # Y9: the system's balance due
    r = portal.goto(url)
    assert r is not None and r.status == 200, url
    check(portal, url, problems, "portal-state")
    for url in ("/portal/no-such-page", f"/portal/sign-in/{link.token}"):  # error pages
        portal.goto(url)
        check(portal, url, problems, "portal-error")

    assert not problems, "pages wider than a 375 px phone:\n" + "\n".join(problems)


def test_tables_become_stacked_rows_with_their_column_names(new_page, site, tenant,
                                                            wide_books) -> None:
    """At 375 px a table's rows are blocks and each cell shows its column's name; at
    desktop width the same table is a table. Labels come from the server (JavaScript off)."""
    for javascript in (True, False):
        page = new_page(PHONE, javascript=javascript)
        sign_in(page, tenant)
        page.goto(f"/dashboard/credit-memos/{wide_books['memo']}")
        row = page.locator("#applications-table tbody tr").first
        amount = row.locator("td").nth(1)
        assert amount.get_attribute("data-label") == "Amount"
        assert row.evaluate("e => getComputedStyle(e).display") == "block"
        label = amount.evaluate("e => getComputedStyle(e, '::before').content")
        assert label == '"Amount"', label
        expect(row.get_by_role("button", name=re.compile("Remove credit from"))).to_be_visible()
        page.set_viewport_size({"width": 1280, "height": 900})
        assert row.evaluate("e => getComputedStyle(e).display") == "table-row"
        assert amount.evaluate("e => getComputedStyle(e, '::before').content") == "none"
        # Results swapped in by htmx (a filter) are labelled and stacked too.
        page.set_viewport_size(PHONE)
        page.goto("/dashboard/credit-memos")
        # a picker names each customer with its currency (services/pages.customer_choices)
        page.get_by_label("Customer").select_option(label=f"{LONG_NAME} (USD)")
        if not javascript:
            page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"customer_id=cus_"))
        rows = page.locator("#memo-table tbody tr")
        expect(rows).to_have_count(4)
        expect(rows.first.locator('td[data-label="Customer"]')).to_have_text(LONG_NAME)
        assert rows.first.evaluate("e => getComputedStyle(e).display") == "block"
        assert measure(page)["scrollWidth"] <= WIDTH

