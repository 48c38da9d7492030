"""Customer Portal in a real browser, with credit-balance visibility (P2, P3) switched through
the dashboard's Preferences page: on, off, and with an exception (both ways). When hidden,
no memo number, no credit amount and no credit link reach the customer's pages, and
/portal/credit-memos answers 404."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import credit, memos
from tests import factories
from tests.browser.conftest import Page, expect, portal_link, sign_in

pytestmark = pytest.mark.browser

# The credit of the customer: a memo of 147.23, 31.17 of it applied to the 2,000.00 invoice,
# 116.06 left. Distinct figures, so finding one in a page can only be a leak.
CREDIT_AMOUNTS = ("147.23", "31.17", "116.06")
BALANCE_DUE = "$1,968.83"


@pytest.fixture
def books(site, tenant):
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Initech")
    inv = factories.invoice(db, actor, cid, "2000.00")
    shown = factories.memo(db, actor, cid, "147.23")
    credit.apply_credit(db, actor=actor, memo_id=shown, invoice_id=inv, amount="31.17")
    draft = factories.memo(db, actor, cid, "58.41", issue=False)  # never shown to customers
    number = {k: memos.get_memo(db, actor=actor, memo_id=v).number
              for k, v in {"shown": shown, "draft": draft}.items()}
    return {"customer": cid, "invoice": inv, "numbers": number}


def set_show_to_all(admin: Page, on: bool) -> None:
    """Team Preferences > Credit balance visibility: the toggle, saved."""
    admin.get_by_role("link", name="Team Preferences").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Credit balance visibility")
    switch = admin.get_by_role("switch", name="Show balance to all customers")
    switch.set_checked(on)
    admin.get_by_role("button", name="Save").click()
    admin.locator("#confirm-action").click()  # who starts or stops seeing credit (P7)
    expect(admin.locator("main .notice")).to_contain_text(
        "now shown to all customers" if on else "now hidden from all customers")
    expect(switch).to_be_checked(checked=on)


def assert_credit_shown(customer: Page, books) -> None:
    customer.goto("/portal/")
    expect(customer.locator("#balance-due")).to_have_text(BALANCE_DUE)
    expect(customer.locator("#available-credit")).to_have_text("$116.06")
    expect(customer.get_by_role("link", name="Credit memos", exact=True)).to_be_visible()
    customer.get_by_role("link", name="See your credit memos").click()
    expect(customer).to_have_url(re.compile(r"/portal/credit-memos$"))
    table = customer.locator("#portal-memos")
    expect(table).to_contain_text(books["numbers"]["shown"])
    expect(table).to_contain_text("$147.23")
    expect(table).to_contain_text("$116.06")
    expect(table).not_to_contain_text(books["numbers"]["draft"])  # never drafts
    customer.goto(f"/portal/invoices/{books['invoice']}")
    expect(customer.locator("#balance-explained")).to_contain_text(
        re.compile(f"Credit memo {books['numbers']['shown']} applied on .*\u2212\\$31\\.17"))


def assert_credit_hidden(customer: Page, books) -> None:
    for url in ("/portal/", "/portal/invoices", f"/portal/invoices/{books['invoice']}"):
        r = customer.goto(url)
        assert r is not None and r.status == 200, url
        text = customer.locator("body").inner_text()
        for number in books["numbers"].values():
            assert number not in text, (url, number)
        for amount in CREDIT_AMOUNTS:
            assert amount not in text, (url, amount)
        assert "credit" not in text.lower(), url
        expect(customer.locator("a[href*='credit-memos']")).to_have_count(0)
        assert "credit-memos" not in customer.content(), url
    customer.goto("/portal/")
    expect(customer.locator("#balance-due")).to_have_text(BALANCE_DUE)  # still shown
    r = customer.goto("/portal/credit-memos")
    assert r is not None and r.status == 404
    text = customer.locator("body").inner_text()
    for value in (*books["numbers"].values(), *CREDIT_AMOUNTS):
        assert value not in text


def test_portal_follows_the_visibility_setting(new_page, site, tenant, books) -> None:
    admin, customer = new_page(), new_page()
    sign_in(admin, tenant)

    # Nothing set yet: hidden (the partner has not opted in). The customer comes in
    # through a link made with the API.
    customer.goto(portal_link(site, tenant, books["customer"]))
    expect(customer.get_by_role("heading", level=1)).to_have_text("Hello, Initech")
    customer.get_by_role("button", name="Continue to your account").click()
    expect(customer).to_have_url(re.compile(r"/portal/$"))
    expect(customer.get_by_role("heading", level=1)).to_have_text("Welcome, Initech")
    assert_credit_hidden(customer, books)

    # On for everyone: the credit shows.
    set_show_to_all(admin, True)
    assert_credit_shown(customer, books)

    # On, with Initech an exception: hidden again.
    admin.get_by_label("Search customers to add").fill("Initech")
    admin.get_by_label("Search customers to add").press("Enter")
    admin.get_by_role("button", name="Add Initech as an exception").click()
    admin.locator("#confirm-action").click()
    expect(admin.locator("main .notice")).to_have_text("Initech is now an exception.")
    expect(admin.locator("#exception-list")).to_contain_text("Initech")
    assert_credit_hidden(customer, books)

    # Off for everyone, Initech still an exception: the exception reverses it, shown.
    set_show_to_all(admin, False)
    expect(admin.locator("#exception-list")).to_contain_text("Initech")
    assert_credit_shown(customer, books)

    # Off, exception removed: hidden.
    admin.get_by_role("button", name="Remove Initech from the exceptions").click()
    admin.locator("#confirm-action").click()
    expect(admin.locator("main .notice")).to_have_text("The exception was removed.")
    expect(admin.locator("#no-exceptions")).to_be_visible()
    assert_credit_hidden(customer, books)

    # The dashboard's customer page says what the customer sees.
    admin.goto(f"/dashboard/customers/{books['customer']}")
    expect(admin.locator("#portal-visibility")).to_contain_text("credit is hidden")

    # The link worked once: a second use is refused.
    link = portal_link(site, tenant, books["customer"])
    other = new_page()
    other.goto(link)
    other.get_by_role("button", name="Continue to your account").click()
    expect(other).to_have_url(re.compile(r"/portal/$"))
    r = new_page().goto(link)
    assert r is not None and r.status == 404
