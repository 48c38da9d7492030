"""AP1 in a real browser: two signed-in administrators. The first adds the second on the
Users page, sets a threshold, asks for approval of a draft above it; the second finds it
under Approvals, rejects it without a comment (refused), with one, then approves the
request asked again; the first issues. JavaScript off too. Screenshots at desktop and
375 px, nothing wider than the phone."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.browser.conftest import expect, sign_in
from tests.browser.test_usability import _check

pytestmark = pytest.mark.browser


def _sign_in_as(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos$"))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_ap1_four_eyes_with_two_signed_in_admins(new_page, site, tenant, javascript) -> None:
    problems: list[str] = []
    tag = "" if javascript else "-nojs"
    ann = new_page(javascript=javascript)
    sign_in(ann, tenant)

    # the team gets a second administrator
    ann.get_by_role("link", name="Users").click()
    bob_email = f"bob.{tenant.partner_id[-6:]}@example.test"
    ann.get_by_label("Email").fill(bob_email)
    ann.get_by_label("Role", exact=True).select_option("admin")
    ann.get_by_label("Password").fill("bob's first password")
    ann.get_by_role("button", name="Add user").click()
    expect(ann.get_by_role("status")).to_contain_text(f"{bob_email} was added as admin")

    # a threshold under Team Preferences
    ann.get_by_role("link", name="Team Preferences").click()
    ann.get_by_role("link", name="Approval thresholds").click()
    expect(ann.get_by_role("heading", level=1)).to_have_text("Approval thresholds")
    ann.get_by_label("Currency (ISO code)").fill("USD")
    ann.get_by_label(re.compile("^Amount")).fill("1000")
    ann.get_by_role("button", name="Save threshold").click()
    expect(ann.locator("#threshold-USD")).to_contain_text("$1,000.00")
    _check(ann, f"ap1-thresholds{tag}", problems)

    cid = factories.customer(site.db, tenant.actor, "Initech Managed Services")
    draft = factories.memo(site.db, tenant.actor, cid, "2500.00", issue=False)
    ann.goto(f"/dashboard/credit-memos/{draft}")
    expect(ann.locator("#approval-needed")).to_contain_text("$1,000.00")
    ann.get_by_label("Comment for the approver (optional)").fill(
        "Outage credit for the whole quarter, agreed with their CFO")
    ann.get_by_role("button", name="Request approval").click()
    expect(ann.locator("#approval-state")).to_contain_text(
        "Waiting for approval by another admin")
    expect(ann.locator("#approve-request")).to_have_count(0)
    _check(ann, f"ap1-memo-waiting{tag}", problems)

    bob = new_page(javascript=javascript)
    _sign_in_as(bob, bob_email, "bob's first password")
    bob.get_by_role("link", name="Approvals").click()
    expect(bob.get_by_role("heading", level=1)).to_have_text("Approvals waiting")
    _check(bob, f"ap1-approvals-waiting{tag}", problems)
    bob.locator("#approvals-waiting a").first.click()
    bob.get_by_role("button", name="Reject").click()
    expect(bob.locator("#err-decide-comment")).to_contain_text("Enter a comment")
    _check(bob, f"ap1-reject-refused{tag}", problems)
    bob.get_by_label("Comment (required to reject)").fill("Split it per month, please")
    bob.get_by_role("button", name="Reject").click()
    expect(bob.locator("#approval-state")).to_contain_text(
        f"Rejected by {bob_email}: “Split it per month, please”")

    ann.reload()
    expect(ann.locator("#approval-state")).to_contain_text("Rejected by")
    ann.get_by_role("button", name="Request approval").click()
    expect(ann.locator("#approval-state")).to_contain_text("Waiting for approval")

    bob.reload()
    bob.get_by_label("Comment (required to reject)").fill("Fine as one credit")
    bob.get_by_role("button", name="Approve").click()
    expect(bob.get_by_role("status")).to_contain_text("approved")
    expect(bob.locator("#approval-state")).to_contain_text(f"Approved by {bob_email}")
    _check(bob, f"ap1-approved{tag}", problems)

    ann.reload()
    ann.get_by_role("button", name="Issue credit memo").click()
    ann.locator("#confirm-action").click()  # the confirmation (P6), in the page or its own
    expect(ann.get_by_role("status")).to_contain_text("issued")
    expect(ann.locator("h1 .badge")).to_have_text("Issued")
    assert not problems, "\n".join(problems)
