"""Connecting the books from Dashboard > Integrations in Chromium (Y1, Y2, P1; issue 11 item
1): the full OAuth round trip against the fake QuickBooks Online and the fake Xero, with
JavaScript on and off, ending on the Integrations page with the outcome in words; the non-US
Xero organisation and the second company refused in words there; a declined sign-in that is
removed or continued; Disconnect with its confirmation; a missing app configuration said
plainly; a sync's progress appearing without a reload."""

from __future__ import annotations

import re

import pytest

from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations
from tests.browser.conftest import PHONE, Page, expect, screenshot, sign_in
from tests.browser.test_e6_csp import Console
from tests.browser.test_integrations import _too_wide
from tests.qbo_fixtures import REALM, FakeQbo
from tests.xero_fixtures import FakeXero

pytestmark = pytest.mark.browser

NAMES = {"quickbooks_online": "QuickBooks Online", "xero": "Xero"}
FORMS = {"quickbooks_online": "#connect-qbo", "xero": "#connect-xero"}
BACK = re.compile(r"/dashboard/integrations\?connection=int_\w+$")


@pytest.fixture
def books(site, fake_qbo: FakeQbo, fake_xero: FakeXero, monkeypatch):
    """Both fakes, with the live server as the OAuth redirect target."""
    monkeypatch.setenv("CREDITDESK_PUBLIC_URL", site.url)
    return {"quickbooks_online": fake_qbo, "xero": fake_xero}


def _integrations(page: Page, tenant) -> None:
    sign_in(page, tenant)
    page.get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Integrations")


def _connect(page: Page, provider: str) -> None:
    page.locator(FORMS[provider]).get_by_role("button", name="Connect").click()


def _card(page: Page):
    return page.locator("section.integration")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("provider", ["quickbooks_online", "xero"])
def test_the_oauth_round_trip_ends_connected_on_the_page(
        new_page, tenant, books, provider: str, javascript: bool) -> None:
    page = new_page(javascript=javascript)
    console = Console(page)
    _integrations(page, tenant)
    _connect(page, provider)

    expect(page).to_have_url(BACK)  # the browser went to the provider and came back
    word = "organisation" if provider == "xero" else "company"
    expect(page.locator("#oauth-outcome")).to_have_text(
        f"Connected: {NAMES[provider]} {word} “Harbor Books”. The first sync starts now; "
        "its progress shows on the connection below.")
    expect(_card(page).locator(".integration-status")).to_have_text("connected")
    expect(_card(page).get_by_role("heading")).to_have_text(f"{NAMES[provider]}: Harbor Books")
    expect(page.locator(FORMS[provider])).to_have_count(0)  # no Connect for it any more
    assert "application/json" not in (page.evaluate("document.contentType") or "")
    assert console.problems() == [], console.problems()
    screenshot(page, f"connect-{provider}-{'js' if javascript else 'no-js'}")


def test_a_non_us_xero_organisation_is_refused_in_words(page: Page, tenant, books) -> None:
    books["xero"].state.add_org("t-uk", "London Books", "GB")
    books["xero"].state.consent_tenants = ["t-uk"]  # picked on Xero's consent screen
    _integrations(page, tenant)
    _connect(page, "xero")
    expect(page).to_have_url(BACK)
    outcome = page.locator("#oauth-outcome")
    expect(outcome).to_have_attribute("role", "alert")
    expect(outcome).to_contain_text("Xero was not connected.")
    expect(outcome).to_contain_text("United States")
    expect(_card(page).locator(".integration-status")).to_have_text("disconnected")
    expect(page.locator("#connect-xero")).to_be_visible()  # another organisation may be tried
    screenshot(page, "connect-xero-refused-non-us")


def test_a_second_company_is_refused_in_words(page: Page, tenant, site, books) -> None:
    qbo: FakeQbo = books["quickbooks_online"]
    qbo.state.add_company("555", "Other Books", "US")
    qbo.state.add_memo("555", total="5.00")
    first = qbo.connect(site.db, tenant.actor, realm="555")
    qbo.sync(site.db, first)
    integrations.disconnect(site.db, actor=tenant.actor, integration_id=first)  # memos stay
    _integrations(page, tenant)
    _connect(page, "quickbooks_online")  # the consent screen picks Harbor Books
    expect(page).to_have_url(BACK)
    outcome = page.locator("#oauth-outcome")
    expect(outcome).to_contain_text("QuickBooks Online “Harbor Books” can't be connected: "
                                    "this account already syncs QuickBooks Online "
                                    "“Other Books”")
    screenshot(page, "connect-qbo-refused-second-company")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_declined_sign_in_is_removed_or_continued(new_page, tenant, books,
                                                    javascript: bool) -> None:
    qbo: FakeQbo = books["quickbooks_online"]
    page = new_page(javascript=javascript)
    _integrations(page, tenant)
    qbo.state.consent_error = "access_denied"  # the person clicks Cancel at QuickBooks
    _connect(page, "quickbooks_online")
    expect(page).to_have_url(BACK)
    expect(page.locator("#oauth-outcome")).to_contain_text(
        "Access was not allowed in QuickBooks Online")
    expect(_card(page)).to_have_count(1)
    expect(_card(page).locator(".integration-status")).to_have_text("pending authorization")
    expect(page.locator("#connect-qbo")).to_have_count(0)  # continue it on its card instead
    screenshot(page, f"connect-qbo-pending-{'js' if javascript else 'no-js'}")

    _card(page).get_by_role("button", name="Remove this connection").click()
    expect(page.get_by_text("connection that was not completed was removed")).to_be_visible()
    expect(_card(page)).to_have_count(0)

    _connect(page, "quickbooks_online")  # declined again: one pending card, not two
    expect(_card(page)).to_have_count(1)
    qbo.state.consent_error = None
    _card(page).get_by_role("button", name="Continue to QuickBooks Online").click()
    expect(page).to_have_url(BACK)
    expect(page.locator("#oauth-outcome")).to_contain_text("Connected: QuickBooks Online")
    expect(_card(page)).to_have_count(1)
    expect(_card(page).locator(".integration-status")).to_have_text("connected")


def test_disconnect_is_confirmed_and_says_what_happens_to_synced_memos(
        page: Page, tenant, site, books) -> None:
    qbo: FakeQbo = books["quickbooks_online"]
    qbo.state.add_memo(REALM, total="25.00")
    qbo.state.add_memo(REALM, total="40.00")
    iid = qbo.connect(site.db, tenant.actor)
    qbo.sync(site.db, iid)
    _integrations(page, tenant)
    confirm = page.locator(f"#disconnect-confirm-{iid}")
    expect(confirm).to_be_hidden()  # one click does not disconnect
    page.get_by_text("Disconnect…").click()
    expect(page.locator(f"#disconnect-what-{iid}")).to_contain_text(
        "The 2 credit memos synced from QuickBooks Online stay in CreditDesk as last synced: "
        "read-only")
    screenshot(page, "disconnect-qbo-confirmation")
    confirm.click()
    expect(page.get_by_text("disconnected: syncing stopped")).to_be_visible()
    expect(_card(page).locator(".integration-status")).to_have_text("disconnected")
    expect(page.locator("#connect-qbo")).to_be_visible()


def test_a_missing_app_configuration_is_said_plainly(page: Page, tenant, monkeypatch) -> None:
    monkeypatch.setenv("CREDITDESK_XERO_CLIENT_ID", "")
    monkeypatch.setenv("CREDITDESK_XERO_CLIENT_SECRET", "")
    _integrations(page, tenant)
    expect(page.locator("#connect-xero-unconfigured")).to_have_text(
        "Xero can't be connected on this CreditDesk yet: its Xero app isn't configured "
        "(CREDITDESK_XERO_CLIENT_ID and CREDITDESK_XERO_CLIENT_SECRET not set). Whoever runs "
        "CreditDesk sets them and restarts it.")
    expect(page.locator("#connect-xero")).to_have_count(0)  # no Connect making a dead card
    screenshot(page, "connect-missing-app")


def test_a_syncs_progress_appears_without_reloading(page: Page, tenant, site, books) -> None:
    qbo: FakeQbo = books["quickbooks_online"]
    qbo.state.add_memo(REALM, total="25.00")
    qbo.state.add_memo(REALM, total="40.00")
    iid = qbo.connect(site.db, tenant.actor)
    console = Console(page)
    _integrations(page, tenant)
    summary = page.locator(f"#sync-summary-{iid}")
    expect(summary).to_contain_text("The first sync is about to start")
    page.evaluate("window.stillTheSamePage = true")
    sync_jobs.run_pending(site.db, qbo.factory())  # the runner, elsewhere: the first sync
    expect(summary).to_contain_text("2 fetched; 2 memos created, 0 updated, 0 voided")
    assert page.evaluate("window.stillTheSamePage") is True  # no reload
    qbo.state.add_memo(REALM, total="15.00")

    page.get_by_role("button", name="Sync now").click()
    expect(summary).to_contain_text("Sync waiting to start")
    page.evaluate("window.stillTheSamePage = true")
    screenshot(page, "sync-progress-queued")
    sync_jobs.run_pending(site.db, qbo.factory())  # the runner, elsewhere
    expect(summary).to_contain_text("Last sync finished at", timeout=10_000)
    expect(summary).to_contain_text(re.compile(r"\d+ fetched; 1 memo created, 0 updated, 0 voided"))
    assert page.evaluate("window.stillTheSamePage") is True  # no reload
    expect(page.locator(f"#sync-state-{iid}")).not_to_have_attribute("hx-get", re.compile("."))
    assert console.problems() == [], console.problems()
    page.set_viewport_size(PHONE)
    assert _too_wide(page) == [], "wider than a 375 px phone"
    screenshot(page, "sync-progress-finished-375")


def test_without_javascript_a_sync_in_progress_offers_a_refresh(
        new_page, tenant, site, books) -> None:
    qbo: FakeQbo = books["quickbooks_online"]
    qbo.state.add_memo(REALM, total="25.00")
    iid = qbo.connect(site.db, tenant.actor)
    page = new_page(javascript=False)
    _integrations(page, tenant)
    summary = page.locator(f"#sync-summary-{iid}")
    expect(summary).to_contain_text("The first sync is about to start")
    summary.get_by_role("link", name="Refresh").click()
    expect(summary).to_contain_text("The first sync is about to start")
    integrations.request_sync(site.db, actor=tenant.actor, integration_id=iid)
    summary.get_by_role("link", name="Refresh").click()
    expect(summary).to_contain_text("Sync waiting to start")
    sync_jobs.run_pending(site.db, qbo.factory())
    summary.get_by_role("link", name="Refresh").click()
    expect(summary).to_contain_text("1 fetched; 1 memo created, 0 updated, 0 voided")
    expect(summary.get_by_role("link", name="Refresh")).to_have_count(0)


def test_a_boosted_connect_still_reaches_the_provider(page: Page, tenant, books) -> None:
    """Should htmx send the Connect form itself (a page where it is boosted), the answer's
    HX-Redirect moves the whole browser: no XHR following a redirect to another site."""
    console = Console(page)
    _integrations(page, tenant)
    page.evaluate("""() => {
        const form = document.querySelector('#connect-xero');
        form.removeAttribute('hx-boost');
        htmx.process(form);
    }""")
    with page.expect_response(lambda r: r.url.endswith("/dashboard/integrations/connect")) as sent:
        _connect(page, "xero")
    assert sent.value.request.headers.get("hx-request") == "true"  # it was htmx's request
    assert sent.value.headers["hx-redirect"].startswith(books["xero"].base_url)
    expect(page).to_have_url(BACK)
    expect(page.locator("#oauth-outcome")).to_contain_text("Connected: Xero organisation")
    assert console.problems() == [], console.problems()


def test_a_syncs_problems_appear_in_words_without_reloading(page: Page, tenant, site,
                                                            books) -> None:
    qbo: FakeQbo = books["quickbooks_online"]
    qbo.state.add_memo(REALM, total="25.00")
    bad = qbo.state.add_memo(REALM, total="40.00")
    qbo.state.malform(REALM, bad)  # a record CreditDesk can't read
    iid = qbo.connect(site.db, tenant.actor)
    _integrations(page, tenant)
    summary = page.locator(f"#sync-summary-{iid}")
    expect(summary).to_contain_text("The first sync is about to start")
    page.evaluate("window.stillTheSamePage = true")
    sync_jobs.run_pending(site.db, qbo.factory())  # the runner, elsewhere
    expect(summary).to_contain_text(
        "with problems: 2 fetched; 1 memo created, 0 updated, 0 voided; 0 invoices created, "
        "0 updated, 0 voided; 1 record could not be synced:")
    expect(summary).to_contain_text(bad)
    expect(summary).to_have_class(re.compile(r"\berror\b"))
    assert page.evaluate("window.stillTheSamePage") is True  # no reload
    expect(_card(page).locator("dd.error")).to_have_text(  # the connection's last problem
        "1 record could not be read in the last sync")
    header = _card(page).locator("table.runs thead th").nth(2)  # "Status", on one line
    assert header.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    screenshot(page, "sync-progress-problems")
