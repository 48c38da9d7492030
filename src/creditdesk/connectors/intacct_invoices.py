"""Sage Intacct AR invoices (ARINVOICE, lines in ARINVOICEITEM) as ``RemoteInvoice``: the
record mapping (Y9). Field names from a public ``lookup`` dump of ARINVOICE/ARINVOICEITEM
(research issue13-intacct-qbd.md §1.2).

Total is TRX_TOTALENTERED and the balance due TRX_TOTALDUE (TOTALENTERED/TOTALDUE in base
currency when the transaction-currency fields are empty), as for adjustments. Tax: ARINVOICE
has no total-tax field and ARINVOICEITEM no tax flag (US sales tax arrives as ordinary lines
to a tax account or item), so ``tax_minor`` stays 0: the tax is inside the total and its
lines. STATE is used only for drafts (not reported: not owed yet) and reversals (the
original is void, the reversing entry is skipped); open/partially paid/paid follow from the
balance (research §1.2: the STATE texts of invoices are not confirmed).
"""

from __future__ import annotations

from dataclasses import replace

from creditdesk.connectors import base
from creditdesk.connectors.base import BadRecord, Record, RemoteInvoice, RemoteLine
from creditdesk.connectors.intacct_records import (
    NAME,
    SKIP_STATES,
    VOID_STATES,
    day,
    minor,
    totals,
)
from creditdesk.domain import money

OBJECT = "ARINVOICE"
FIELDS = ["RECORDNO", "RECORDID", "DOCNUMBER", "CUSTOMERID", "CUSTOMERNAME", "WHENCREATED",
          "WHENDUE", "TOTALENTERED", "TOTALDUE", "TOTALPAID", "TRX_TOTALENTERED", "TRX_TOTALDUE",
          "TRX_TOTALPAID", "CURRENCY", "BASECURR", "STATE", "WHENMODIFIED"]
LINE_OBJECT = "ARINVOICEITEM"  # RECORDKEY is the invoice's RECORDNO
LINE_FIELDS = ["RECORDNO", "RECORDKEY", "LINE_NO", "ITEMID", "ITEMNAME", "ENTRYDESCRIPTION",
               "AMOUNT", "TRX_AMOUNT"]


def parse_invoice(fields: dict[str, str], default_currency: str = "USD") -> Record | None:
    """One ARINVOICE → RemoteInvoice; None for drafts, reversing entries and negative
    invoices (a negative invoice is a credit in Intacct, not an amount owed); BadRecord
    saying why when it can't be read."""
    ext = fields.get("RECORDNO")
    if not ext:
        return BadRecord(None, "an AR invoice without a RECORDNO")
    state = fields.get("STATE", "").strip().lower()
    if state in SKIP_STATES:
        return None
    try:
        currency, entered_key, due_key = totals(fields, default_currency)
        total = minor(fields, entered_key, currency)
        if total < 0:
            return None
        voided = state in VOID_STATES
        balance = 0 if voided else minor(fields, due_key, currency)
        if not 0 <= balance <= total:
            raise ValueError(f"balance due {balance} outside 0..total {total}")
        customer = fields.get("CUSTOMERID")
        if not customer:
            raise ValueError("CUSTOMERID is missing")
        return RemoteInvoice(
            external_id=ext, number=fields.get("RECORDID") or fields.get("DOCNUMBER") or ext,
            customer_external_id=customer,
            customer_name=fields.get("CUSTOMERNAME") or f"{NAME} customer {customer}",
            currency=currency, total_minor=total, balance_minor=balance,
            issue_date=day(fields, "WHENCREATED"), due_date=day(fields, "WHENDUE"),
            voided=voided)
    except (ValueError, money.MoneyError) as exc:
        return BadRecord(ext, f"AR invoice {ext}: {exc}")


def parse_line(fields: dict[str, str], currency: str) -> RemoteLine:
    """One ARINVOICEITEM: an amount (TRX_AMOUNT, or AMOUNT in base currency) and a text; an
    AR invoice line has no quantity or unit price. The text is the line's memo, else the
    item's name or id."""
    key = "TRX_AMOUNT" if fields.get("TRX_AMOUNT") else "AMOUNT"
    amount = base.exact_minor(fields.get(key), currency, f"line {fields.get('LINE_NO')} {key}")
    text = fields.get("ENTRYDESCRIPTION") or fields.get("ITEMNAME") or fields.get("ITEMID")
    return RemoteLine(description=base.clip(text), quantity=None, unit_price_minor=None,
                      amount_minor=amount)


def with_lines(invoice: RemoteInvoice, rows: list[dict[str, str]]) -> RemoteInvoice:
    """The invoice with its lines; an unreadable line keeps the stored ones and is reported."""
    try:
        if len(rows) > base.MAX_LINES:
            raise ValueError(f"more than {base.MAX_LINES} lines")
        return replace(invoice, lines=tuple(parse_line(f, invoice.currency) for f in rows))
    except ValueError as exc:
        return replace(invoice, line_problem=f"AR invoice {invoice.number} lines: {exc}")
