"""Partner Dashboard in a real browser: sign in → new memo → issue → apply to two invoices →
remove one application → void another memo with a reason (issue 3, item 5), and refusals
shown next to the form that keep what was typed."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.browser.conftest import Page, expect, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def books(site, tenant):
    """A customer with two open invoices and an issued memo (the one voided later)."""
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Globex Corporation")
    inv_a = factories.invoice(db, actor, cid, "1000.00")
    inv_b = factories.invoice(db, actor, cid, "600.00")
    other = factories.memo(db, actor, cid, "80.00")
    num = {k: invoices.get_invoice(db, actor=actor, invoice_id=v).number
           for k, v in {"a": inv_a, "b": inv_b}.items()}
    return {"customer": cid, "a": inv_a, "b": inv_b, "num": num, "other": other,
            "other_number": memos.get_memo(db, actor=actor, memo_id=other).number}


def notice(page: Page):
    return page.locator("main .notice[role=status]")


def confirm(page: Page) -> None:
    """Confirm the action whose preview (P6) is shown (tests/browser/test_preview.py)."""
    expect(page.locator("#confirm-card")).to_be_visible()
    page.locator("#confirm-action").click()


def fields(page: Page) -> dict[str, object]:
    return {"status": page.locator("h1 .badge"), "total": page.locator("#memo-total"),
            "applied": page.locator("#memo-applied"),
            "remaining": page.locator("#memo-remaining")}


def test_memo_lifecycle_in_the_browser(page: Page, tenant, books) -> None:
    a, b = books["num"]["a"], books["num"]["b"]

    # Sign in: the memo list, with the memo seeded for later.
    sign_in(page, tenant)
    expect(page.locator("#memo-table")).to_contain_text(books["other_number"])

    # New memo: customer, reason, amount, notes.
    page.get_by_role("link", name="New credit memo").click()
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos/new$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New credit memo")
    page.get_by_label("Customer").fill("Globex Corporation (USD)")
    page.get_by_label("Reason").select_option(label="Service issue")
    page.get_by_label("Amount", exact=True).fill("250.00")
    page.get_by_label("Internal notes (optional)").fill("Outage on the 3rd; SLA missed.")
    page.get_by_role("button", name="Create draft").click()

    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos/cm_\w+$"))
    number = page.locator("#memo-number").inner_text()
    assert re.fullmatch(r"CM-\d+", number), number
    expect(notice(page)).to_have_text(
        f"Draft credit memo {number} created. Review it, then issue it.")
    f = fields(page)
    expect(f["status"]).to_have_text("Draft")
    expect(f["total"]).to_have_text("$250.00")
    expect(page.locator(".fields")).to_contain_text("Service issue")
    expect(page.locator(".fields")).to_contain_text("Outage on the 3rd; SLA missed.")
    expect(page.locator("#apply-candidates")).to_have_count(0)  # a draft applies nowhere

    # Issue.
    page.get_by_role("button", name="Issue credit memo").click()
    confirm(page)
    expect(notice(page)).to_have_text(f"Credit memo {number} issued.")
    expect(f["status"]).to_have_text("Issued")
    expect(f["remaining"]).to_have_text("$250.00")
    expect(page.locator("#journal-table")).to_contain_text("$250.00")
    expect(page.get_by_role("button", name="Issue credit memo")).to_have_count(0)

    # Apply to the first invoice: the amount comes pre-filled with the most allowed.
    amount_a = page.get_by_label(f"Amount to apply to {a} (USD)")
    expect(amount_a).to_have_value("250.00")  # min(remaining 250, balance due 1,000)
    expect(page.locator(f"#candidate-{a}")).to_contain_text("$1,000.00")
    amount_a.fill("100.00")
    page.get_by_role("button", name=f"Apply to {a}").click()
    confirm(page)
    expect(notice(page)).to_have_text(f"Applied $100.00 of {number} to invoice {a}.")
    expect(f["status"]).to_have_text("Partially applied")
    expect(f["applied"]).to_have_text("$100.00")
    expect(f["remaining"]).to_have_text("$150.00")
    expect(page.locator(f"#candidate-{a}")).to_contain_text("$900.00")

    # Apply to the second invoice: pre-filled with the 150.00 still remaining.
    amount_b = page.get_by_label(f"Amount to apply to {b} (USD)")
    expect(amount_b).to_have_value("150.00")
    page.get_by_role("button", name=f"Apply to {b}").click()
    confirm(page)
    expect(notice(page)).to_have_text(f"Applied $150.00 of {number} to invoice {b}.")
    expect(f["status"]).to_have_text("Applied")
    expect(f["applied"]).to_have_text("$250.00")
    expect(f["remaining"]).to_have_text("$0.00")
    rows = page.locator("#applications-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#application-{books['a']}")).to_contain_text("$100.00")
    expect(page.locator(f"#application-{books['b']}")).to_contain_text("$150.00")
    expect(page.get_by_role("heading", name="Apply to invoice")).to_have_count(0)  # nothing left

    # The invoices show the credit and the lower balance due.
    page.get_by_role("link", name=a, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Invoice {a}")
    expect(page.locator("#invoice-credit-applied")).to_have_text("$100.00")
    expect(page.locator("#invoice-balance")).to_have_text("$900.00")
    expect(page.locator("#credits-table")).to_contain_text(number)
    page.go_back()
    expect(page.locator("#memo-number")).to_have_text(number)

    # Remove the application to the first invoice.
    page.get_by_role("button", name=f"Remove credit from {a}").click()
    confirm(page)
    expect(notice(page)).to_have_text(f"Removed the credit of {number} from invoice {a}.")
    expect(f["status"]).to_have_text("Partially applied")
    expect(f["applied"]).to_have_text("$150.00")
    expect(f["remaining"]).to_have_text("$100.00")
    expect(rows).to_have_count(1)
    expect(page.locator(f"#application-{books['a']}")).to_have_count(0)
    expect(page.get_by_label(f"Amount to apply to {a} (USD)")).to_have_value("100.00")
    page.goto(f"/dashboard/invoices/{books['a']}")
    expect(page.locator("#invoice-credit-applied")).to_have_text("$0.00")
    expect(page.locator("#invoice-balance")).to_have_text("$1,000.00")
    expect(page.locator("#credits-applied")).to_contain_text("No credit applied.")
    page.goto(f"/dashboard/invoices/{books['b']}")
    expect(page.locator("#invoice-balance")).to_have_text("$450.00")

    # Void another memo, with a reason.
    page.goto("/dashboard/credit-memos")
    page.get_by_role("link", name=books["other_number"], exact=True).click()
    expect(page.locator("#memo-number")).to_have_text(books["other_number"])
    expect(f["status"]).to_have_text("Issued")
    page.get_by_label("Reason for voiding (required)").fill("Raised twice by mistake")
    page.get_by_role("button", name="Void credit memo").click()
    confirm(page)
    expect(notice(page)).to_have_text(f"Credit memo {books['other_number']} voided.")
    expect(f["status"]).to_have_text("Void")
    expect(page.locator("#void-reason")).to_have_text("Raised twice by mistake")
    expect(page.get_by_role("button", name="Void credit memo")).to_have_count(0)

    # The list agrees: the void tab holds the voided memo, the applied tab none of them.
    page.goto("/dashboard/credit-memos")
    page.locator("#tab-void").click()
    expect(page.locator("#memo-table")).to_contain_text(books["other_number"])
    expect(page.locator("#memo-table")).not_to_contain_text(number)
    page.locator("#tab-partially_applied").click()
    row = page.locator("#memo-table tbody tr", has_text=number)
    expect(row).to_contain_text("$250.00")
    expect(row).to_contain_text("$100.00")
    expect(row).to_contain_text("Partially applied")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_refusals_show_next_to_the_form_and_keep_what_was_typed(new_page, site, tenant, books,
                                                                javascript) -> None:
    page = new_page(javascript=javascript)
    sign_in(page, tenant)
    a = books["num"]["a"]
    memo_id = factories.memo(site.db, tenant.actor, books["customer"], "250.00")

    # Apply more than the memo has left: refused, the typed amount stays, nothing applied.
    page.goto(f"/dashboard/credit-memos/{memo_id}")
    amount = page.get_by_label(f"Amount to apply to {a} (USD)")
    amount.fill("300.00")
    page.get_by_role("button", name=f"Apply to {a}").click()
    error = page.locator("#error-apply")
    expect(error).to_be_visible()
    expect(error).to_be_in_viewport()  # not left below the fold: the page scrolls to it
    expect(error).to_be_focused()
    expect(error).to_contain_text("250.00")  # the message names what is left
    expect(amount).to_have_value("300.00")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#memo-remaining")).to_have_text("$250.00")
    expect(page.locator("h1 .badge")).to_have_text("Issued")
    expect(page.locator("#applications-table")).to_have_count(0)
    # the message sits in the apply section, next to the form it is about
    expect(page.locator("#applications #error-apply")).to_have_count(1)
    if javascript:  # htmx keeps the page's address (without it, the browser shows the POST's)
        expect(page).to_have_url(re.compile(f"/dashboard/credit-memos/{memo_id}$"))
        page.reload()
        expect(page.locator("#memo-number")).to_be_visible()

    # A bad amount on the new memo form: refused, every typed field kept.
    page.goto("/dashboard/credit-memos/new")
    page.get_by_label("Customer").fill("Globex Corporation (USD)")
    page.get_by_label("Reason").select_option(label="Pricing error")
    page.get_by_label("Amount", exact=True).fill("12.345")
    page.get_by_label("Internal notes (optional)").fill("Keep this note")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#error-memo")).to_be_visible()
    expect(page.locator("#error-memo")).to_be_in_viewport()
    expect(page.locator("#err-memo-amount")).to_be_visible()
    expect(page.get_by_label("Amount", exact=True)).to_have_value("12.345")
    expect(page.get_by_label("Customer")).to_have_value("Globex Corporation (USD)")
    expect(page.get_by_label("Reason")).to_have_value("pricing_error")
    expect(page.get_by_label("Internal notes (optional)")).to_have_value("Keep this note")
    assert len(memos.list_memos(site.db, actor=tenant.actor, limit=50).data) == 2  # none new
