"""P6 and P7 in a real browser: every memo action asks for confirmation with its preview
(journal lines, stock movements, new statuses and balances, what the portal will show);
Cancel changes nothing, Confirm does it; with JavaScript (htmx puts the confirmation into
the page) and without (a confirmation page). P7: changing credit visibility shows who starts
or stops seeing credit, by name and count, before saving."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers, visibility
from creditdesk.services.invoicing import catalog, invoices
from tests import factories
from tests.browser.conftest import PHONE, Page, expect, screenshot, sign_in

pytestmark = pytest.mark.browser
TIMES = "\u00d7"  # the multiplication sign of the page's stock lines
MODES = pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])


@pytest.fixture
def books(site, tenant):
    """Globex (credit shown in its portal) with an invoice of $5,000.00 and a draft memo of
    two returned routers ($3,390.00) that restocks them when issued."""
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Globex Corporation")
    product = catalog.create_product(db, actor=actor, name="Router", variants=[
        catalog.VariantInput(sku="RT-200", name="Router 200", price="1695.00",
                             stock_on_hand=5)])
    var = product.variants[0].id
    inv = factories.invoice(db, actor, cid, "5000.00")
    draft = memos.create_memo(db, actor=actor, customer_id=cid, reason="returned_goods",
                              lines=[{"description": "Router 200 returned", "quantity": 2,
                                      "unit_price": "1695.00", "variant_id": var}])
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    return {"customer": cid, "invoice": inv, "memo": draft.id, "number": draft.number,
            "inv_number": invoices.get_invoice(db, actor=actor, invoice_id=inv).number}


def memo_status(site, tenant, memo_id: str) -> str:
    return memos.get_memo(site.db, actor=tenant.actor, memo_id=memo_id).status


def card(page: Page):
    return page.locator("#confirm-card")


@MODES
def test_p6_every_action_confirms_with_its_preview(new_page, site, tenant, books,
                                                  javascript) -> None:
    page = new_page(javascript=javascript)
    mode = "htmx" if javascript else "nojs"
    sign_in(page, tenant)
    url = f"/dashboard/credit-memos/{books['memo']}"
    number, inv = books["number"], books["inv_number"]

    # Issue: the journal lines, the restock, Draft → Issued, and the portal's new credit.
    page.goto(url)
    page.get_by_role("button", name="Issue credit memo").click()
    expect(card(page)).to_contain_text(f"Issue credit memo {number}?")
    journal = page.locator("#confirm-journal")
    expect(journal).to_contain_text("4900 Sales Returns and Allowances")
    expect(journal).to_contain_text("1100 Accounts Receivable")
    expect(journal).to_contain_text("$3,390.00")
    expect(page.locator("#confirm-stock")).to_contain_text(f"+2 {TIMES} RT-200 Router 200")
    expect(page.locator("#confirm-stock")).to_contain_text("5 → 7")
    expect(page.locator("#confirm-memo")).to_contain_text("Draft")
    expect(page.locator("#confirm-memo")).to_contain_text("Issued")
    expect(page.locator("#confirm-portal")).to_contain_text(
        "Globex Corporation will see available credit of $3,390.00")
    expect(page.locator("#confirm-action")).to_be_focused()
    if javascript:  # in the memo page itself, the address unchanged
        expect(page).to_have_url(re.compile(f"{url}$"))
        expect(page.locator("#memo-number")).to_be_visible()
    screenshot(page, f"p6_issue_confirmation_{mode}")

    # Cancel: nothing changed.
    page.locator("#cancel-action").click()
    expect(card(page)).to_have_count(0)
    expect(page.locator("h1 .badge")).to_have_text("Draft")
    assert memo_status(site, tenant, books["memo"]) == "draft"

    # Confirm: issued, as previewed.
    page.get_by_role("button", name="Issue credit memo").click()
    page.locator("#confirm-action").click()
    expect(page.locator("main .notice[role=status]")).to_have_text(
        f"Credit memo {number} issued.")
    expect(page.locator("h1 .badge")).to_have_text("Issued")
    expect(page.locator("#inventory-list")).to_contain_text(f"+2 {TIMES} RT-200")

    # Apply: no journal entry, the memo and invoice balances, the portal after it.
    page.get_by_label(f"Amount to apply to {inv} (USD)").fill("1000.00")
    page.get_by_role("button", name=f"Apply to {inv}").click()
    expect(card(page)).to_contain_text(f"Apply $1,000.00 of {number} to invoice {inv}?")
    expect(page.locator("#confirm-journal-none")).to_be_visible()
    expect(page.locator("#confirm-stock-none")).to_be_visible()
    expect(page.locator("#confirm-memo")).to_contain_text("Partially applied")
    expect(page.locator("#confirm-memo")).to_contain_text("$3,390.00 → $2,390.00")
    expect(page.locator("#confirm-invoice")).to_contain_text("$5,000.00")
    expect(page.locator("#confirm-invoice")).to_contain_text("$5,000.00 → $4,000.00")
    expect(page.locator("#confirm-portal")).to_contain_text("$4,000.00 after $1,000.00 of credit")
    screenshot(page, f"p6_apply_confirmation_{mode}")
    page.locator("#cancel-action").click()
    expect(page.locator("#memo-applied")).to_have_text("$0.00")
    page.get_by_label(f"Amount to apply to {inv} (USD)").fill("1000.00")
    page.get_by_role("button", name=f"Apply to {inv}").click()
    page.locator("#confirm-action").click()
    expect(page.locator("#memo-applied")).to_have_text("$1,000.00")

    # Remove: back to Issued.
    page.get_by_role("button", name=f"Remove credit from {inv}").click()
    expect(card(page)).to_contain_text(f"Remove the credit of {number} from invoice {inv}?")
    expect(page.locator("#confirm-memo")).to_contain_text("$3,390.00")
    expect(page.locator("#confirm-invoice")).to_contain_text("$5,000.00")
    page.locator("#cancel-action").click()
    expect(page.locator("#applications-table tbody tr")).to_have_count(1)
    page.get_by_role("button", name=f"Remove credit from {inv}").click()
    page.locator("#confirm-action").click()
    expect(page.locator("#memo-applied")).to_have_text("$0.00")

    # Void: the reversing journal lines and the stock going out again.
    page.get_by_label("Reason for voiding (required)").fill("Customer kept the routers")
    page.get_by_role("button", name="Void credit memo").click()
    expect(card(page)).to_contain_text(f"Void credit memo {number}?")
    expect(page.locator("#confirm-journal")).to_contain_text("$3,390.00")
    expect(page.locator("#confirm-stock")).to_contain_text(f"-2 {TIMES} RT-200")
    expect(page.locator("#confirm-stock")).to_contain_text("7 → 5")
    expect(page.locator("#confirm-portal")).to_contain_text("is not listed")
    screenshot(page, f"p6_void_confirmation_{mode}")
    page.locator("#cancel-action").click()
    assert memo_status(site, tenant, books["memo"]) == "issued"
    page.get_by_label("Reason for voiding (required)").fill("Customer kept the routers")
    page.get_by_role("button", name="Void credit memo").click()
    page.locator("#confirm-action").click()
    expect(page.locator("h1 .badge")).to_have_text("Void")
    expect(page.locator("#void-reason")).to_have_text("Customer kept the routers")


@MODES
def test_p6_remove_from_the_invoice_page_confirms(new_page, site, tenant, books,
                                                  javascript) -> None:
    memo_lifecycle.issue_memo(site.db, actor=tenant.actor, memo_id=books["memo"])
    credit.apply_credit(site.db, actor=tenant.actor, memo_id=books["memo"],
                        invoice_id=books["invoice"], amount="390.00")
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, tenant)
    page.goto(f"/dashboard/invoices/{books['invoice']}")
    page.get_by_role("button", name=f"Remove credit of {books['number']}").click()
    expect(page.locator("#confirm-invoice")).to_contain_text("$4,610.00")
    expect(page.locator("#confirm-invoice")).to_contain_text("$5,000.00")
    expect(page.locator("#confirm-portal")).to_contain_text("available credit of $3,390.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, f"p6_invoice_remove_confirmation_phone_{'htmx' if javascript else 'nojs'}")
    page.locator("#confirm-action").click()
    expect(page.locator("#invoice-balance")).to_have_text("$5,000.00")


@MODES
def test_p6_a_refused_change_is_refused_at_the_confirmation(new_page, site, tenant, books,
                                                            javascript) -> None:
    page = new_page(javascript=javascript)
    sign_in(page, tenant)
    page.goto(f"/dashboard/credit-memos/{books['memo']}")
    # Issued meanwhile (another tab): the preview is refused with the real words.
    memo_lifecycle.issue_memo(site.db, actor=tenant.actor, memo_id=books["memo"])
    page.get_by_role("button", name="Issue credit memo").click()
    expect(page.locator("#error-issue")).to_be_visible()
    expect(page.locator("#error-issue")).to_contain_text("issued")
    expect(card(page)).to_have_count(0)


def test_p6_hidden_credit_is_said_without_amounts(page, site, tenant, books) -> None:
    visibility.add_exception(site.db, actor=tenant.actor, customer_id=books["customer"])
    sign_in(page, tenant)
    page.goto(f"/dashboard/credit-memos/{books['memo']}")
    page.get_by_role("button", name="Issue credit memo").click()
    portal = page.locator("#confirm-portal")
    expect(portal).to_contain_text("Credit is hidden from Globex Corporation")
    expect(portal).not_to_contain_text("$")


# --- P7: visibility changes say who is affected ------------------------------------------

@pytest.fixture
def people(site, tenant):
    """Four customers; credit shown to all but two exceptions (Hooli and Initech)."""
    db, actor = site.db, tenant.actor
    ids = {n: factories.customer(db, actor, n) for n in ("Hooli", "Initech", "Umbrella Health")}
    ids["Globex Corporation"] = customers.create_customer(
        db, actor=actor, name="Globex Corporation",
        email="accounts.payable.department@globex-corporation-international.example").id
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True,
                               exceptions=[ids["Hooli"], ids["Initech"]])
    return ids


def seen(site, tenant) -> list[str]:
    """Who sees credit in the portal now, by name."""
    with site.db.read() as session:
        return sorted(v.name for v in visibility.audience(session,
                                                          tenant.actor.partner_id).values())


@MODES
def test_p7_unticking_says_who_starts_and_stops_seeing_credit(new_page, site, tenant, people,
                                                               javascript) -> None:
    page = new_page(javascript=javascript)
    mode = "htmx" if javascript else "nojs"
    sign_in(page, tenant)
    page.goto("/dashboard/preferences/credit-balance-visibility")
    page.get_by_role("switch", name="Show balance to all customers").set_checked(False)
    page.get_by_role("button", name="Save", exact=True).click()

    # Saved as it is, the two exceptions flip to *shown*: said plainly, by name and count.
    expect(card(page)).to_contain_text("Hide credit balances from all customers?")
    expect(page.locator("#choice-1-note")).to_contain_text(
        "The 2 exceptions (Hooli, Initech) keep getting the opposite of the setting, so they "
        "start seeing credit.")
    expect(page.locator("#choice-1-stop")).to_contain_text(
        "2 customers will stop seeing their credit")
    expect(page.locator("#choice-1-stop-names")).to_have_text(
        re.compile(r"Globex Corporation · accounts\.payable\S+\s*Umbrella Health"))
    expect(page.locator("#choice-1-start")).to_contain_text("2 customers will start seeing")
    expect(page.locator("#choice-1-start-names")).to_have_text(re.compile(r"Hooli\s*Initech"))
    # The other way: without the exceptions, nobody starts; Globex and Umbrella stop.
    expect(page.locator("#choice-2-stop")).to_contain_text("2 customers will stop seeing")
    expect(page.locator("#choice-2-start")).to_have_count(0)
    if javascript:
        expect(page.locator("#visibility-form")).to_be_visible()  # in the page itself
    screenshot(page, f"p7_visibility_confirmation_{mode}")

    # Cancel: nothing saved.
    page.locator("#cancel-action").click()
    expect(card(page)).to_have_count(0)
    assert seen(site, tenant) == ["Globex Corporation", "Umbrella Health"]

    # Save and remove the exceptions: nobody sees credit now, as the preview said.
    page.get_by_role("switch", name="Show balance to all customers").set_checked(False)
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#confirm-action-2").click()
    expect(page.locator("main .notice")).to_contain_text("hidden from all customers, with no")
    expect(page.locator("#no-exceptions")).to_be_visible()
    assert seen(site, tenant) == []


def test_p7_an_exception_added_names_the_customer(new_page, site, tenant, people) -> None:
    page = new_page(PHONE)
    sign_in(page, tenant)
    page.goto("/dashboard/preferences/credit-balance-visibility?q=Globex")
    page.get_by_role("button", name="Add Globex Corporation as an exception").click()
    expect(card(page)).to_contain_text("Make Globex Corporation an exception?")
    expect(page.locator("#choice-1-stop")).to_contain_text("1 customer will stop seeing")
    expect(page.locator("#choice-1-stop-names")).to_contain_text("Globex Corporation")
    screenshot(page, "p7_exception_confirmation_375")
    box = card(page).bounding_box()  # a long email wraps inside the confirmation
    assert box is not None and box["x"] + box["width"] <= 375
    page.locator("#confirm-action").click()
    expect(page.locator("#exception-list")).to_contain_text("Globex Corporation")
    assert seen(site, tenant) == ["Umbrella Health"]
    screenshot(page, "p7_exception_added")
