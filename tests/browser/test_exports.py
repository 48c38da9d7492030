"""D3 in a real browser, JavaScript on and off, at desktop width and at 375 px: the memo
list filtered by customer, its "Export CSV" downloading just those memos; the Credit aging
page from the navigation (table, SVG chart with its title and description) and its CSV.
Screenshots in tests/browser/screenshots/aging-*.png."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from creditdesk.db import models
from creditdesk.services.common.context import clock
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, expect, screenshot, sign_in
from tests.browser.test_portal_apply_credit import fits

pytestmark = pytest.mark.browser


def _downloaded(page, click) -> list[dict[str, str]]:
    with page.expect_download() as info:
        click()
    path = info.value.path()
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "375"])
def test_d3_export_with_filters_and_the_credit_aging_page(new_page, site, tenant, javascript,
                                                          viewport) -> None:
    db, actor = site.db, tenant.actor
    alpha = factories.customer(db, actor, "=Alpha Formula Ltd")
    beta = factories.customer(db, actor, "Beta Corp")
    old = factories.memo(db, actor, alpha, "400.00")
    factories.memo(db, actor, alpha, "25.00", reason="pricing_error")
    factories.memo(db, actor, beta, "60.00")
    with db.engine.begin() as conn:
        conn.execute(update(models.CreditMemo).where(models.CreditMemo.id == old)
                     .values(issue_date=clock.today() - timedelta(days=100)))
    name = f"aging-{'js' if javascript else 'nojs'}-{viewport['width']}"
    page = new_page(viewport, javascript=javascript)
    sign_in(page, tenant)

    page.goto("/dashboard/credit-memos")
    page.get_by_label("Customer").select_option(value=alpha)
    if not javascript:
        page.get_by_role("button", name="Filter").click()
    expect(page.locator("#export-memos")).to_have_attribute(
        "href", f"/dashboard/credit-memos/export?customer_id={alpha}")
    fits(page, viewport)
    screenshot(page, f"{name}-memo-list")
    rows = _downloaded(page, page.locator("#export-memos").click)
    assert {r["customer"] for r in rows} == {"'=Alpha Formula Ltd"}
    assert sorted(r["total"] for r in rows) == ["25.00", "400.00"]

    page.locator("#nav-aging").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Credit aging")
    chart = page.get_by_role("img", name="USD credit by age")
    expect(chart).to_be_visible()
    expect(page.locator("#chart-usd-desc")).to_contain_text("Over 90 days: $400.00")
    expect(page.locator("#aging-totals-usd")).to_contain_text("$485.00")
    fits(page, viewport)
    screenshot(page, f"{name}-page")
    rows = _downloaded(page, page.locator("#aging-csv").click)
    assert [(r["reason"], r["days_0_30"], r["days_over_90"]) for r in rows] == [
        ("goodwill", "60.00", "400.00"), ("pricing_error", "25.00", "0.00")]
