"""Landing synced invoices (Y9): ``sync_documents`` lands them as it lands memos (upserted
by (partner, source, external_id), the customer found by the same Y10 rule, lines replaced
by the ones the system reports, read-only here); what is particular to them is here.

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
from creditdesk.services.books import sync_documents, sync_page
from creditdesk.services.books.sync_page import Counts, Documents, NewRow
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
    sync_documents.land(INVOICES, actor, source,
                        record.external_id if isinstance(record, base.DeletedInvoice) else record,
                        counts, now)


def status(*, total_minor: int, balance_minor: int) -> InvoiceStatus:
    """Y9: the status of an invoice whose system reports this balance due."""
    if balance_minor == 0:
        return InvoiceStatus.PAID
    if balance_minor == total_minor:
        return InvoiceStatus.OPEN
    return InvoiceStatus.PARTIALLY_PAID


class _Invoices:
    """Synced invoices (Y9): their figures are the system's, what is settled on them being
    total - balance due."""

    entity, noun = "invoice", "invoice"

    def documents(self, counts: Counts) -> Documents[Invoice]:
        return counts.invoices

    def problem(self, r: base.RemoteInvoice) -> str | None:
        if r.total_minor < 0:
            return f"invoice {r.external_id}: total must not be negative"
        if not r.voided and not 0 <= r.balance_minor <= r.total_minor:
            return f"invoice {r.external_id}: balance due must be between 0 and the total"
        return None

    def fields(self, r: base.RemoteInvoice, customer: tuple[str, str]) -> dict[str, Any]:
        return {"customer_id": customer[0], "customer_reference_id": customer[1],
                "number": r.number, "currency": r.currency, "issue_date": r.issue_date,
                "due_date": r.due_date, "total_minor": r.total_minor,
                "tax_minor": r.tax_minor or 0, "tax_reported": r.tax_minor is not None,  # T5
                "paid_minor": r.total_minor - r.balance_minor, "credited_minor": 0,
                "status": status(total_minor=r.total_minor, balance_minor=r.balance_minor).value,
                "void_reason": None, "voided_at": None}

    def new_row(self, actor: Actor, source: rules.Source, external_id: str,
                values: dict[str, Any], now: datetime, *, issued: bool) -> NewRow:
        return NewRow(id=new_id("inv"), partner_id=actor.partner_id, source=source.value,
                      external_id=external_id, notes=None, issued_at=now if issued else None,
                      created_at=now, updated_at=now, **values)

    def nothing_used(self) -> dict[str, Any]:
        return {"paid_minor": 0, "credited_minor": 0}

    def updated(self, doc: Invoice, now: datetime) -> None:
        doc.issued_at = doc.issued_at or now  # one first seen void, reported again


INVOICES = _Invoices()
