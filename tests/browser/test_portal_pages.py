"""The Customer Portal's pages in Chromium (issue 11, item 10): the partner's name on every
page, overdue invoices marked in words, a partially paid invoice explaining its payments
(and its credits only when credit is visible to the customer, P3), and error pages in
plain words. Screenshots at desktop and phone widths go to tests/browser/screenshots/."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import update

from creditdesk.db import models
from creditdesk.services.access import portal_links
from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, Page, expect, screenshot

pytestmark = pytest.mark.browser

TODAY = date.today()
PAID = [datetime.combine(TODAY - timedelta(days=d), time(15, 30), UTC) for d in (50, 31)]
PAID_TEXT = [f"{p:%Y-%m-%d} 15:30 UTC" for p in PAID]


@pytest.fixture
def books(site, tenant):
    """Initech: an overdue invoice paid twice and credited once, an overdue invoice paid in
    full (not overdue then), one not due yet, and one without a due date."""
    db, actor = site.db, tenant.actor
    cid = factories.customer(db, actor, "Initech")

    def invoice(total: str, due: date | None) -> str:
        inv = invoices.create_invoice(db, actor=actor, customer_id=cid, due_date=due,
                                      issue_date=TODAY - timedelta(days=60), lines=[
                                          {"description": "Managed IT services, per seat",
                                           "quantity": 1, "unit_price": total}]).id
        invoices.issue_invoice(db, actor=actor, invoice_id=inv)
        return inv

    late = invoice("2000.00", TODAY - timedelta(days=12))
    invoices.record_payment(db, actor=actor, invoice_id=late, amount="500.00", paid_at=PAID[0])
    invoices.record_payment(db, actor=actor, invoice_id=late, amount="250.00", paid_at=PAID[1])
    memo = factories.memo(db, actor, cid, "147.23")
    credit.apply_credit(db, actor=actor, memo_id=memo, invoice_id=late, amount="31.17")
    paid = invoice("300.00", TODAY - timedelta(days=30))
    invoices.record_payment(db, actor=actor, invoice_id=paid, amount="300.00")
    future = invoice("400.00", TODAY + timedelta(days=10))
    undated = invoice("50.00", None)
    number = {k: invoices.get_invoice(db, actor=actor, invoice_id=v).number
              for k, v in {"late": late, "paid": paid, "future": future,
                           "undated": undated}.items()}
    return {"customer": cid, "late": late, "paid": paid, "future": future, "numbers": number,
            "memo_number": memos.get_memo(db, actor=actor, memo_id=memo).number}


def signed_in(new_page, site, tenant, customer_id: str, viewport=None, *,
              javascript: bool = True) -> Page:
    page = new_page(viewport, javascript=javascript)
    link = portal_links.create_link(site.db, actor=tenant.actor, customer_id=customer_id)
    page.goto(f"/portal/sign-in/{link.token}")
    page.get_by_role("button", name="Continue to your account").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    return page


def both_widths(page: Page, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"portal-{name}-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, f"portal-{name}-375")
    page.set_viewport_size(DESKTOP)


def partner_named(page: Page, tenant_name: str) -> None:
    expect(page.locator("#partner-name")).to_have_text(tenant_name)
    assert tenant_name in page.title()


def tenant_name(site, tenant) -> str:
    with site.db.read() as session:
        return session.get(models.Partner, tenant.partner_id).name


def test_the_partner_is_named_on_every_portal_page(new_page, site, tenant, books) -> None:
    name = tenant_name(site, tenant)
    visibility.set_show_to_all(site.db, actor=tenant.actor, show_to_all_customers=True)
    link = portal_links.create_link(site.db, actor=tenant.actor, customer_id=books["customer"])
    page = new_page()
    page.goto(f"/portal/sign-in/{link.token}")
    partner_named(page, name)
    expect(page.locator("main")).to_contain_text(f"with {name}")
    page.get_by_role("button", name="Continue to your account").click()
    expect(page.locator("#portal-for")).to_have_text("Billing portal for Initech")
    for url in ("/portal/", "/portal/invoices", f"/portal/invoices/{books['late']}",
                "/portal/credit-memos", "/portal/no-such-page",
                "/portal/invoices/inv_does_not_exist"):
        page.goto(url)
        partner_named(page, name)
    page.goto("/portal/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    partner_named(page, name)
    expect(page.locator("main")).to_contain_text(f"a new sign-in link from {name}")


def test_overdue_invoices_are_marked_in_words(new_page, site, tenant, books) -> None:
    page = signed_in(new_page, site, tenant, books["customer"])
    n = books["numbers"]
    # The overview: what is overdue, in words, and the row of the overdue invoice.
    expect(page.locator("#overdue-summary")).to_have_text(
        "Overdue: $1,218.83 on 1 invoice past its due date.")
    row = page.locator("#open-invoices tbody tr", has_text=n["late"])
    expect(row).to_contain_text("Overdue by 12 days")
    for other in (n["future"], n["undated"]):
        expect(page.locator("#open-invoices tbody tr", has_text=other)).not_to_contain_text(
            "Overdue")
    both_widths(page, "overview-overdue")
    # Every invoice: the paid one was due long ago, but nothing is due: not overdue.
    page.goto("/portal/invoices")
    expect(page.locator("#portal-invoices .badge.overdue")).to_have_count(1)
    expect(page.locator("#portal-invoices tbody tr", has_text=n["paid"])).not_to_contain_text(
        "Overdue")
    both_widths(page, "invoices")
    page.goto(f"/portal/invoices/{books['late']}")
    expect(page.locator("h1")).to_contain_text("Overdue by 12 days")
    due = (TODAY - timedelta(days=12)).isoformat()
    expect(page.locator("#overdue-notice")).to_have_text(
        f"Overdue: this invoice was due on {due}, 12 days ago, and $1,218.83 is still due.")
    page.goto(f"/portal/invoices/{books['future']}")
    expect(page.locator("#overdue-notice")).to_have_count(0)
    expect(page.locator("h1")).not_to_contain_text("Overdue")


def test_a_partly_paid_invoice_explains_its_balance_with_credit_shown(new_page, site, tenant,
                                                                      books) -> None:
    visibility.set_show_to_all(site.db, actor=tenant.actor, show_to_all_customers=True)
    page = signed_in(new_page, site, tenant, books["customer"])
    page.goto(f"/portal/invoices/{books['late']}")
    rows = page.locator("#balance-explained tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_have_text(re.compile(r"Invoice total\s*\$2,000\.00"))
    expect(rows.nth(1)).to_have_text(
        re.compile(rf"Payment received on {PAID_TEXT[0]}\s*\u2212\$500\.00"))
    expect(rows.nth(2)).to_have_text(
        re.compile(rf"Payment received on {PAID_TEXT[1]}\s*\u2212\$250\.00"))
    expect(rows.nth(3)).to_have_text(
        re.compile(rf"Credit memo {books['memo_number']} applied on .*\u2212\$31\.17"))
    expect(rows.nth(4)).to_have_text(re.compile(r"Balance due\s*\$1,218\.83"))
    expect(page.locator("#invoice-paid")).to_have_text("$750.00")
    both_widths(page, "invoice-explained")


def test_with_credit_hidden_only_the_payments_explain_it(new_page, site, tenant,
                                                         books) -> None:
    """P3: the customer's own payments, with their dates, and nothing about credit — not
    the memo, not the amount applied, not a sum that would tell it."""
    page = signed_in(new_page, site, tenant, books["customer"])
    r = page.goto(f"/portal/invoices/{books['late']}")
    assert r is not None and r.status == 200
    payments = page.locator("#payments-received tr")
    expect(payments).to_have_count(2)
    expect(payments.nth(0)).to_have_text(
        re.compile(rf"Payment received on {PAID_TEXT[0]}\s*\$500\.00"))
    expect(payments.nth(1)).to_have_text(
        re.compile(rf"Payment received on {PAID_TEXT[1]}\s*\$250\.00"))
    expect(page.locator("#balance-explained")).to_have_count(0)
    html = page.content()
    for leak in (books["memo_number"], "31.17", "147.23", "116.06", "credit-memos"):
        assert leak not in html, leak
    assert "credit" not in html.lower()
    both_widths(page, "invoice-credit-hidden")


def test_error_pages_say_what_happened_in_plain_words(new_page, site, tenant, books) -> None:
    name = tenant_name(site, tenant)
    plain = new_page()
    # Not signed in: how to get in, not "Unauthenticated".
    r = plain.goto("/portal/invoices")
    assert r is not None and r.status == 401
    expect(plain.locator("h1")).to_have_text("Please sign in")
    expect(plain.locator("#error-detail")).to_contain_text("open the sign-in link you were sent")
    assert "Unauthenticated" not in plain.content()
    both_widths(plain, "error-signed-out")

    # A used link: says so, and whom to ask for a new one.
    link = portal_links.create_link(site.db, actor=tenant.actor, customer_id=books["customer"])
    first = new_page()
    first.goto(f"/portal/sign-in/{link.token}")
    first.get_by_role("button", name="Continue to your account").click()
    expect(first).to_have_url(re.compile(r"/portal/$"))
    r = plain.goto(f"/portal/sign-in/{link.token}")
    assert r is not None and r.status == 404
    expect(plain.locator("h1")).to_have_text("This sign-in link was already used")
    expect(plain.locator("#error-detail")).to_contain_text(
        f"Each sign-in link works once, and this one has been used. If you signed out or "
        f"your session ended, you need a new link. Ask {name} for a new sign-in link")
    partner_named(plain, name)
    both_widths(plain, "error-link-used")

    # An expired link: says when, and whom to ask.
    old = portal_links.create_link(site.db, actor=tenant.actor, customer_id=books["customer"])
    expired = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
    with site.db.write() as session:
        session.execute(update(models.PortalToken)
                        .where(models.PortalToken.token_hash == portal_links._hash(old.token))
                        .values(expires_at=expired))
    r = plain.goto(f"/portal/sign-in/{old.token}")
    assert r is not None and r.status == 404
    expect(plain.locator("h1")).to_have_text("This sign-in link has expired")
    expect(plain.locator("#error-detail")).to_contain_text(
        f"this one expired on January 9, 2026. Ask {name} for a new sign-in link")
    partner_named(plain, name)
    both_widths(plain, "error-link-expired")

    # A mistyped link names nobody.
    r = plain.goto("/portal/sign-in/" + "x" * 43)
    assert r is not None and r.status == 404
    expect(plain.locator("h1")).to_have_text("This sign-in link isn't valid")
    expect(plain.locator("#error-detail")).to_contain_text("opened the whole link")
    expect(plain.locator("#partner-name")).to_have_text("Billing portal")

    # Signed in, a page that isn't there: said so, with the way back.
    r = first.goto("/portal/invoices/inv_does_not_exist")
    assert r is not None and r.status == 404
    r = first.goto("/portal/nothing-here")
    assert r is not None and r.status == 404
    expect(first.locator("h1")).to_have_text("This page isn't here")
    expect(first.locator("#error-detail")).to_contain_text(
        "The page you asked for isn't here")
    for word in ("Not found", "Unauthenticated", "nothing at this path"):
        assert word not in first.content()
    first.get_by_role("link", name="Go to your account overview").click()
    expect(first).to_have_url(re.compile(r"/portal/$"))
    first.goto("/portal/nothing-here")
    both_widths(first, "error-404")
