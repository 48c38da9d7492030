"""D1, D2 in a real browser: the memo page's Send (the recipients shown first, then
confirmed; the delivery's status on the page once the job has sent it to a real local SMTP
server) and its PDF link; the portal's PDF link; the Send step at 375 px."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from creditdesk.services.customer_accounts import customers, visibility
from creditdesk.services.documents import delivery_job, email_settings
from tests import factories
from tests.browser.conftest import PHONE, expect, portal_link, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def billed(site, tenant):
    db, actor = site.db, tenant.actor
    cid = customers.create_customer(db, actor=actor, name="Globex Corporation",
                                    email="ap@globex.test").id
    mid = factories.memo(db, actor, cid, "75.00", customer_note="Thank you for your patience.")
    return cid, mid


def test_d2_send_shows_recipients_first_then_the_delivery(new_page, site, tenant, billed,
                                                        smtp_server) -> None:
    email_settings.replace_settings(site.db, actor=tenant.actor, host=smtp_server.host,
                                    port=smtp_server.port, security="none", username=None,
                                    from_address="billing@partner.test")
    _, mid = billed
    page = new_page()
    sign_in(page, tenant)
    page.goto(f"/dashboard/credit-memos/{mid}")
    expect(page.locator("#customer-note")).to_have_text("Thank you for your patience.")
    page.locator("#send-memo").click()
    expect(page.locator("#send-recipients")).to_contain_text("ap@globex.test")
    expect(page.get_by_label("To (addresses separated by commas)")).to_have_value(
        "ap@globex.test")
    screenshot(page, "d2_send_recipients_first")
    assert smtp_server.messages == []  # nothing sent before the confirmation
    page.locator("#send-confirm").click()
    expect(page.locator("main .notice[role=status]")).to_contain_text(
        "Sending to ap@globex.test")
    expect(page.locator("#deliveries-table")).to_contain_text("Waiting to be sent")
    delivery_job.run_due(site.db, base_seconds=1)
    page.reload()
    expect(page.locator(".delivery-status")).to_have_text("Sent")
    screenshot(page, "d2_memo_page_delivery_sent")
    [msg] = smtp_server.messages
    assert msg["To"] == "ap@globex.test"


def test_d1_pdf_links_on_the_memo_page_and_in_the_portal(new_page, site, tenant,
                                                         billed) -> None:
    cid, mid = billed
    page = new_page()
    sign_in(page, tenant)
    page.goto(f"/dashboard/credit-memos/{mid}")
    href = page.locator("#memo-pdf").get_attribute("href")
    assert href == f"/dashboard/credit-memos/{mid}/pdf"
    with page.expect_download() as download:  # as a person clicking it
        page.locator("#memo-pdf").click()
    saved = download.value
    assert saved.suggested_filename == "CM-0001.pdf"
    with open(saved.path(), "rb") as f:
        text = PdfReader(f).pages[0].extract_text()
    assert "CM-0001" in text and "Thank you for your patience." in text
    visibility.set_show_to_all(site.db, actor=tenant.actor, show_to_all_customers=True)
    portal = new_page()
    portal.goto(portal_link(site, tenant, cid))
    portal.get_by_role("button", name="Continue to your account").click()
    portal.goto("/portal/credit-memos")
    link = portal.get_by_role("link", name="PDF of credit memo")
    expect(link).to_have_count(1)
    with portal.expect_download() as download:
        link.click()
    with open(download.value.path(), "rb") as f:
        assert "Thank you for your patience." in PdfReader(f).pages[0].extract_text()


def test_d2_send_step_at_phone_width(new_page, site, tenant, billed) -> None:
    _, mid = billed
    page = new_page(PHONE)
    sign_in(page, tenant)
    page.goto(f"/dashboard/credit-memos/{mid}/send")
    expect(page.locator("#send-confirm")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    screenshot(page, "d2_send_phone")
