"""Landing one page of synced records (Y3-Y6, Y9): each record upserted by (partner, source,
external_id), its customer found by the Y10 rule (``sync_customers``), its lines replaced by
the ones the system reports (read-only, like the record), the same way for memos and
invoices (``sync_documents``). What is particular to credit memos is here (``MEMOS``: the
status follows from the remaining credit the system reports), to invoices in
``sync_invoices``.

Everything is per page (B6): ``prefetch`` loads and locks the page's customers, memos and
invoices with one query each (customers in id order, then memos, then invoices, each in
external-id order: no other statement locks several of them, so this fixed order is
deadlock-free), and their stored lines with one more each; ``land`` decides in memory;
``flush`` writes the page (``sync_page``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import bulk, models
from creditdesk.domain import memo as rules
from creditdesk.services.books import sync_customers, sync_documents, sync_invoices, sync_page
from creditdesk.services.books.sync_page import Counts, Documents, NewRow
from creditdesk.services.common import dml
from creditdesk.services.common.context import Actor, new_id

__all__ = ["Counts", "flush", "land", "prefetch"]

Memo = models.CreditMemo | NewRow


def prefetch(session: Session, partner_id: str, source: rules.Source,
             records: list[base.Record], counts: Counts) -> None:
    """One locking query for the page's customers (those its references name, and those a
    new reference may join by email), then one for its memos and one for its invoices,
    instead of queries per record; then the stored lines of those whose records report
    lines."""
    named = [r for r in records if isinstance(r, base.RemoteMemo | base.RemoteInvoice)]
    if named:
        sync_customers.prefetch(session, partner_id, source, named, counts)
    sync_page.prefetch_documents(
        session, partner_id, source, counts.memos,
        sorted({r.external_id for r in records if isinstance(r, base.RemoteMemo | base.Deleted)}),
        {r.external_id for r in records if isinstance(r, base.RemoteMemo) and r.lines is not None})
    sync_invoices.prefetch(session, partner_id, source, records, counts)


def land(actor: Actor, source: rules.Source, record: base.Record, counts: Counts,
         now: datetime) -> None:
    """Land one record of a page whose rows ``prefetch`` loaded into ``counts`` (nothing is
    written until ``flush``)."""
    if isinstance(record, base.BadRecord):
        counts.errors.append({"external_id": record.external_id, "message": record.message})
    elif isinstance(record, base.RemoteInvoice | base.DeletedInvoice):
        sync_invoices.land(actor, source, record, counts, now)
    else:
        sync_documents.land(MEMOS, actor, source,
                            record.external_id if isinstance(record, base.Deleted) else record,
                            counts, now)


class _Memos:
    """Credit memos (Y4): remaining = total → issued; 0 < remaining < total → partially
    applied; 0 → applied. What was refunded of the used credit (Y4) is kept apart."""

    entity, noun = "credit_memo", "credit memo"

    def documents(self, counts: Counts) -> Documents[Memo]:
        return counts.memos

    def problem(self, r: base.RemoteMemo) -> str | None:
        if r.total_minor <= 0 and not r.voided:
            return f"credit memo {r.external_id}: total must be greater than zero"
        return None

    def fields(self, r: base.RemoteMemo, customer: tuple[str, str]) -> dict[str, Any]:
        applied = r.total_minor - r.remaining_minor
        status = rules.status_for_amounts(total_minor=r.total_minor, applied_minor=applied)
        return {"customer_id": customer[0], "customer_reference_id": customer[1],
                "number": r.number, "currency": r.currency, "issue_date": r.issue_date,
                "total_minor": r.total_minor, "applied_minor": applied,
                "refunded_minor": min(r.refunded_minor, applied),
                # T5: the tax the system reports; none reported → unknown, never a false 0
                "tax_minor": r.tax_minor or 0, "tax_reported": r.tax_minor is not None,
                "status": status.value, "void_reason": None, "voided_at": None}

    def new_row(self, actor: Actor, source: rules.Source, external_id: str,
                values: dict[str, Any], now: datetime, *, issued: bool) -> NewRow:
        return NewRow(
            id=new_id("cm"), partner_id=actor.partner_id, reason=rules.Reason.OTHER.value,
            source=source.value, external_id=external_id, issued_at=now if issued else None,
            created_at=now, updated_at=now,
            **{"applied_at": now if values["status"] == "applied" else None, **values})

    def nothing_used(self) -> dict[str, Any]:
        return {"applied_minor": 0, "refunded_minor": 0, "applied_at": None}

    def updated(self, doc: Memo, now: datetime) -> None:
        doc.applied_at = (doc.applied_at or now) if doc.status == "applied" else None


MEMOS = _Memos()


def flush(session: Session, counts: Counts) -> None:
    """Write the page: its new customers and references; the changes to existing memos and
    invoices (the unit of work, after the customers they may now name); its new memos and
    their lines, then its new invoices and theirs (``sync_page.flush_documents``); its
    audit events. Each insert is one ``bulk.insert_rows`` of plain values."""
    conn = session.connection()
    bulk.insert_rows(conn, dml.table(models.Customer), counts.new_customers)
    bulk.insert_rows(conn, dml.table(models.CustomerReference), counts.new_references)
    session.flush()
    sync_page.flush_documents(session, conn, counts.memos)
    sync_page.flush_documents(session, conn, counts.invoices)
    bulk.insert_rows(conn, dml.table(models.AuditEvent), counts.events)
    for pending in (counts.new_customers, counts.new_references, counts.events):
        pending.clear()
