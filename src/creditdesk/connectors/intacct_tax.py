"""Sage Intacct tax (T5): the tax entries of AR adjustments and invoices, read as the tax
the system reports for a synced memo or invoice.

Intacct's AR records have no total-tax field (the ARADJUSTMENT and ARINVOICE lookup dumps
list none; docs/research/issue13-intacct-qbd.md §1.2): the tax is inside the lines. With
Intacct's Taxes application (VAT/GST companies: AU, GB, ZA), each line carries tax entries
(``taxentries``/``taxentry`` with ``detailid`` and ``trx_tax``; developer.intacct.com "AR
Adjustments", create_aradjustment, 2021 R1), kept as objects ARADJUSTMENTTAXENTRY and
ARINVOICETAXENTRY. Those are read like the lines: ``query`` on RECORDKEY IN (the page's
RECORDNOs). [U] the tax entries' field names (RECORDKEY, TRX_AMOUNT, AMOUNT) and sign
(a credit memo's as negative as its lines) are not confirmed by a public lookup dump.

A record with no tax entry, or a company where the object can't be read (no Taxes
application: "Object definition … not found"), reports no tax figure: US sales tax arrives
as ordinary lines that can't be told apart. Its tax is then unknown (None), never 0.
"""

from __future__ import annotations

from creditdesk.connectors import base

MEMO_OBJECT = "ARADJUSTMENTTAXENTRY"
INVOICE_OBJECT = "ARINVOICETAXENTRY"
FIELDS = ["RECORDNO", "RECORDKEY", "DETAILID", "TRX_AMOUNT", "AMOUNT"]


def entry_amount(fields: dict[str, str], currency: str) -> int:
    """A tax entry's TRX_AMOUNT (transaction currency), else its AMOUNT, exactly (M1)."""
    key = "TRX_AMOUNT" if fields.get("TRX_AMOUNT") else "AMOUNT"
    return base.exact_minor(fields.get(key), currency, f"tax entry {fields.get('RECORDNO')} {key}")


def tax_of(rows: list[dict[str, str]], currency: str, total_minor: int, *,
           credit: bool) -> int | None:
    """The document's tax: Σ of its tax entries, as the credit or the amount it gives (a
    credit memo's entries are negative like its lines); None when it has none. A sum outside
    0..total → ValueError."""
    if not rows:
        return None
    tax = sum(entry_amount(f, currency) for f in rows)
    tax = -tax if credit else tax
    if not 0 <= tax <= total_minor:
        raise ValueError(f"tax {tax} outside 0..total {total_minor}")
    return tax
