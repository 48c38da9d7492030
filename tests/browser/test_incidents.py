"""G5 in a real browser, JavaScript on and off, at desktop width and at 375 px: a partner sets
an SLA policy, records an incident from the Incidents page, sees it listed, refreshes
suggestions for every customer (a run on the job system: the page follows it until the new
list shows) and sees the service-issue credit. Screenshots in
tests/browser/screenshots/incidents-*.png."""

from __future__ import annotations

from datetime import date

import pytest

from creditdesk.services.invoicing import invoices
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, expect, screenshot, sign_in
from tests.browser.test_portal_apply_credit import fits
from tests.browser.test_suggestion_runs import refresh_every_customer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_g5_record_an_incident_see_it_listed_and_its_credit(new_page, site, tenant, job_runner,
                                                           javascript, viewport) -> None:
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Initech Hosting Customer")
    vid = factories.variant(db, actor, sku=f"HOST-{tenant.partner_id[-6:]}", price="200.00")
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, issue_date=date(2026, 3, 1),
                                  lines=[{"description": "Hosting, March", "quantity": 1,
                                          "unit_price": "200.00", "variant_id": vid}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    name = f"incidents-{'js' if javascript else 'nojs'}-{viewport['width']}"
    page = new_page(viewport, javascript=javascript)
    sign_in(page, tenant)

    # the SLA policy: the default one, two bands
    page.goto("/dashboard/incidents")
    page.locator("#link-sla").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("SLA policies")
    page.get_by_label("Availability promised (%)").fill("99.9")
    page.get_by_label("Band 1: below (%)").fill("99.9")
    page.get_by_label("Band 1: credit (% of the month's charge)").fill("10")
    page.get_by_label("Band 2: below (%)").fill("99")
    page.get_by_label("Band 2: credit (% of the month's charge)").fill("25")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#sla-table")).to_contain_text("below 99.9 % → 10 %; below 99 % → 25 %")
    fits(page, viewport)
    screenshot(page, f"{name}-1-sla")

    # an incident: refused first (it ends before it starts), then recorded and listed
    page.goto("/dashboard/incidents")
    expect(page.locator("#no-incidents")).to_be_visible()
    page.get_by_label("Started (UTC)").fill("2026-03-03T10:00")
    page.get_by_label("Ended (UTC)").fill("2026-03-03T09:00")
    page.get_by_label("Description").fill("Database failover")
    page.get_by_role("button", name="Record incident").click()
    expect(page.locator("#err-add-ended_at")).to_contain_text("after started_at")
    page.get_by_label("Ended (UTC)").fill("2026-03-03T14:00")
    page.get_by_label("Customers affected").select_option(label="Initech Hosting Customer")
    page.get_by_role("button", name="Record incident").click()
    expect(page.locator("main .notice")).to_contain_text("Database failover")
    row = page.locator("#incidents-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("2026-03-03 10:00")
    expect(row).to_contain_text("4 h 00 min")
    expect(row).to_contain_text("Initech Hosting Customer")
    expect(row).to_contain_text("All products")
    fits(page, viewport)
    screenshot(page, f"{name}-2-incidents")

    # the credit it owes: 4 h of March's 744 h is 99.46 %, below 99.9 % -> 10 % of $200.00
    # refreshing every customer is a run on the job system: the page reloads once it is over
    # (without JavaScript, its Refresh link shows the new list)
    job_runner()
    page.goto("/dashboard/suggestions")
    refresh_every_customer(page, javascript=javascript)
    expect(page.locator("#suggestion-results h2")).to_have_text("Open suggestions (1)")
    page.get_by_label("Reason").select_option("service_issue")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#suggestion-results")).to_contain_text("99.46%")
    expect(page.locator("#suggestion-results")).to_contain_text("$20.00")
    fits(page, viewport)
    screenshot(page, f"{name}-3-suggestion")
