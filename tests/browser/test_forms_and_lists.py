"""Forms and lists in a real browser (issue 11, items 4, 7 and 8): a credit memo started
from an invoice by lines and quantities (twice on one invoice, over-crediting refused per
line), status tabs and sortable headers that keep every filter, search by any part of a
number, the customer type-ahead, the variant picker (JavaScript on, and the server's fill
with it off) and refusals in words with amounts as the page shows them."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import memo_lifecycle, memos
from creditdesk.services.invoicing import catalog, invoices
from tests import factories
from tests.browser.conftest import PHONE, Page, expect, screenshot, sign_in

pytestmark = pytest.mark.browser


def _invoice(site, tenant, customer_id, variant_id=None):
    """Line 1: 2 x $1,000.00 firewall (a catalogue variant); line 2: 3 x $130.00 hours."""
    a = tenant.actor
    inv = invoices.create_invoice(site.db, actor=a, customer_id=customer_id, lines=[
        {"description": "Firewall appliance", "quantity": 2, "unit_price": "1000.00",
         "variant_id": variant_id},
        {"description": "Installation hours", "quantity": 3, "unit_price": "130.00"}])
    return invoices.issue_invoice(site.db, actor=a, invoice_id=inv.id)


def _memo_id(page: Page) -> str:
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos/cm_\w+$"))
    return page.url.rsplit("/", 1)[-1]


def test_credit_an_invoice_by_lines_twice_and_over_credit_refused_per_line(
        site, tenant, page: Page) -> None:
    cid = factories.customer(site.db, tenant.actor, "Globex Corporation")
    var = factories.variant(site.db, tenant.actor, "FW-200", "1000.00", stock=5)
    inv = _invoice(site, tenant, cid, var)
    sign_in(page, tenant)

    # First memo: one firewall only. Every line starts ticked with what it can still take.
    page.goto(f"/dashboard/invoices/{inv.id}")
    page.get_by_role("link", name="Create credit memo").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/invoices/{inv.id}/credit-memos/new$"))
    expect(page.locator("#line-0-quantity")).to_have_value("2")
    expect(page.locator("#line-1-quantity")).to_have_value("3")
    expect(page.locator("#line-0-selected")).to_be_checked()
    page.locator("#line-0-quantity").fill("1")
    page.locator("#line-1-selected").uncheck()
    page.get_by_label("Reason").select_option(label="Returned goods")
    page.get_by_role("button", name="Create draft credit memo").click()
    first = memos.get_memo(site.db, actor=tenant.actor, memo_id=_memo_id(page))
    assert [(li.quantity, li.invoice_line_id) for li in first.lines] == [(1, inv.lines[0].id)]
    expect(page.locator(".notice[role=status]").first).to_contain_text("$1,000.00")

    # A second, partial credit on the same invoice: the first draft holds its one firewall.
    page.goto(f"/dashboard/invoices/{inv.id}/credit-memos/new")
    expect(page.locator("#line-0-remaining")).to_have_text("1")
    expect(page.locator("#credit-line-1")).to_contain_text(f"1 on {first.number} (draft)")
    page.locator("#line-0-quantity").fill("2")  # one more than is left
    page.locator("#line-1-quantity").fill("2")
    page.get_by_role("button", name="Create draft credit memo").click()
    expect(page.locator("#error-create_memo")).to_contain_text(
        "Line 1: only 1 can still be credited")
    expect(page.locator("#err-create_memo-line-0-quantity")).to_contain_text(
        "Line 1: only 1 can still be credited")
    expect(page.locator("#line-0-quantity")).to_have_value("2")  # what was typed is kept
    screenshot(page, "forms-credit-from-invoice-refused")
    page.locator("#line-0-quantity").fill("1")
    page.get_by_role("button", name="Create draft credit memo").click()
    second = memos.get_memo(site.db, actor=tenant.actor, memo_id=_memo_id(page))
    assert second.total.to_str() == "1260.00" and second.invoice_id == inv.id

    # Both issue (C5 holds on issue); the invoice then has one hours line left to credit.
    for m in (first, second):
        memo_lifecycle.issue_memo(site.db, actor=tenant.actor, memo_id=m.id)
    page.goto(f"/dashboard/invoices/{inv.id}/credit-memos/new")
    expect(page.locator("#line-0-remaining")).to_have_text("0")
    expect(page.locator("#line-0-quantity")).to_be_disabled()
    expect(page.locator("#line-1-remaining")).to_have_text("1")
    screenshot(page, "forms-credit-from-invoice")
    phone = page.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"/dashboard/invoices/{inv.id}/credit-memos/new")
    screenshot(phone, "forms-credit-from-invoice-phone")


@pytest.fixture
def listed(site, tenant):
    """Two customers; 18 memos (CM-0001..CM-0018) in several statuses and amounts."""
    a = tenant.actor
    acme = factories.customer(site.db, a, "Acme Dental")
    zeta = factories.customer(site.db, a, "Zeta Logistics")
    ids = []
    for i in range(1, 19):
        cid = acme if i % 2 else zeta
        ids.append(factories.memo(site.db, a, cid, f"{i * 10}.00", issue=i % 3 != 0))
    return {"acme": acme, "zeta": zeta, "ids": ids}


def _numbers(page: Page) -> list[str]:
    return page.locator("#memo-table tbody tr td:first-child").all_inner_texts()


def test_tabs_and_sort_headers_keep_every_filter(site, tenant, page: Page, listed) -> None:
    sign_in(page, tenant)
    # Filter by customer (htmx swaps the list), then pick a tab: the customer stays.
    page.get_by_label("Customer").select_option(label="Zeta Logistics (USD)")
    expect(page).to_have_url(re.compile(r"customer_id="))
    expect(page.locator("#memo-table tbody tr")).to_have_count(9)
    page.locator("#tab-issued").click()
    expect(page).to_have_url(re.compile(r"status=issued"))
    assert f"customer_id={listed['zeta']}" in page.url
    expect(page.get_by_label("Customer")).to_have_value(listed["zeta"])
    # Zeta has the even memos; of those, multiples of 3 stayed drafts: 2,4,8,10,14,16
    assert sorted(_numbers(page)) == [f"CM-{i:04d}" for i in (2, 4, 8, 10, 14, 16)]

    # Sort by total (largest first), then reversed; the tab and customer stay.
    page.locator("#sort-total").click()
    expect(page.locator("#memo-table th[aria-sort=descending]")).to_contain_text("Total")
    assert _numbers(page) == [f"CM-{i:04d}" for i in (16, 14, 10, 8, 4, 2)]
    assert "status=issued" in page.url and f"customer_id={listed['zeta']}" in page.url
    page.locator("#sort-total").click()
    expect(page.locator("#memo-table th[aria-sort=ascending]")).to_contain_text("Total")
    assert _numbers(page) == [f"CM-{i:04d}" for i in (2, 4, 8, 10, 14, 16)]
    # ... and a tab keeps the sort too
    page.locator("#tab-all").click()
    expect(page.locator("#memo-table tbody tr")).to_have_count(9)
    assert _numbers(page)[:3] == ["CM-0002", "CM-0004", "CM-0006"]
    expect(page.locator("#memo-table thead")).to_contain_text("Date")
    screenshot(page, "lists-sorted-and-filtered")


def test_search_by_any_part_of_a_number(site, tenant, page: Page, listed) -> None:
    sign_in(page, tenant)
    page.get_by_label("Memo number").fill("17")
    page.get_by_label("Memo number").press("Enter")
    expect(page.locator("#memo-table tbody tr")).to_have_count(1)
    assert _numbers(page) == ["CM-0017"]
    page.get_by_label("Memo number").fill("1")
    page.get_by_label("Memo number").press("Enter")
    expect(page.locator("#memo-table tbody tr")).to_have_count(10)  # 1, 10-18
    screenshot(page, "lists-search-any-part")


def test_customer_type_ahead_is_alphabetical_and_works_without_javascript(
        site, tenant, new_page) -> None:
    a = tenant.actor
    for name in ("Zeta Logistics", "Acme Dental", "Umbrella Health"):
        factories.customer(site.db, a, name)
    for javascript in (True, False):
        page = new_page(javascript=javascript)
        sign_in(page, tenant) if javascript else _sign_in_without_js(page, tenant)
        page.goto("/dashboard/credit-memos/new")
        options = page.locator("#customer-options option")
        assert [options.nth(i).get_attribute("value") for i in range(options.count())] == [
            "Acme Dental (USD)", "Umbrella Health (USD)", "Zeta Logistics (USD)"]
        # a name as typed (any case) is enough when only one customer has it
        page.get_by_label("Customer").fill("umbrella health")
        page.get_by_label("Amount", exact=True).fill("25.00")
        page.get_by_role("button", name="Create draft").click()
        m = memos.get_memo(site.db, actor=a, memo_id=_memo_id(page))
        assert m.total.to_str() == "25.00"
        page.goto("/dashboard/credit-memos/new")
        page.get_by_label("Customer").fill("Nobody Inc")
        page.get_by_label("Amount", exact=True).fill("5.00")
        page.get_by_role("button", name="Create draft").click()
        expect(page.locator("#err-memo-customer")).to_have_text(
            "No customer is called Nobody Inc: pick one from the list")


def _sign_in_without_js(page: Page, tenant) -> None:
    from tests.browser.conftest import PASSWORD
    page.goto("/login")
    page.get_by_label("Email").fill(tenant.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos$"))


def _catalogue(site, tenant) -> str:
    p = catalog.create_product(site.db, actor=tenant.actor, name="Firewalls", variants=[
        catalog.VariantInput(sku="FW-200", name="Firewall FW-200", price="3390.00",
                             stock_on_hand=4)])
    return p.variants[0].id


def test_variant_picker_fills_the_line_with_javascript(site, tenant, page: Page) -> None:
    factories.customer(site.db, tenant.actor, "Globex Corporation")
    vid = _catalogue(site, tenant)
    sign_in(page, tenant)
    page.goto("/dashboard/credit-memos/new")
    page.locator("#line-0-variant_id").select_option(vid)
    expect(page.locator("#line-0-description")).to_have_value("Firewall FW-200")
    expect(page.locator("#line-0-unit_price")).to_have_value("3390.00")
    # what the user typed is theirs: a new pick does not overwrite it
    page.locator("#line-1-description").fill("Returned unit, box damaged")
    page.locator("#line-1-variant_id").select_option(vid)
    expect(page.locator("#line-1-description")).to_have_value("Returned unit, box damaged")
    expect(page.locator("#line-1-unit_price")).to_have_value("3390.00")
    screenshot(page, "forms-variant-picker")


def test_variant_fills_the_line_on_the_server_without_javascript(site, tenant,
                                                                  new_page) -> None:
    factories.customer(site.db, tenant.actor, "Globex Corporation")
    vid = _catalogue(site, tenant)
    page = new_page(javascript=False)
    _sign_in_without_js(page, tenant)
    page.goto("/dashboard/credit-memos/new")
    page.get_by_label("Customer").fill("Globex Corporation (USD)")
    page.locator("#line-0-variant_id").select_option(vid)
    expect(page.locator("#line-0-unit_price")).to_have_value("")  # no script ran
    page.locator("#line-0-quantity").fill("2")
    page.get_by_role("button", name="Create draft").click()
    m = memos.get_memo(site.db, actor=tenant.actor, memo_id=_memo_id(page))
    [line] = m.lines
    assert (line.description, line.unit_price.to_str(), line.variant_id) == (
        "Firewall FW-200", "3390.00", vid)
    assert m.total.to_str() == "6780.00"


def test_errors_in_words_and_amounts_as_on_the_page(site, tenant, page: Page) -> None:
    a = tenant.actor
    cid = factories.customer(site.db, a, "Globex Corporation")
    inv = factories.invoice(site.db, a, cid, "5000.00")
    memo_id = factories.memo(site.db, a, cid, "3390.00")
    sign_in(page, tenant)
    page.goto("/dashboard/credit-memos/new")
    page.get_by_label("Customer").fill("Globex Corporation (USD)")
    page.locator("#line-0-quantity").fill("2")  # no description, no price
    page.locator("#line-1-description").fill("Setup fee")
    page.locator("#line-1-quantity").fill("two")
    page.locator("#line-1-unit_price").fill("10")
    page.get_by_role("button", name="Create draft").click()
    error = page.locator("#error-memo")
    expect(error).to_contain_text("Line 1: enter a description.")
    expect(error).to_contain_text("Line 1: enter a unit price.")
    expect(error).to_contain_text("Line 2: the quantity must be a whole number")
    expect(page.locator("#err-memo-line-0-description")).to_have_text(
        "Line 1: enter a description")
    body = page.locator("main").inner_text()
    assert "lines[" not in body and "lines.0" not in body and "unit_price" not in body
    screenshot(page, "forms-errors-in-words")

    # A2: over-applying names the caps as the page shows money.
    page.goto(f"/dashboard/credit-memos/{memo_id}")
    number = invoices.get_invoice(site.db, actor=a, invoice_id=inv).number
    page.locator(f"#amount-{number}").fill("3390.01")
    page.get_by_role("button", name=f"Apply to {number}").click()
    expect(page.locator("#error-apply")).to_contain_text("only $3,390.00 remaining")
    assert "3390.00 USD" not in page.locator("main").inner_text()
