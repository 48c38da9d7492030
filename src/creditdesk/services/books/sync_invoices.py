"""Landing synced invoices (Y9), the way ``sync_upsert`` lands memos: upserted by (partner,
source, external_id), the customer found by the same Y10 rule (``sync_customers``), lines
replaced by the ones the system reports, read-only here.

The figures are the system's: ``paid_minor`` = total - the balance due it reports,
``credited_minor`` 0 (``models.Invoice``), and the status follows from that balance:
balance = total → open, 0 < balance < total → partially paid, 0 → paid (a $0 invoice is
paid); voided or deleted there → void, with a reason naming the system."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.domain import memo as rules
from creditdesk.domain.application import InvoiceStatus
from creditdesk.services.books import sync_customers, sync_page
from creditdesk.services.books.sync_page import MAX_EXTERNAL_ID, MAX_NUMBER, Counts, NewRow
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, new_id

Invoice = models.Invoice | NewRow


def prefetch(session: Session, partner_id: str, source: rules.Source,
             records: list[base.Record], counts: Counts) -> None:
    """The page's stored invoices, locked in external-id order after its memos (the
    customers are already locked: ``sync_upsert.prefetch``), and their stored lines."""
    sync_page.prefetch_documents(
        session, partner_id, source, counts.invoices,
        sorted({r.external_id for r in records
                if isinstance(r, base.RemoteInvoice | base.DeletedInvoice)}),
        {r.external_id for r in records
         if isinstance(r, base.RemoteInvoice) and r.lines is not None})


def land(actor: Actor, source: rules.Source, record: base.RemoteInvoice | base.DeletedInvoice,
         counts: Counts, now: datetime) -> None:
    """Land one invoice record of a page (nothing is written until ``sync_upsert.flush``)."""
    if isinstance(record, base.DeletedInvoice):
        _void(actor, source, record.external_id, "Deleted", counts, now)
    elif sync_page.readable(_check(record), record, counts):
        if record.voided:
            _void(actor, source, record.external_id, "Voided", counts, now, create_from=record)
        else:
            _upsert(actor, source, record, counts, now)


def _check(r: base.RemoteInvoice) -> str | None:
    if max(len(r.external_id), len(r.customer_external_id)) > MAX_EXTERNAL_ID:
        return (f"invoice {r.external_id[:60]}: its id or its customer's is longer than "
                f"{MAX_EXTERNAL_ID} characters")
    if len(r.number) > MAX_NUMBER:
        return (f"invoice {r.external_id} ({r.number[:20]}…): number longer than "
                f"{MAX_NUMBER} characters")
    if r.total_minor < 0:
        return f"invoice {r.external_id}: total must not be negative"
    if not r.voided and not 0 <= r.balance_minor <= r.total_minor:
        return f"invoice {r.external_id}: balance due must be between 0 and the total"
    return None


def status(*, total_minor: int, balance_minor: int) -> InvoiceStatus:
    """Y9: the status of an invoice whose system reports this balance due."""
    if balance_minor == 0:
        return InvoiceStatus.PAID
    if balance_minor == total_minor:
        return InvoiceStatus.OPEN
    return InvoiceStatus.PARTIALLY_PAID


def _fields(r: base.RemoteInvoice, customer: tuple[str, str]) -> dict[str, Any]:
    return {"customer_id": customer[0], "customer_reference_id": customer[1],
            "number": r.number, "currency": r.currency, "issue_date": r.issue_date,
            "due_date": r.due_date, "total_minor": r.total_minor, "tax_minor": r.tax_minor,
            "paid_minor": r.total_minor - r.balance_minor, "credited_minor": 0,
            "status": status(total_minor=r.total_minor, balance_minor=r.balance_minor).value,
            "void_reason": None, "voided_at": None}


def _new_invoice(actor: Actor, source: rules.Source, external_id: str,
                 values: dict[str, Any], counts: Counts, now: datetime, *,
                 issued: bool) -> NewRow:
    """An invoice the page creates (every new one has the same columns, as one bulk insert
    needs)."""
    invoice = NewRow(id=new_id("inv"), partner_id=actor.partner_id, source=source.value,
                     external_id=external_id, notes=None, issued_at=now if issued else None,
                     created_at=now, updated_at=now, **values)
    counts.invoices.new_rows.append(invoice)
    counts.invoices.rows[external_id] = invoice
    counts.invoices.created += 1
    return invoice


def _upsert(actor: Actor, source: rules.Source, r: base.RemoteInvoice, counts: Counts,
            now: datetime) -> None:
    invoice = counts.invoices.rows.get(r.external_id)
    values = _fields(r, sync_customers.customer(actor, source, r, counts, now))
    if invoice is None:
        invoice = _new_invoice(actor, source, r.external_id, values, counts, now, issued=True)
        sync_page.replace_lines(counts.invoices, invoice, r.lines)
        counts.events.append(audit.row(
            actor, "invoice.sync_create", "invoice", invoice.id,
            {"source": source.value, "external_id": r.external_id, "number": r.number,
             "status": values["status"]}, at=now))
        return
    changed = sync_page.apply_changes(counts.invoices, invoice, values, r.lines)
    if not changed:
        return
    invoice.issued_at = invoice.issued_at or now  # one first seen void, reported again
    invoice.updated_at = now
    counts.invoices.updated += 1
    counts.events.append(audit.row(
        actor, "invoice.sync_update", "invoice", invoice.id,
        {"source": source.value, "changed": changed}, at=now))


def _void(actor: Actor, source: rules.Source, external_id: str, verb: str, counts: Counts,
          now: datetime, create_from: base.RemoteInvoice | None = None) -> None:
    """Voided or deleted at the source → void here, nothing owed, with a reason naming the
    system. The total and lines stay as they were: QuickBooks Online zeroes a voided
    invoice's amounts (docs/research/issue13-qbo-xero.md, "Voided invoice")."""
    reason = f"{verb} in {rules.SOURCE_NAMES[source]}"
    invoice = counts.invoices.rows.get(external_id)
    if invoice is None:
        if create_from is None or create_from.total_minor <= 0:
            return  # never seen and nothing left to show: a void with no amount
        customer = sync_customers.customer(actor, source, create_from, counts, now)
        values = {**_fields(create_from, customer), "paid_minor": 0, "status": "void",
                  "void_reason": reason, "voided_at": now}
        invoice = _new_invoice(actor, source, external_id, values, counts, now, issued=False)
        sync_page.replace_lines(counts.invoices, invoice, create_from.lines)
        return
    if invoice.status == "void":
        return
    invoice.status, invoice.paid_minor, invoice.credited_minor = "void", 0, 0
    invoice.void_reason, invoice.voided_at, invoice.updated_at = reason, now, now
    counts.invoices.voided += 1
    counts.events.append(audit.row(
        actor, "invoice.sync_void", "invoice", invoice.id,
        {"source": source.value, "external_id": external_id, "reason": reason}, at=now))
