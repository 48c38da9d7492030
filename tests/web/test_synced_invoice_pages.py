"""Y9/P1/P3 in pages: synced invoices in the dashboard's invoice list (source filter and
badge, the other filters kept), their read-only page (the system's tax and balance, no
controls, where to change it), the customer page, and the Customer Portal (the system's
balance due, summed with native invoices')."""

from __future__ import annotations

import html
import re

import pytest

from creditdesk.services.customer_accounts import visibility
from tests import factories
from tests.web.conftest import portal_for

QBO = "QuickBooks Online"


def _links(text: str) -> dict[str, str]:
    return {m[2]: html.unescape(m[1]) for m in re.finditer(r'href="([^"]+)" id="([\w-]+)"', text)}


@pytest.fixture
def books(db, actor):
    """Globex: a native open invoice of $100 and a QuickBooks Online invoice of $110
    (tax $10) with $50 due there."""
    cid = factories.customer(db, actor, "Globex")
    native = factories.invoice(db, actor, cid, "100.00")
    synced = factories.synced_invoice(
        db, actor, cid, "110.00", balance="50.00", tax="10.00", number="1042",
        external_id="130", lines=[("Backup seats", "1.5", "60.00"), ("Setup", None, "40.00")])
    return {"customer": cid, "native": native, "synced": synced}


def _row(page: str, invoice_id: str) -> str:
    found = re.search(rf'<tr id="invoice-{invoice_id}">(.*?)</tr>', page, re.S)
    assert found, invoice_id
    return found.group(1)


def test_p1_invoice_list_shows_source_badges_and_filters_by_source(admin, books) -> None:
    page = admin.get("/dashboard/invoices").text
    assert "source-quickbooks_online" in _row(page, books["synced"])
    assert QBO in _row(page, books["synced"]) and "$50.00" in _row(page, books["synced"])
    assert "source-native" in _row(page, books["native"])
    assert '<select id="source" name="source">' in page
    only = admin.get("/dashboard/invoices", params={"source": "quickbooks_online"}).text
    assert f'id="invoice-{books["synced"]}"' in only
    assert f'id="invoice-{books["native"]}"' not in only
    assert '<option value="quickbooks_online" selected>' in only
    native = admin.get("/dashboard/invoices", params={"source": "native"}).text
    assert f'id="invoice-{books["synced"]}"' not in native
    assert admin.get("/dashboard/invoices", params={"source": "sage"}).status_code == 422


def test_p1_invoice_list_links_keep_the_source_with_every_filter(admin, books) -> None:
    r = admin.get("/dashboard/invoices", params={
        "source": "quickbooks_online", "customer_id": books["customer"], "status": "",
        "q": "10", "sort": "-total"},
        headers={"HX-Request": "true", "HX-Target": "invoice-results"})
    links = _links(r.text)
    for key in ("sort-total", "sort-balance", "sort-number", "sort-date"):
        for part in ("source=quickbooks_online", f"customer_id={books['customer']}", "q=10"):
            assert part in links[key], (key, part, links[key])
    assert f'id="invoice-{books["synced"]}"' in r.text


def test_p1_synced_invoice_page_is_read_only_with_the_systems_figures(admin, books) -> None:
    page = admin.get(f"/dashboard/invoices/{books['synced']}").text
    assert f'id="invoice-source">From {QBO}</span>' in page
    assert (f"Synced from {QBO}: this invoice is read-only here" in page
            and f"change it in {QBO} (its id there: 130)" in page)
    assert re.search(r'id="invoice-subtotal">\$100\.00<', page)
    assert f"Tax (as {QBO} reports it)" in page and re.search(r'id="invoice-tax">\$10\.00<', page)
    assert f"Balance due (as {QBO} reports it)" in page
    assert re.search(r'id="invoice-balance">\$50\.00<', page)
    assert re.search(r'id="invoice-settled">\$60\.00<', page)
    # the system's lines: its quantity text, "—" for what it does not report
    lines = re.search(r'<table id="invoice-lines">(.*?)</table>', page, re.S).group(1)
    assert ">1.5<" in lines and ">—<" in lines and "$60.00" in lines
    # no controls that would change it
    assert 'id="create-memo"' not in page and "/credit-memos/new" not in page
    assert f"Credit for this invoice is given in {QBO}." in page
    assert f'action="/dashboard/invoices/{books["synced"]}' not in page  # no form at all
    # and the form behind "Create credit memo" refuses, naming the system
    r = admin.get(f"/dashboard/invoices/{books['synced']}/credit-memos/new")
    assert r.status_code == 409 and f"managed in {QBO}; change it there" in r.text
    r = admin.post(f"/dashboard/invoices/{books['synced']}/credit-memos",
                   {"reason": "goodwill"})
    assert r.status_code == 409 and f"managed in {QBO}" in r.text


def test_p1_native_invoice_page_keeps_its_controls(admin, books) -> None:
    page = admin.get(f"/dashboard/invoices/{books['native']}").text
    assert 'id="create-memo"' in page and 'id="read-only"' not in page
    assert 'id="invoice-source"' not in page and "as QuickBooks" not in page


def test_p1_customer_page_lists_synced_invoices_with_their_source(admin, books) -> None:
    page = admin.get(f"/dashboard/customers/{books['customer']}").text
    row = re.search(rf'<tr id="customer-invoice-{books["synced"]}">(.*?)</tr>', page, re.S)
    assert row and "1042" in row.group(1) and QBO in row.group(1)
    assert "$50.00" in row.group(1)
    assert f'id="customer-invoice-{books["native"]}"' in page


def test_p3_portal_sums_native_and_synced_balances(db, actor, new_browser, books) -> None:
    portal = portal_for(db, new_browser, actor, books["customer"])
    overview = portal.get("/portal/").text
    due = re.search(r'id="balance-due">(.*?)</ul>', overview, re.S).group(1)
    assert "$150.00" in due  # $100 native + $50 due in QuickBooks Online
    assert f"/portal/invoices/{books['synced']}" in overview
    listed = portal.get("/portal/invoices").text
    assert "1042" in listed and "$50.00" in listed
    detail = portal.get(f"/portal/invoices/{books['synced']}").text
    assert f"Balance due (as {QBO} reports it)" in detail
    assert re.search(r'id="invoice-balance">\$50\.00<', detail)
    assert f"Settled in {QBO}" in detail and ">1.5<" in detail


def test_p3_synced_invoice_in_portal_with_credit_visible(db, actor, new_browser,
                                                          books) -> None:
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    portal = portal_for(db, new_browser, actor, books["customer"])
    detail = portal.get(f"/portal/invoices/{books['synced']}").text
    explained = re.search(r'<table id="balance-explained".*?</table>', detail, re.S).group(0)
    assert "$110.00" in explained and "\u2212$60.00" in explained and "$50.00" in explained
