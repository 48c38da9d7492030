"""T5: a synced credit memo carries the tax its system reports (QuickBooks Online's
TxnTaxDetail.TotalTax, Xero's TotalTax, Sage Intacct's tax entries), and answers it as one
amount with no rate; none reported (Intacct without tax entries) is unknown, not 0."""

from __future__ import annotations

import pytest

from creditdesk.connectors import intacct_tax
from creditdesk.connectors import quickbooks_online_records as qbo
from creditdesk.connectors import xero_records as xero
from creditdesk.connectors.base import BadRecord, Record, RemoteInvoice, RemoteMemo
from tests.intacct_fixtures import COMPANY, FakeIntacct

QBO_MEMO = {"Id": "77", "DocNumber": "1077", "TotalAmt": "107.25", "Balance": "107.25",
            "CustomerRef": {"value": "5", "name": "Initech"}, "TxnDate": "2026-11-02",
            "CurrencyRef": {"value": "USD"}, "TxnTaxDetail": {"TotalTax": "7.25"}}
XERO_NOTE = {"CreditNoteID": "cn-1", "CreditNoteNumber": "CN-1", "Type": "ACCRECCREDIT",
             "Status": "AUTHORISED", "Total": "107.25", "TotalTax": "7.25",
             "RemainingCredit": "107.25", "CurrencyCode": "USD", "Date": "2026-11-02",
             "Contact": {"ContactID": "c-1", "Name": "Initech"}}


def test_t5_quickbooks_online_memo_tax() -> None:
    memo = qbo.parse_memo(QBO_MEMO, "USD")
    assert isinstance(memo, RemoteMemo) and (memo.total_minor, memo.tax_minor) == (10725, 725)
    untaxed = qbo.parse_memo({k: v for k, v in QBO_MEMO.items() if k != "TxnTaxDetail"}, "USD")
    assert isinstance(untaxed, RemoteMemo) and untaxed.tax_minor == 0
    bad = qbo.parse_memo(QBO_MEMO | {"TxnTaxDetail": {"TotalTax": "-1.00"}}, "USD")
    assert isinstance(bad, BadRecord) and "negative" in bad.message


def test_t5_xero_credit_note_tax() -> None:
    memo = xero.parse_credit_note(XERO_NOTE)
    assert isinstance(memo, RemoteMemo) and (memo.total_minor, memo.tax_minor) == (10725, 725)


# Sage Intacct: no tax field on the record; the tax entries of its lines (T5) -------------
def _fetched(fake_intacct: FakeIntacct) -> dict[str, Record]:
    return {r.external_id: r for b in fake_intacct.connector().fetch({}) for r in b.records
            if isinstance(r, RemoteMemo | RemoteInvoice)}


def test_t5_intacct_memo_and_invoice_tax_from_their_tax_entries(
        fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    taxed = st.add_adjustment(COMPANY, total="-110.00", lines=[("Return", "-100.00")],
                              tax=[("G1 Goods and Services Tax", "-10.00")])
    plain = st.add_adjustment(COMPANY, total="-50.00")
    inv = st.add_invoice(COMPANY, total="230.00", lines=[("Seats", "200.00")],
                         tax=[("UK VAT standard", "20.00"), ("UK VAT reduced", "10.00")])
    us = st.add_invoice(COMPANY, total="108.50", lines=[("Seats", "100.00"),
                                                         ("Sales tax 8.5%", "8.50")])
    got = _fetched(fake_intacct)
    assert (got[taxed].total_minor, got[taxed].tax_minor) == (11000, 1000)
    assert (got[inv].total_minor, got[inv].tax_minor) == (23000, 3000)
    # no tax entry: no tax figure (a US sales-tax line can't be told apart): unknown, not 0
    assert got[plain].tax_minor is None and got[us].tax_minor is None


def test_t5_intacct_without_the_taxes_application_reports_no_tax_and_syncs_on(
        fake_intacct: FakeIntacct) -> None:
    st = fake_intacct.state
    st.companies[COMPANY].taxes_enabled = False  # "Object definition … not found"
    memo = st.add_adjustment(COMPANY, total="-110.00", tax=[("G1", "-10.00")])
    inv = st.add_invoice(COMPANY, total="230.00")
    connector = fake_intacct.connector()
    got = {r.external_id: r for b in connector.fetch({}) for r in b.records}
    assert isinstance(got[memo], RemoteMemo) and got[memo].tax_minor is None
    assert isinstance(got[inv], RemoteInvoice) and got[inv].tax_minor is None
    list(connector.fetch({}))  # asked once per object, not on every page
    asked = [r for r in st.requests if "TAXENTRY" in r]
    assert asked == ["query ARADJUSTMENTTAXENTRY refused", "query ARINVOICETAXENTRY refused"]


def test_t5_intacct_tax_entries_that_exceed_the_total_leave_the_tax_unknown() -> None:
    assert intacct_tax.tax_of([], "USD", 100, credit=True) is None
    assert intacct_tax.tax_of([{"TRX_AMOUNT": "-7.25"}], "USD", 10725, credit=True) == 725
    assert intacct_tax.tax_of([{"AMOUNT": "7.25"}], "USD", 10725, credit=False) == 725
    with pytest.raises(ValueError, match="outside"):
        intacct_tax.tax_of([{"TRX_AMOUNT": "-200.00"}], "USD", 10725, credit=True)
