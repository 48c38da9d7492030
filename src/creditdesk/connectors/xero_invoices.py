"""A Xero Invoice JSON object → ``RemoteInvoice`` / ``DeletedInvoice`` / ``BadRecord`` (Y9).

Fields from the Xero OpenAPI ``Invoice`` schema (docs/research/issue13-qbo-xero.md §4):
``Type`` ACCREC (a sales invoice; ACCPAY bills are not receivables), ``Status``, ``Total``
(SubTotal + TotalTax), ``TotalTax``, ``AmountDue`` (what is still owed after payments and
credit), ``Date``/``DueDate``, ``LineItems``, ``Contact``. A voided invoice keeps its Total
with AmountDue 0; DELETED is a soft delete of a draft.
"""

from __future__ import annotations

from typing import Any

from creditdesk.connectors import base
from creditdesk.connectors import xero_records as records
from creditdesk.connectors.base import BadRecord, DeletedInvoice, Record, RemoteInvoice
from creditdesk.domain import money

SALES = "ACCREC"
LISTED = f'Type=="{SALES}"'


def _due_date(raw: dict[str, Any]) -> Any:
    for key in ("DueDate", "DueDateString"):
        if raw.get(key):
            return records.parse_date(raw[key])
    return None


def parse_invoice(raw: Any) -> Record | None:
    """One Invoice → a record, or None for what is not a customer's approved invoice (a
    bill, a draft or an invoice awaiting approval: not owed yet)."""
    ext = raw.get("InvoiceID") if isinstance(raw, dict) else None
    if not isinstance(ext, str) or not ext:
        return BadRecord(None, "an Invoice without an InvoiceID")
    kind, status = raw.get("Type"), str(raw.get("Status") or "").upper()
    if kind != SALES:
        return None if kind else BadRecord(ext, f"Invoice {ext}: Type is missing")
    if status == records.DELETED:
        return DeletedInvoice(ext)
    if status in records.NOT_YET_ISSUED:
        return None
    try:
        currency = money.check_currency(raw.get("CurrencyCode") or "USD")
        total = base.exact_minor(raw.get("Total"), currency, "Total")
        voided = status == records.VOIDED
        # Xero reports AmountDue 0 on a voided invoice; "nothing owed" whatever it says.
        due = 0 if voided else base.exact_minor(raw.get("AmountDue"), currency, "AmountDue")
        if total < 0 or not 0 <= due <= total:
            raise ValueError(f"amount due {due} outside 0..total {total}")
        tax = records.total_tax(raw, currency)
        contact_id, name, email = records.customer(raw)
        invoice = RemoteInvoice(
            external_id=ext, number=str(raw.get("InvoiceNumber") or ext),
            customer_external_id=contact_id, customer_name=name, customer_email=email,
            currency=currency, total_minor=total, balance_minor=due,
            issue_date=records.issue_date(raw), due_date=_due_date(raw), tax_minor=tax,
            voided=voided)
    except (ValueError, TypeError, AttributeError, money.MoneyError) as exc:
        return BadRecord(ext, f"Invoice {raw.get('InvoiceNumber') or ext}: {exc}")
    return records.with_lines(invoice, raw, "Invoice")
