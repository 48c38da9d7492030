"""R1-R3 and P6 in a real browser: refund part of a memo's credit from its page (method,
date, reference), confirmed with its preview, with JavaScript (htmx) and without; void the
refund; the refund in the portal when credit is visible; the memo page at 375 px."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import memos
from creditdesk.services.customer_accounts import visibility
from tests import factories
from tests.browser.conftest import PHONE, expect, portal_link, screenshot, sign_in

pytestmark = pytest.mark.browser
MODES = pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])


@pytest.fixture
def credit(site, tenant):
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Globex Corporation")
    memo_id = factories.memo(db, actor, cid, "250.00")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    return {"customer": cid, "memo": memo_id,
            "number": memos.get_memo(db, actor=actor, memo_id=memo_id).number}


@MODES
def test_r1_r2_refund_and_void_from_the_memo_page(new_page, site, tenant, credit,
                                                  javascript) -> None:
    page = new_page(javascript=javascript)
    mode = "htmx" if javascript else "nojs"
    sign_in(page, tenant)
    url = f"/dashboard/credit-memos/{credit['memo']}"
    number = credit["number"]
    page.goto(url)
    expect(page.locator("#no-refunds")).to_be_visible()
    page.get_by_label("Amount (USD)").fill("100.00")
    page.get_by_label("Method").select_option("check")
    page.get_by_label("Date (empty: today)").fill("2026-11-30")
    page.get_by_label("Reference (optional)").fill("Check 1042")
    page.get_by_role("button", name="Refund…").click()
    card = page.locator("#confirm-card")
    expect(card).to_contain_text(
        f"Refund $100.00 of {number} to Globex Corporation by check?")
    expect(page.locator("#confirm-journal")).to_contain_text("1100 Accounts Receivable")
    expect(page.locator("#confirm-journal")).to_contain_text("1000 Cash")
    expect(page.locator("#confirm-memo")).to_contain_text("$250.00 → $150.00")
    expect(page.locator("#confirm-portal")).to_contain_text(
        "Globex Corporation will see available credit of $150.00")
    if javascript:  # in the memo page itself
        expect(page).to_have_url(re.compile(f"{url}$"))
    screenshot(page, f"r1_refund_confirmation_{mode}")
    page.locator("#confirm-action").click()
    expect(page.locator("main .notice[role=status]")).to_have_text(
        f"Refunded $100.00 of {number} by check.")
    expect(page.locator("#memo-refunded")).to_have_text("$100.00")
    expect(page.locator("#memo-remaining")).to_have_text("$150.00")
    expect(page.locator("#refunds-table tbody tr")).to_have_count(1)
    expect(page.locator("#refunds-table")).to_contain_text("Check 1042")
    expect(page.locator("#journal-table")).to_contain_text(f"Refund of credit memo {number}")
    expect(page.locator("#audit-trail")).to_contain_text(
        "Refunded $100.00 by check (reference Check 1042) on 2026-11-30")
    screenshot(page, f"r1_memo_with_refund_{mode}")

    # a refused refund: the message by the form, what was typed kept
    page.get_by_label("Amount (USD)").fill("150.01")
    page.get_by_label("Method").select_option("cash")
    page.get_by_role("button", name="Refund…").click()
    expect(page.locator("#error-refund")).to_contain_text("has only $150.00 remaining")
    expect(page.get_by_label("Amount (USD)")).to_have_value("150.01")

    # void the refund: the credit returns
    page.get_by_role("button", name=re.compile("Void the refund of \\$100.00")).click()
    expect(card).to_contain_text("The credit returns to the memo.")
    expect(page.locator("#confirm-memo")).to_contain_text("$150.00 → $250.00")
    page.locator("#confirm-action").click()
    expect(page.locator("#memo-remaining")).to_have_text("$250.00")
    expect(page.locator("#refunds-table")).to_contain_text("Voided")
    expect(page.locator("h1 .badge")).to_have_text("Issued")


def test_r3_portal_and_phone_width(new_page, site, tenant, credit) -> None:
    from creditdesk.services.credit_memos import refunds

    refunds.refund_memo(site.db, actor=tenant.actor, memo_id=credit["memo"], amount="40.00",
                        method="bank_transfer", reference="Wire 77")
    phone = new_page(PHONE)
    sign_in(phone, tenant)
    phone.goto(f"/dashboard/credit-memos/{credit['memo']}")
    expect(phone.locator("#refunds-table")).to_contain_text("Wire 77")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    screenshot(phone, "r1_memo_refunds_phone")
    phone.goto(f"/dashboard/customers/{credit['customer']}")
    expect(phone.locator("#customer-refunds")).to_contain_text("Refunded $40.00 by bank transfer")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "r3_customer_refunds_phone")
    portal = new_page()
    portal.goto(portal_link(site, tenant, credit["customer"]))
    portal.get_by_role("button", name="Continue to your account").click()
    portal.goto("/portal/credit-memos")
    expect(portal.locator("main")).to_contain_text("Refunded: $40.00")
    screenshot(portal, "r3_portal_refund")
