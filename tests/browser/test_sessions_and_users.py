"""E4 in a real browser: signing out ends the session for a copy of the cookie in another
browser; changing the password from the Account page; adding and deactivating a user on the
Users page. Screenshots at desktop and 375 px, nothing wider than the phone."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PASSWORD, expect, sign_in
from tests.browser.test_usability import _check

pytestmark = pytest.mark.browser


def test_e4_sign_out_ends_the_session_for_a_copied_cookie(new_page, tenant) -> None:
    page = new_page()
    sign_in(page, tenant)
    copy = new_page()
    copy.context.add_cookies(page.context.cookies())  # the cookie, copied to another browser
    copy.goto("/dashboard/invoices")
    expect(copy.get_by_role("heading", level=1)).to_have_text("Invoices")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login-notice")).to_have_text("You are signed out.")
    copy.goto("/dashboard/invoices")
    expect(copy).to_have_url(re.compile(r"/login\?next=/dashboard/invoices$"))
    expect(copy.get_by_role("heading", level=1)).to_have_text("Sign in to the Partner Dashboard")


def test_e4_change_password_from_the_account_page(new_page, tenant) -> None:
    problems: list[str] = []
    page = new_page()
    sign_in(page, tenant)
    other = new_page()
    sign_in(other, tenant)
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account")
    expect(page.locator("#session-count")).to_contain_text("on 2 browsers")
    _check(page, "account", problems)
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("New password again").fill("a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#err-password-current_password")).to_have_text(
        "That is not your current password")
    _check(page, "account-refusal", problems)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("New password again").fill("a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("your 1 other session ended")
    other.goto("/dashboard/credit-memos")  # the other browser is signed out
    expect(other).to_have_url(re.compile(r"/login\?next="))
    page.goto("/dashboard/customers")  # this one is not
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    assert not problems, "\n".join(problems)


def test_e4_add_and_deactivate_a_user(new_page, tenant) -> None:
    problems: list[str] = []
    page = new_page()
    sign_in(page, tenant)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    email = f"bea.{tenant.partner_id[-6:]}@example.test"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role", exact=True).select_option("staff")
    page.get_by_label("Password").fill("bea's first password")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text(f"{email} was added as staff")
    row = page.locator("#user-list > li", has_text=email)
    expect(row).to_contain_text("Active")

    bea = new_page()  # the new user signs in
    bea.goto("/login")
    bea.get_by_label("Email").fill(email)
    bea.get_by_label("Password").fill("bea's first password")
    bea.get_by_role("button", name="Sign in").click()
    expect(bea).to_have_url(re.compile(r"/dashboard/credit-memos$"))

    page.reload()
    expect(row.locator(".user-sessions")).to_have_text("1 session")  # hers
    _check(page, "users", problems)
    page.get_by_role("button", name=f"Deactivate {email}").click()
    expect(page.get_by_role("status")).to_contain_text("deactivated")
    expect(row).to_contain_text("Deactivated")
    _check(page, "users-deactivated", problems)
    bea.goto("/dashboard/credit-memos")  # her session ended
    expect(bea).to_have_url(re.compile(r"/login\?next="))

    me = page.locator("#user-list > li", has_text=tenant.email)
    me.get_by_role("button", name=re.compile("^Deactivate")).click()
    expect(page.locator("[id^=error-u-]")).to_contain_text("You are the only active "
                                                           "administrator")
    _check(page, "users-refusal", problems)
    assert not problems, "\n".join(problems)
