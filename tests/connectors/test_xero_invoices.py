"""Xero's customer invoices read by the connector (Y9): over real HTTP against the fake Xero,
and the Invoice parser on its own."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from creditdesk.connectors import base, xero_invoices
from creditdesk.connectors import xero_records as records
from tests.xero_fixtures import TENANT, FakeXero

CONTACT = "a1f0c2d4-1111-4222-8333-944455556666"


def invoice_requests(fake: FakeXero) -> list[str]:
    return [r for r in fake.state.requests if "/Invoices" in r]


def invoices_of(batches: list[base.Batch]) -> dict[str, base.Record]:
    return {r.external_id: r for b in batches for r in b.records  # type: ignore[misc]
            if isinstance(r, base.RemoteInvoice | base.DeletedInvoice | base.BadRecord)}


def test_y9_invoice_fields_and_statuses_from_the_wire(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    full = st.add_invoice(TENANT, number="INV-0317", tax="40.00", email="ap@harbor.example",
                          date="2025-03-02", due="2025-04-01",
                          lines=[("Pallets", "2", "250.00", "500.00"),
                                 ("Handling", None, None, "0.00")])
    part = st.add_invoice(TENANT, subtotal="100.00")
    st.pay_invoice(TENANT, part, "30.00")
    paid = st.add_invoice(TENANT, subtotal="80.00")
    st.pay_invoice(TENANT, paid, "80.00")
    void = st.add_invoice(TENANT, subtotal="45.00")
    st.void_invoice(TENANT, void)
    draft = st.add_invoice(TENANT, status="DRAFT")
    submitted = st.add_invoice(TENANT, status="SUBMITTED")
    gone = st.add_invoice(TENANT, status="DRAFT")
    st.delete_invoice(TENANT, gone)
    bill = st.add_invoice(TENANT, kind="ACCPAY", subtotal="999.00")
    got = invoices_of(list(fake_xero.connector().fetch({})))
    assert bill not in got and draft not in got and submitted not in got
    assert got[gone] == base.DeletedInvoice(gone)
    f = got[full]
    assert isinstance(f, base.RemoteInvoice)
    assert (f.number, f.total_minor, f.tax_minor, f.balance_minor, f.currency) == (
        "INV-0317", 54000, 4000, 54000, "USD")
    assert (f.issue_date, f.due_date) == (date(2025, 3, 2), date(2025, 4, 1))
    assert (f.customer_external_id, f.customer_name, f.customer_email) == (
        CONTACT, "Harbor Supply Co", "ap@harbor.example")
    assert f.lines == (base.RemoteLine("Pallets", "2", 25000, 50000),
                       base.RemoteLine("Handling", None, None, 0))
    assert not f.voided and f.line_problem is None
    assert [(got[i].total_minor, got[i].balance_minor)  # type: ignore[union-attr]
            for i in (part, paid)] == [(10000, 7000), (8000, 0)]
    v = got[void]
    assert isinstance(v, base.RemoteInvoice) and v.voided
    assert (v.total_minor, v.balance_minor) == (4500, 0)  # Xero keeps a void's Total


def test_y9_invoices_page_with_page_n_if_modified_since_and_accrec_only(
        fake_xero: FakeXero) -> None:
    ids = {fake_xero.state.add_invoice(TENANT, subtotal="1.00") for _ in range(7)}
    fake_xero.state.add_invoice(TENANT, kind="ACCPAY")
    batches = list(fake_xero.connector(page_size=3).fetch({}))
    assert set(invoices_of(batches)) == ids
    sent = invoice_requests(fake_xero)
    assert 3 <= len(sent) <= 4  # the newest of a page is read again (keyset overlap)
    assert all("page=1" in s and "pageSize=3" in s for s in sent)
    assert all("Type%3D%3D%22ACCREC%22" in s and "UpdatedDateUTC+ASC" in s for s in sent)
    assert sent[0].endswith("If-Modified-Since: None")
    assert all("If-Modified-Since: 20" in s for s in sent[1:])  # keyset: since moves on
    last = batches[-1].cursor
    assert last is not None and last["invoices"]["since"] and last["invoices"]["page"] == 1


def test_y9_incremental_reads_only_the_invoices_that_changed(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    st.frozen = datetime(2025, 3, 5, 23, tzinfo=UTC)
    a = st.add_invoice(TENANT, subtotal="10.00")
    st.frozen = datetime(2025, 3, 6, tzinfo=UTC)
    b = st.add_invoice(TENANT, subtotal="20.00")
    c = fake_xero.connector()
    cursor = list(c.fetch({}))[-1].cursor
    assert cursor is not None
    st.frozen = None
    st.pay_invoice(TENANT, b, "5.00")
    again = invoices_of(list(c.fetch(cursor)))
    assert [(i, r.balance_minor) for i, r in again.items()] == [(b, 1500)]  # type: ignore[union-attr]
    assert a not in again
    since = invoice_requests(fake_xero)[-1].split("If-Modified-Since: ")[1]
    assert since.startswith("2025-03-05T23:59:55")  # the newest seen, less 5 s overlap


def test_y9_a_cursor_stored_before_invoices_reads_them_from_the_beginning(
        fake_xero: FakeXero) -> None:
    st = fake_xero.state
    st.frozen = datetime(2025, 3, 5, tzinfo=UTC)
    old_note = st.add_credit_note(TENANT, total="5.00")
    old_invoice = st.add_invoice(TENANT, subtotal="12.00")
    memo_only = {"since": "2025-03-05T12:00:00.000+00:00", "page": 1}  # as stored before
    st.frozen = None
    new_note = st.add_credit_note(TENANT, total="6.00")
    batches = list(fake_xero.connector().fetch(memo_only))
    seen = {r.external_id for b in batches for r in b.records}  # type: ignore[union-attr]
    assert new_note in seen and old_note not in seen  # memos go on from the stored cursor
    assert old_invoice in seen  # invoices start from the beginning
    assert invoice_requests(fake_xero)[0].endswith("If-Modified-Since: None")
    notes_sent = [r for r in fake_xero.state.requests if "/CreditNotes" in r]
    assert notes_sent[0].endswith("If-Modified-Since: 2025-03-05T12:00:00.000+00:00")
    cursor = batches[-1].cursor
    assert cursor is not None and set(cursor) == {"since", "page", "invoices"}


def test_y9_targets_read_memos_and_invoices_by_id(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    note = st.add_credit_note(TENANT, total="40.00")
    invoice = st.add_invoice(TENANT, subtotal="70.00", tax="7.00")
    bill = st.add_invoice(TENANT, kind="ACCPAY")
    draft = st.add_invoice(TENANT, status="DRAFT")
    gone = "00000000-0000-4000-8000-000000000000"
    c = fake_xero.connector()
    st.requests.clear()
    targets = {note: base.CHANGED, base.invoice_key(invoice): base.CHANGED,
               base.invoice_key(bill): base.CHANGED, base.invoice_key(draft): base.CHANGED,
               base.invoice_key(gone): base.CHANGED}
    batches = list(c.fetch_targets(targets))
    found = [r for b in batches for r in b.records]
    assert all(b.cursor is None for b in batches)
    assert [type(r).__name__ for r in found] == ["RemoteMemo", "RemoteInvoice",
                                                 "DeletedInvoice"]
    assert found[0].external_id == note
    inv = found[1]
    assert isinstance(inv, base.RemoteInvoice)
    assert (inv.external_id, inv.total_minor, inv.tax_minor) == (invoice, 7700, 700)
    assert inv.lines == (base.RemoteLine("Services", "1", 7000, 7000),)
    assert found[2] == base.DeletedInvoice(gone)
    assert [r.split("?")[0] for r in st.requests] == [
        f"GET /api.xro/2.0/CreditNotes/{note}"] + [
        f"GET /api.xro/2.0/Invoices/{i}" for i in (invoice, bill, draft, gone)]


def test_y9_invoice_webhook_events_name_invoices_by_invoice_key(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    invoice, bill = st.add_invoice(TENANT), st.add_invoice(TENANT, kind="ACCPAY")
    note = st.add_credit_note(TENANT, total="3.00")
    body, headers = st.invoice_webhook(TENANT, [invoice, bill], "CREATE")
    assert st.sign(body) == headers["x-xero-signature"]
    payload = json.loads(body)
    assert payload["events"][0]["eventCategory"] == "INVOICE"
    assert "data" not in payload["events"][0]  # INVOICE events carry no Type: read to tell
    notes_body, _ = st.webhook(TENANT, [note])
    payload["events"] += json.loads(notes_body)["events"]
    assert records.webhook_targets(payload) == {TENANT: {
        base.invoice_key(invoice): base.CHANGED, base.invoice_key(bill): base.CHANGED,
        note: base.CHANGED}}
    # the bill is dropped when the targeted read sees its Type
    found = [r for b in fake_xero.connector().fetch_targets(records.webhook_targets(payload)[
        TENANT]) for r in b.records]
    assert {r.external_id for r in found} == {invoice, note}  # type: ignore[union-attr]


def test_fake_filters_invoices_by_ids_and_statuses_as_xero_does(fake_xero: FakeXero) -> None:
    st = fake_xero.state
    a, b = st.add_invoice(TENANT), st.add_invoice(TENANT)
    paid = st.add_invoice(TENANT, subtotal="5.00")
    st.pay_invoice(TENANT, paid, "5.00")
    c = fake_xero.connector()
    url = f"{fake_xero.base_url}/api.xro/2.0/Invoices"
    headers = {"Authorization": f"Bearer {c.tokens['access_token']}", "xero-tenant-id": TENANT,
               "Accept": "application/json"}
    by_id = fake_xero.client.get(url, params={"IDs": f"{a},{paid}", "page": "1"},
                                 headers=headers).json()
    assert {i["InvoiceID"] for i in by_id["Invoices"]} == {a, paid}
    assert by_id["Invoices"][0]["LineItems"]  # paged: with line items
    unpaged = fake_xero.client.get(url, params={"Statuses": "PAID"}, headers=headers).json()
    assert [i["InvoiceID"] for i in unpaged["Invoices"]] == [paid]
    assert unpaged["Invoices"][0]["LineItems"] == []  # unpaged: without
    assert b not in {i["InvoiceID"] for i in unpaged["Invoices"]}
    bad = fake_xero.client.get(url, params={"where": 'CreditNoteNumber=="CN-1"'},
                               headers=headers)
    assert bad.status_code == 400 and bad.json()["Type"] == "ValidationException"


RAW = {"InvoiceID": "e3b7c0de-0000-4000-8000-000000000317", "Type": "ACCREC",
       "InvoiceNumber": "INV-0317", "Status": "AUTHORISED",
       "Contact": {"ContactID": "c1", "Name": "Harbor"}, "CurrencyCode": "USD",
       "Date": "/Date(1793577600000+0000)/", "DueDateString": "2026-12-02T00:00:00",
       "SubTotal": Decimal("500.00"), "TotalTax": Decimal("40.00"), "Total": Decimal("540.00"),
       "AmountDue": Decimal("290.00"), "AmountPaid": Decimal("100.00"),
       "AmountCredited": Decimal("150.00")}


def test_y9_parse_invoice_and_bad_records() -> None:
    invoice = xero_invoices.parse_invoice(RAW)
    assert isinstance(invoice, base.RemoteInvoice)
    assert (invoice.total_minor, invoice.balance_minor, invoice.tax_minor) == (54000, 29000,
                                                                              4000)
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 11, 2), date(2026, 12, 2))
    assert invoice.lines is None and invoice.customer_email is None  # no LineItems sent
    assert xero_invoices.parse_invoice({**RAW, "Status": "DELETED"}) == base.DeletedInvoice(
        RAW["InvoiceID"])
    assert xero_invoices.parse_invoice({**RAW, "Status": "SUBMITTED"}) is None
    assert xero_invoices.parse_invoice({**RAW, "Type": "ACCPAY"}) is None
    voided = xero_invoices.parse_invoice({**RAW, "Status": "VOIDED"})
    assert isinstance(voided, base.RemoteInvoice) and voided.balance_minor == 0
    for broken in ({**RAW, "AmountDue": Decimal("600.00")}, {**RAW, "Total": Decimal("1.005")},
                   {**RAW, "Contact": {"Name": "x"}}, {**RAW, "AmountDue": None},
                   {**RAW, "TotalTax": "lots"}, {**RAW, "Type": None}):
        bad = xero_invoices.parse_invoice(broken)
        assert isinstance(bad, base.BadRecord) and bad.external_id == RAW["InvoiceID"]
    assert xero_invoices.parse_invoice({"Type": "ACCREC"}) == base.BadRecord(
        None, "an Invoice without an InvoiceID")


def test_y9_invoice_lines_unpaged_listing_and_unreadable_lines() -> None:
    assert xero_invoices.parse_invoice({**RAW, "LineItems": []}).lines is None  # type: ignore[union-attr]
    bad = xero_invoices.parse_invoice({**RAW, "LineItems": [{"LineAmount": "x"}]})
    assert isinstance(bad, base.RemoteInvoice) and bad.lines is None
    assert bad.line_problem and bad.line_problem.startswith("Invoice INV-0317 lines")
    free = xero_invoices.parse_invoice({**RAW, "Total": Decimal("0"), "AmountDue": 0,
                                        "TotalTax": 0, "LineItems": []})
    assert isinstance(free, base.RemoteInvoice) and free.lines == ()
