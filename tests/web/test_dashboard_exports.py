"""D3 in the dashboard, JavaScript off: the memo list's "Export CSV" keeps its filters, a
customer's exports, the Credit aging page (table, SVG chart with title and desc, CSV)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

from sqlalchemy import update

from creditdesk.db import models
from creditdesk.services.common.context import clock
from creditdesk.services.credit_memos import credit, refunds
from tests import factories

AGING = "/dashboard/reports/credit-aging"


def _csv(r) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def _href(page: str, element_id: str) -> str:
    found = re.search(rf'href="([^"]*)" id="{element_id}"', page)
    assert found, element_id
    return html.unescape(found.group(1))


def test_d3_memo_list_export_link_keeps_the_filters(admin, db, actor) -> None:
    a = factories.customer(db, actor, "Alpha")
    b = factories.customer(db, actor, "Beta")
    mine = factories.memo(db, actor, a, "10.00")
    factories.memo(db, actor, a, "20.00", issue=False)
    factories.memo(db, actor, b, "30.00")
    page = admin.get(f"/dashboard/credit-memos?status=issued&customer_id={a}&sort=-total")
    href = _href(page.text, "export-memos")
    assert href.startswith("/dashboard/credit-memos/export?") and "sort" not in href
    got = _csv(admin.get(href))
    assert [r["customer_id"] for r in got] == [a] and got[0]["status"] == "issued"
    assert got[0]["total"] == "10.00"
    assert mine  # the one issued memo of Alpha
    everything = _csv(admin.get(_href(admin.get("/dashboard/credit-memos").text,
                                      "export-memos")))
    assert len(everything) == 3


def test_d3_customer_page_exports_its_applications_and_refunds(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    inv = factories.invoice(db, actor, cid, "100.00")
    m = factories.memo(db, actor, cid, "60.00")
    credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=inv, amount="25.00")
    refunds.refund_memo(db, actor=actor, memo_id=m, amount="5.00", method="cash")
    other = factories.customer(db, actor, "Initech")
    factories.memo(db, actor, other, "1.00")
    page = admin.get(f"/dashboard/customers/{cid}").text
    assert len(_csv(admin.get(_href(page, "export-customer-memos")))) == 1
    apps = _csv(admin.get(_href(page, "export-customer-applications")))
    assert [(r["amount"], r["customer"]) for r in apps] == [("25.00", "Globex")]
    refs = _csv(admin.get(_href(page, "export-customer-refunds")))
    assert [(r["amount"], r["method"]) for r in refs] == [("5.00", "cash")]


def test_d3_credit_aging_page_table_chart_and_csv(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    old = factories.memo(db, actor, cid, "40.00")
    factories.memo(db, actor, cid, "10.00", reason="pricing_error")
    with db.engine.begin() as conn:
        conn.execute(update(models.CreditMemo).where(models.CreditMemo.id == old)
                     .values(issue_date=clock.today() - timedelta(days=75)))
    nav = admin.get("/dashboard/credit-memos").text
    assert _href(nav, "nav-aging") == AGING
    page = admin.get(AGING)
    assert page.status_code == 200 and "<h1>Credit aging</h1>" in page.text
    svg = re.search(r'<svg class="aging-chart".*?</svg>', page.text, re.S)
    assert svg and 'role="img"' in svg.group(0)
    assert '<title id="chart-usd-title">USD credit by age</title>' in svg.group(0)
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg.group(0), re.S)
    assert desc and "0\u201330 days: $10.00" in desc.group(1)
    assert "61\u201390 days: $40.00" in desc.group(1)
    assert 'aria-labelledby="chart-usd-title chart-usd-desc"' in svg.group(0)
    assert re.search(r'id="aging-table-usd"', page.text)
    assert "Pricing error" in page.text and "$50.00 remaining" in page.text
    got = _csv(admin.get(_href(page.text, "aging-csv")))
    assert [(r["reason"], r["days_0_30"], r["days_61_90"]) for r in got] == [
        ("goodwill", "0.00", "40.00"), ("pricing_error", "10.00", "0.00")]


def test_d3_credit_aging_page_refuses_a_bad_day_next_to_its_field(admin) -> None:
    r = admin.get(f"{AGING}?as_of=someday")
    assert r.status_code == 422 and "must be a date" in r.text
    r = admin.get(f"{AGING}?currency=ZZZ")
    assert r.status_code == 422
    assert 'id="no-aging"' in admin.get(f"{AGING}?currency=EUR").text


def test_d3_dashboard_exports_are_the_partners_own(admin, rival, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    factories.memo(db, actor, cid, "10.00")
    browser, _ = rival
    assert _csv(browser.get("/dashboard/credit-memos/export")) == []
    assert _csv(browser.get(f"/dashboard/credit-memos/export?customer_id={cid}")) == []
    assert 'id="no-aging"' in browser.get(AGING).text
    assert len(_csv(admin.get("/dashboard/credit-memos/export"))) == 1


def test_d3_dashboard_export_refuses_a_bad_filter_without_a_file(admin) -> None:
    r = admin.get("/dashboard/credit-memos/export?source=sap")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    r = admin.get("/dashboard/reports/credit-aging.csv?as_of=soon")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
