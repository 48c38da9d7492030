"""Issue 11 in Chromium, the parts its other browser tests left out: deleting a draft and
dismissing a suggestion (both for good) ask first and say what happens (item 8, a
confirmation on destructive actions; JavaScript on and off), and the memo's audit trail
says what changed — the amount, the reason, the invoice — after changes made through the
pages (item 7)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from creditdesk.domain.errors import NotFound
from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices
from creditdesk.services.suggesting import suggestions
from tests import factories
from tests.browser.conftest import PHONE, Page, expect, screenshot, sign_in
from tests.browser.test_forms_and_lists import _sign_in_without_js
from tests.browser.test_phone_width import measure

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_deleting_a_draft_asks_first_and_says_what_happens(new_page, site, tenant,
                                                           javascript: bool) -> None:
    a = tenant.actor
    cid = factories.customer(site.db, a, "Globex Corporation")
    mid = factories.memo(site.db, a, cid, "250.00", issue=False)
    number = memos.get_memo(site.db, actor=a, memo_id=mid).number
    page = new_page(javascript=javascript)
    sign_in(page, tenant) if javascript else _sign_in_without_js(page, tenant)
    page.goto(f"/dashboard/credit-memos/{mid}")

    confirm = page.locator("#delete-confirm")
    expect(confirm).to_be_hidden()  # one click does not delete
    page.get_by_text("Delete…").click()
    expect(page.locator("#delete-what")).to_have_text(
        f"Deleting draft {number} removes it for good: it can't be brought back. It was "
        "never issued, so no journal entry, stock or customer balance changes.")
    expect(confirm).to_have_text(f"Delete draft {number}")
    assert memos.get_memo(site.db, actor=a, memo_id=mid).status == "draft"  # still there
    screenshot(page, f"delete-draft-confirmation-{'js' if javascript else 'no-js'}")
    if javascript:
        page.set_viewport_size(PHONE)
        assert measure(page)["scrollWidth"] <= PHONE["width"]
        screenshot(page, "delete-draft-confirmation-375")

    confirm.click()
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos$"))
    expect(page.get_by_text(f"Draft {number} deleted.")).to_be_visible()
    with pytest.raises(NotFound):
        memos.get_memo(site.db, actor=a, memo_id=mid)


def test_the_audit_trail_says_what_changed(site, tenant, page: Page) -> None:
    a = tenant.actor
    cid = factories.customer(site.db, a, "Globex Corporation")
    inv = factories.invoice(site.db, a, cid, "500.00")
    inv_number = invoices.get_invoice(site.db, actor=a, invoice_id=inv).number
    mid = factories.memo(site.db, a, cid, "100.00", issue=False)
    number = memos.get_memo(site.db, actor=a, memo_id=mid).number
    sign_in(page, tenant)
    page.goto(f"/dashboard/credit-memos/{mid}")

    page.locator("#edit-memo").click()  # the amount and the reason, changed on the form
    page.get_by_label("Amount", exact=True).fill("150.00")
    page.get_by_label("Reason").select_option(label="Pricing error")
    page.get_by_role("button", name=re.compile("^Save")).click()
    expect(page).to_have_url(re.compile(rf"/dashboard/credit-memos/{mid}$"))
    page.get_by_role("button", name="Issue credit memo").click()
    page.locator("#confirm-action").click()
    page.get_by_label(f"Amount to apply to {inv_number} (USD)").fill("40.00")
    page.get_by_role("button", name=f"Apply to {inv_number}").click()
    page.locator("#confirm-action").click()
    expect(page.locator("#memo-applied")).to_have_text("$40.00")

    trail = page.locator("#audit-trail")
    expect(trail).to_contain_text("Changed the total from $100.00 to $150.00; the reason "
                                  "from Goodwill to Pricing error")
    expect(trail).to_contain_text("Issued for $150.00")
    expect(trail).to_contain_text(f"Applied $40.00 to invoice {inv_number}")
    expect(trail).to_contain_text(f"Created {number} for $100.00, reason Goodwill")
    assert "amount_minor" not in trail.inner_text() and "{" not in trail.inner_text()
    screenshot(page, "audit-trail-in-words")


def _duplicate_charge(site, tenant) -> str:
    """A monthly plan billed twice in one month: one open duplicate-charge suggestion."""
    db, a = site.db, tenant.actor
    cid = factories.customer(db, a, "Contoso Dental Group")
    line = [{"description": "Managed services", "quantity": 20, "unit_price": "15.00"}]
    for days in [30 * m for m in range(10)] + [271]:
        inv = invoices.create_invoice(db, actor=a, customer_id=cid, lines=line,
                                      issue_date=date(2025, 1, 6) + timedelta(days=days))
        invoices.issue_invoice(db, actor=a, invoice_id=inv.id)
    assert suggestions.refresh(db, actor=a).open == 1
    [s] = suggestions.list_suggestions(db, actor=a).data
    return s.id


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_dismissing_a_suggestion_asks_first_and_says_it_is_for_good(
        new_page, site, tenant, javascript: bool) -> None:
    sid = _duplicate_charge(site, tenant)
    page = new_page(javascript=javascript)
    sign_in(page, tenant) if javascript else _sign_in_without_js(page, tenant)
    page.goto("/dashboard/suggestions")
    confirm = page.locator(f"#dismiss-confirm-{sid}")
    expect(confirm).to_be_hidden()  # one click does not dismiss
    page.locator(f"#dismiss-{sid} > summary").click()
    expect(page.locator(f"#dismiss-what-{sid}")).to_have_text(
        "Dismissing it is for good: this suggestion won't come back for the same invoices, "
        "even after a refresh. No credit memo is created.")
    assert suggestions.get_suggestion(site.db, actor=tenant.actor,
                                      suggestion_id=sid).status == "open"
    screenshot(page, f"dismiss-suggestion-confirmation-{'js' if javascript else 'no-js'}")
    confirm.click()
    expect(page.get_by_text("Suggestion dismissed")).to_be_visible()
    assert suggestions.get_suggestion(site.db, actor=tenant.actor,
                                      suggestion_id=sid).status == "dismissed"
