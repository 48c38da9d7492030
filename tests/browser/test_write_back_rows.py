"""Y12-Y13 on the dashboard in Chromium: a write-back the system refused shows its words on
the memo page with Retry and Cancel; Retry sends it again (waiting for the system), Cancel
takes the application away with nothing made in the system. Screenshots in
tests/browser/screenshots/write-back-*.png."""

from __future__ import annotations

import re

import pytest

from creditdesk.services.credit_memos import credit
from tests.browser.conftest import expect, screenshot, sign_in
from tests.services.test_write_back import Books, allocations, applications, drain
from tests.xero_fixtures import TENANT

pytestmark = pytest.mark.browser


def test_y12_a_refused_write_back_is_retried_then_cancelled_from_the_memo_page(
        page, site, tenant, fake_xero) -> None:
    db, actor = site.db, tenant.actor
    b = Books(db, actor, fake_xero)
    fake_xero.state.update_note(TENANT, b.note, RemainingCredit="5.00")  # used in Xero
    credit.apply_credit(db, actor=actor, memo_id=b.memo_id, invoice_id=b.invoices[0],
                        amount="20.00")
    drain(db, fake_xero)  # Xero refuses: the credit is no longer there
    [refused] = applications(db, b.memo_id)
    assert refused.status == "failed" and refused.write_back_error
    sign_in(page, tenant)
    page.goto(f"/dashboard/credit-memos/{b.memo_id}")
    apps = page.locator("#applications")
    expect(apps).to_contain_text("Refused:")
    expect(apps).to_contain_text(refused.write_back_error.split(".")[0])
    screenshot(page, "write-back-refused")

    apps.get_by_role("button", name=re.compile("to Xero again")).click()
    expect(page.locator("#applications")).to_contain_text("Sent — waiting for Xero")
    [retried] = applications(db, b.memo_id)
    assert retried.status == "pending"
    screenshot(page, "write-back-retried")

    drain(db, fake_xero)  # refused again: the credit is still used in Xero
    page.reload()
    expect(page.locator("#applications")).to_contain_text("Refused:")
    page.locator("#applications").get_by_role(
        "button", name=re.compile("Cancel the write-back")).click()
    expect(page.locator("#applications")).not_to_contain_text("Refused:")
    assert applications(db, b.memo_id) == []
    assert allocations(fake_xero, b.note) == []  # nothing was ever made in Xero
    screenshot(page, "write-back-cancelled")
