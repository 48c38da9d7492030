"""Sage Intacct AR invoices (ARINVOICE, lines in ARINVOICEITEM) as ``RemoteInvoice``: the
record mapping (Y9). Field names from a public ``lookup`` dump of ARINVOICE/ARINVOICEITEM
(research issue13-intacct-qbd.md §1.2).

Total is TRX_TOTALENTERED and the balance due TRX_TOTALDUE (TOTALENTERED/TOTALDUE in base
currency when the transaction-currency fields are empty), as for adjustments. Tax: ARINVOICE
has no total-tax field and ARINVOICEITEM no tax flag (US sales tax arrives as ordinary lines
to a tax account or item), so ``tax_minor`` is None (not reported) unless the invoice has
tax entries (``intacct_tax``, T5). STATE is used only for drafts (not reported: not owed
yet) and reversals (the original is void, the reversing entry is skipped); open/partially
paid/paid follow from the balance (research §1.2: the STATE texts of invoices are not
confirmed).
"""

from __future__ import annotations

from creditdesk.connectors import base
from creditdesk.connectors import intacct_records as records
from creditdesk.connectors.base import Record, RemoteInvoice, RemoteLine
from creditdesk.connectors.intacct_records import (
    Header,
    day,
    line_amount,
    minor,
    party,
    read_record,
)

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
    def build(h: Header) -> Record | None:
        total = minor(fields, h.entered_key, h.currency)
        if total < 0:
            return None
        balance = 0 if h.voided else minor(fields, h.due_key, h.currency)
        if not 0 <= balance <= total:
            raise ValueError(f"balance due {balance} outside 0..total {total}")
        return RemoteInvoice(
            external_id=h.ext, **party(fields, h.ext), currency=h.currency,
            total_minor=total, balance_minor=balance, issue_date=day(fields, "WHENCREATED"),
            due_date=day(fields, "WHENDUE"), voided=h.voided, tax_minor=None)
    return read_record(fields, "AR invoice", default_currency, build)


def parse_line(fields: dict[str, str], currency: str) -> RemoteLine:
    """One ARINVOICEITEM: an amount (TRX_AMOUNT, or AMOUNT in base currency) and a text; an
    AR invoice line has no quantity or unit price. The text is the line's memo, else the
    item's name or id."""
    text = fields.get("ENTRYDESCRIPTION") or fields.get("ITEMNAME") or fields.get("ITEMID")
    return RemoteLine(description=base.clip(text), quantity=None, unit_price_minor=None,
                      amount_minor=line_amount(fields, currency))


def with_lines(invoice: RemoteInvoice, rows: list[dict[str, str]]) -> RemoteInvoice:
    """The invoice with its lines; an unreadable line keeps the stored ones and is reported."""
    return records.with_lines(invoice, rows, parse_line, "AR invoice")
