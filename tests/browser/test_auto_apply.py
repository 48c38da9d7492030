"""AU1 in a real browser: the admin turns on "Apply available credit to new invoices"
(Team Preferences, confirmed first), issues a draft invoice from its page — the confirmation
says which credit memos it will take and how much — then finds the applications marked
automatic on the invoice and on the memo, and removes one there. With JavaScript on (htmx
puts the confirmation into the page) and off (a page of its own), at desktop width and at
375 px. Screenshots in tests/browser/screenshots/auto-apply-*.png."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, expect, screenshot, sign_in
from tests.browser.test_portal_apply_credit import fits

pytestmark = pytest.mark.browser


@pytest.fixture
def books(site, tenant):
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Initech")
    older = factories.memo(db, actor, cid, "300.00")
    newer = factories.memo(db, actor, cid, "500.00")
    draft = factories.invoice(db, actor, cid, "650.00", issue=False)
    number = {m: memos.get_memo(db, actor=actor, memo_id=m).number for m in (older, newer)}
    return {"customer": cid, "older": older, "newer": newer, "draft": draft, "number": number,
            "invoice": invoices.get_invoice(db, actor=actor, invoice_id=draft).number}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_au1_issue_applies_the_oldest_credit_first_after_the_confirmation(
        new_page, site, tenant, books, javascript, viewport) -> None:
    name = f"auto-apply-{'js' if javascript else 'nojs'}-{viewport['width']}"
    admin = new_page(viewport, javascript=javascript)
    sign_in(admin, tenant)
    admin.goto("/dashboard/preferences/auto-apply")
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        "Apply available credit to new invoices")
    admin.get_by_role("switch", name="Apply available credit to new invoices").set_checked(True)
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#choice-1-start")).to_contain_text(
        "1 customer will have their credit applied to new invoices")
    fits(admin, viewport)
    screenshot(admin, f"{name}-1-preference-confirm")
    admin.locator("#confirm-action").click()
    expect(admin.locator("main .notice")).to_contain_text(
        "Available credit is now applied to new invoices")
    fits(admin, viewport)
    screenshot(admin, f"{name}-2-preference")

    old_no, new_no = books["number"][books["older"]], books["number"][books["newer"]]
    admin.goto(f"/dashboard/invoices/{books['draft']}")
    expect(admin.locator("#issue-invoice")).to_contain_text("available credit to it at once")
    admin.get_by_role("button", name="Issue invoice").click()
    if javascript:
        expect(admin).to_have_url(re.compile(rf"/dashboard/invoices/{books['draft']}$"))
        expect(admin.locator("#confirmation #confirm-card")).to_be_visible()
    else:
        expect(admin.locator("#confirmation-page")).to_be_visible()
    expect(admin.locator("#confirm-automatic-1")).to_contain_text(
        f"{old_no}: $300.00 applied automatically")
    expect(admin.locator("#confirm-automatic-2")).to_contain_text(
        f"{new_no}: $350.00 applied automatically")
    expect(admin.locator("#confirm-automatic-2")).to_contain_text("$500.00 → $150.00")
    expect(admin.locator("#confirm-invoice")).to_contain_text("$650.00 → $0.00")
    fits(admin, viewport)
    screenshot(admin, f"{name}-3-issue-confirm")
    assert invoices.get_invoice(site.db, actor=tenant.actor,
                                invoice_id=books["draft"]).status == "draft"

    admin.locator("#confirm-action").click()
    expect(admin.locator("main .notice")).to_contain_text(
        f"Invoice {books['invoice']} issued. $650.00 of available credit was applied "
        "automatically")
    expect(admin.locator("#invoice-balance")).to_have_text("$0.00")
    expect(admin.locator(f"#automatic-{books['older']}")).to_have_text("Automatic")
    expect(admin.locator(f"#automatic-{books['newer']}")).to_have_text("Automatic")
    fits(admin, viewport)
    screenshot(admin, f"{name}-4-invoice")

    # The memo page marks it too, and removes it like any other (U1).
    admin.goto(f"/dashboard/credit-memos/{books['newer']}")
    expect(admin.locator(f"#automatic-{books['draft']}")).to_have_text("Automatic")
    expect(admin.locator("#audit-trail")).to_contain_text("automatic")
    fits(admin, viewport)
    screenshot(admin, f"{name}-5-memo")
    admin.get_by_role("button", name=f"Remove credit from {books['invoice']}").click()
    admin.locator("#confirm-action").click()
    expect(admin.locator("main .notice")).to_contain_text("Removed")
    assert invoices.get_invoice(site.db, actor=tenant.actor, invoice_id=books["draft"]
                                ).balance_due.to_str() == "350.00"
