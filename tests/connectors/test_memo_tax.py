"""T5: a synced credit memo carries the tax its system reports (QuickBooks Online's
TxnTaxDetail.TotalTax, Xero's TotalTax), and answers it as one amount with no rate."""

from __future__ import annotations

from creditdesk.connectors import quickbooks_online_records as qbo
from creditdesk.connectors import xero_records as xero
from creditdesk.connectors.base import BadRecord, RemoteMemo

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
