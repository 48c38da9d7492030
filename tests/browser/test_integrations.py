"""Dashboard > Integrations in a real browser: connecting QuickBooks Desktop shows the Web
Connector's password once, the .qwc file downloads (not swapped into the page by htmx), and
the page fits a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, Page, expect, screenshot, sign_in

pytestmark = pytest.mark.browser


def _too_wide(page: Page) -> list[str]:
    """Elements sticking out past the viewport (a .table-wrap scrolls inside)."""
    return page.evaluate("""() => {
        const w = document.documentElement.clientWidth;
        return [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > w + 0.5 && !e.closest('.table-wrap'))
          .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''));
    }""")


def test_quickbooks_desktop_set_up_in_the_browser(page: Page, tenant, monkeypatch) -> None:
    monkeypatch.setenv("CREDITDESK_PUBLIC_URL", "https://books.example.test")
    sign_in(page, tenant)
    page.get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Integrations")
    page.locator("#connect-desktop").get_by_role("button", name="Connect").click()

    expect(page.get_by_role("heading", name="Set up the QuickBooks Web Connector")).to_be_visible()
    expect(page.locator("#password-once")).to_contain_text("shown only once")
    password = page.get_by_label("Web Connector password").input_value()
    username = page.get_by_label("Web Connector user name").input_value()
    assert len(password) >= 32 and username.startswith("creditdesk-")
    expect(page).to_have_url(re.compile(r"/dashboard/integrations$"))  # a reload: no password
    card = page.locator("section[id^=integration-]")
    expect(card.locator(".integration-status")).to_have_text("pending authorization")

    with page.expect_download() as download:
        page.locator("#qwc-download").click()
    saved = download.value
    assert saved.suggested_filename == f"creditdesk-{username}.qwc"
    qwc = Path(saved.path()).read_text(encoding="utf-8")
    assert f"<UserName>{username}</UserName>" in qwc and password not in qwc
    expect(page.locator("#desktop-setup")).to_be_visible()  # the page stayed as it was

    page.set_viewport_size(PHONE)
    assert _too_wide(page) == [], "wider than a 375 px phone"
    screenshot(page, "integrations-desktop-375")

    page.reload()
    expect(page.locator("#desktop-setup")).to_have_count(0)
    assert password not in page.content()
    expect(page.locator(f"#qwc-{card.get_attribute('id').removeprefix('integration-')}")
           ).to_be_visible()
