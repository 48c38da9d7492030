"""Issue 16, item 6 in a real browser: "Refresh suggestions for all customers" queues a run
on the job system; the Suggestions page shows its progress (htmx polls it every second) and,
once it is over, reloads by itself with the new list and when it was last refreshed. Without
JavaScript the panel says where the run is and a Refresh link shows the next state. At
desktop width and at 375 px. Screenshots in tests/browser/screenshots/suggestion-run-*.png.

The live server starts no job runner: ``job_runner`` starts the in-process one (SQLite's).
Batches are made one customer long and a little slow, so there is progress to see; the
production code is as it is."""

from __future__ import annotations

import re
import time

import pytest

from creditdesk.services.suggesting import suggestions
from tests.browser.conftest import DESKTOP, PHONE, expect, screenshot, sign_in
from tests.browser.test_portal_apply_credit import fits
from tests.services.test_suggestions import duplicated_plan

pytestmark = pytest.mark.browser

CUSTOMERS = 4
BATCH_SECONDS = 1.0  # each batch (one customer) this long: a 1 s poll sees it part done
LAST_REFRESHED = "Last refreshed for every customer"
RUN_TIMEOUT_MS = 30_000  # a whole run, on a busy machine


@pytest.fixture
def slow_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """One customer per batch, each batch ``BATCH_SECONDS`` before it commits its progress."""
    real = suggestions.refresh_batch

    def slow(*args, **kwargs):
        time.sleep(BATCH_SECONDS)
        return real(*args, **kwargs)

    monkeypatch.setattr(suggestions, "BATCH", 1)
    monkeypatch.setattr(suggestions, "refresh_batch", slow)


def plans(site, tenant, n: int = CUSTOMERS) -> None:
    """``n`` customers, each billed one month twice: ``n`` duplicate charges to find."""
    for _ in range(n):
        duplicated_plan(site.db, tenant.actor)


def refreshed_without_javascript(page, *, tries: int = 60) -> None:
    """Follow the panel's Refresh link, as a person without JavaScript would, until the run
    is over (the panel says when it was last refreshed)."""
    for _ in range(tries):
        if page.locator("#suggestion-run", has_text=LAST_REFRESHED).count():
            return
        expect(page.locator("#suggestion-run").get_by_role("link", name="Refresh")
               ).to_be_visible()
        time.sleep(0.5)
        page.locator("#suggestion-run").get_by_role("link", name="Refresh").click()
    raise AssertionError(f"the run never ended: {page.locator('#suggestion-run').inner_text()}")


def refresh_every_customer(page, *, javascript: bool) -> None:
    """Click "Refresh suggestions for all customers" on the Suggestions page and wait for the
    run to end: the page reloads by itself (JavaScript) or through its Refresh link."""
    page.get_by_role("button", name="Refresh suggestions for all customers").click()
    expect(page.locator("main .notice")).to_contain_text(
        "Refreshing suggestions for every customer")
    if javascript:  # a run's length is the machine's: wait for it, not expect's 5 s
        expect(page.locator("#suggestion-run")).to_contain_text(LAST_REFRESHED,
                                                                timeout=RUN_TIMEOUT_MS)
    else:
        refreshed_without_javascript(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_the_page_shows_the_runs_progress_then_reloads_with_the_list(
        new_page, site, tenant, job_runner, slow_batches, viewport) -> None:
    plans(site, tenant)
    job_runner(tick=60.0)  # the click wakes it: no waiting for a tick
    name = f"suggestion-run-js-{viewport['width']}"
    page = new_page(viewport)
    sign_in(page, tenant)
    page.goto("/dashboard/suggestions")
    expect(page.locator("#suggestion-results h2")).to_have_text("Open suggestions (0)")
    expect(page.locator("#suggestion-run")).to_have_text("")  # never refreshed: nothing
    page.get_by_role("button", name="Refresh suggestions for all customers").click()
    expect(page.locator("main .notice")).to_contain_text(
        "Refreshing suggestions for every customer: the progress shows below")
    page.evaluate("window.beforeTheRun = true")  # gone once the page reloads
    panel = page.locator("#suggestion-run")
    # the progress as the batches commit, polled in place (the page is the same page)
    expect(panel).to_contain_text(re.compile(rf"Refreshing suggestions: [1-3] of {CUSTOMERS} "
                                             r"customers done \((25|50|75)%\)"))
    assert page.evaluate("window.beforeTheRun") is True
    # the bar is named by the progress alone (not the Refresh link beside it)
    bar = panel.get_by_role("progressbar", name=re.compile(
        rf"^Refreshing suggestions: [1-3] of {CUSTOMERS} customers done \(\d+%\), [1-3] open "
        r"so far\.$"))
    expect(bar).to_be_visible()
    assert 25 <= int(bar.get_attribute("value") or 0) <= 75
    assert bar.get_attribute("max") == "100"
    expect(panel.get_by_role("link", name="Refresh")).to_be_visible()  # for no JavaScript
    fits(page, viewport)
    screenshot(page, f"{name}-1-progress")
    # over: the page reloads by itself with the new list, and polls no more
    expect(panel).to_contain_text(LAST_REFRESHED, timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.beforeTheRun") is None
    expect(panel).to_contain_text(f"by {tenant.email}: {CUSTOMERS} customers, {CUSTOMERS} "
                                  f"open, {CUSTOMERS} new")  # a person's name, not an actor id
    expect(page.locator("main .notice")).to_have_count(0)  # the flash was the other page's
    assert panel.get_attribute("hx-get") is None
    expect(panel.locator("progress")).to_have_count(0)
    results = page.locator("#suggestion-results")
    expect(results.locator("h2")).to_have_text(f"Open suggestions ({CUSTOMERS})")
    expect(results).to_contain_text("Duplicate charge: $300.00")
    fits(page, viewport)
    screenshot(page, f"{name}-2-done")
    # the next refresh finds the same evidence: nothing new
    refresh_every_customer(page, javascript=True)
    expect(panel).to_contain_text(f"{CUSTOMERS} customers, {CUSTOMERS} open, 0 new")
    expect(results.locator("h2")).to_have_text(f"Open suggestions ({CUSTOMERS})")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_without_javascript_the_panel_and_its_refresh_link_follow_the_run(
        new_page, site, tenant, job_runner, slow_batches, viewport) -> None:
    plans(site, tenant)
    name = f"suggestion-run-nojs-{viewport['width']}"
    page = new_page(viewport, javascript=False)
    sign_in(page, tenant)
    page.goto("/dashboard/suggestions")
    page.get_by_role("button", name="Refresh suggestions for all customers").click()
    expect(page).to_have_url(re.compile(r"/dashboard/suggestions$"))
    expect(page.locator("main .notice")).to_contain_text(
        "Refreshing suggestions for every customer")
    panel = page.locator("#suggestion-run")
    # no worker yet: queued, and it stays so (nothing runs in the page)
    expect(panel).to_contain_text(f"waiting for a worker to start it (asked by {tenant.email} at")
    expect(panel).to_contain_text("(with JavaScript on, this updates by itself)")
    fits(page, viewport)
    screenshot(page, f"{name}-1-queued")
    panel.get_by_role("link", name="Refresh").click()
    expect(panel).to_contain_text("waiting for a worker to start it")
    # a second click of the button meets the same run
    page.get_by_role("button", name="Refresh suggestions for all customers").click()
    expect(page.locator("main .notice")).to_contain_text("is already under way")
    # the worker starts: the Refresh link shows how far it got, then that it is over
    job_runner(tick=0.2)
    seen: set[str] = set()
    for _ in range(60):
        time.sleep(0.4)
        panel.get_by_role("link", name="Refresh").click()
        state = panel.inner_text()
        if "Refreshing suggestions:" in state:
            seen.add(re.search(r"(\d+) of \d+ customers done", state).group(1))
            if len(seen) == 1:
                expect(panel.locator("progress")).to_be_visible()
                fits(page, viewport)
                screenshot(page, f"{name}-2-progress")
        if LAST_REFRESHED in state:
            break
    assert seen & {"1", "2", "3"}, f"no progress seen: {seen}"
    expect(panel).to_contain_text(LAST_REFRESHED)
    expect(panel).to_contain_text(f"{CUSTOMERS} customers, {CUSTOMERS} open, {CUSTOMERS} new")
    expect(panel.get_by_role("link", name="Refresh")).to_have_count(0)
    expect(page.locator("#suggestion-results h2")).to_have_text(
        f"Open suggestions ({CUSTOMERS})")
    fits(page, viewport)
    screenshot(page, f"{name}-3-done")


def test_a_run_that_fails_ends_the_polling_and_says_so(new_page, site, tenant, job_runner,
                                                       monkeypatch) -> None:
    """A run stopped by an unexpected error: the page reloads by itself and says what
    happened and how far it got (the saved batches' suggestions are kept)."""
    plans(site, tenant, 2)
    real = suggestions.refresh_batch
    batches = []

    def second_fails(*args, **kwargs):
        batches.append(1)
        time.sleep(BATCH_SECONDS)  # the page is polling by the time it fails
        if len(batches) == 2:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(suggestions, "BATCH", 1)
    monkeypatch.setattr(suggestions, "refresh_batch", second_fails)
    job_runner(tick=60.0)
    page = new_page()
    sign_in(page, tenant)
    page.goto("/dashboard/suggestions")
    page.get_by_role("button", name="Refresh suggestions for all customers").click()
    panel = page.locator("#suggestion-run")
    expect(panel).to_contain_text("Refreshing suggestions:")
    page.evaluate("window.beforeTheRun = true")
    expect(panel.locator(".error")).to_have_text(
        "The refresh stopped on an unexpected error after 1 of 2 customers; their suggestions "
        "are saved. Start it again to finish.", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.beforeTheRun") is None  # reloaded by itself
    expect(page.locator("main .notice")).to_have_count(0)
    assert panel.get_attribute("hx-get") is None  # and polls no more
    expect(page.locator("#suggestion-results h2")).to_have_text("Open suggestions (1)")
    screenshot(page, "suggestion-run-failed")
    monkeypatch.setattr(suggestions, "refresh_batch", real)  # started again: it finishes
    refresh_every_customer(page, javascript=True)
    expect(page.locator("#suggestion-results h2")).to_have_text("Open suggestions (2)")
