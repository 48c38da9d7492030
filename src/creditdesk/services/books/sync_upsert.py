"""Landing one page of synced records (Y3-Y6, Y9): each record upserted by (partner, source,
external_id), its customer found by the Y10 rule (``sync_customers``), its lines replaced by
the ones the system reports (read-only, like the record). Credit memos land here, invoices
in ``sync_invoices``; a memo's status follows from the remaining credit the system reports.

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
from creditdesk.services.books import sync_customers, sync_invoices, sync_page
from creditdesk.services.books.sync_page import MAX_EXTERNAL_ID, MAX_NUMBER, Counts, NewRow
from creditdesk.services.common import audit, dml
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
    elif isinstance(record, base.Deleted):
        _void(actor, source, record.external_id, "Deleted", counts, now)
    elif sync_page.readable(_check(record), record, counts):
        if record.voided:
            _void(actor, source, record.external_id, "Voided", counts, now, create_from=record)
        else:
            _upsert(actor, source, record, counts, now)


def _check(r: base.RemoteMemo) -> str | None:
    if max(len(r.external_id), len(r.customer_external_id)) > MAX_EXTERNAL_ID:
        return (f"credit memo {r.external_id[:60]}: its id or its customer's is longer than "
                f"{MAX_EXTERNAL_ID} characters")
    if len(r.number) > MAX_NUMBER:
        return f"credit memo {r.external_id}: number longer than {MAX_NUMBER} characters"
    if r.total_minor <= 0 and not r.voided:
        return f"credit memo {r.external_id}: total must be greater than zero"
    return None


def _new_memo(actor: Actor, source: rules.Source, external_id: str, values: dict[str, Any],
              counts: Counts, now: datetime, *, issued: bool) -> NewRow:
    """A memo the page creates (every new memo has the same columns, as one bulk insert
    needs)."""
    memo = NewRow(
        id=new_id("cm"), partner_id=actor.partner_id, reason=rules.Reason.OTHER.value,
        source=source.value, external_id=external_id, issued_at=now if issued else None,
        applied_at=now if values["status"] == "applied" else None,
        created_at=now, updated_at=now, **values)
    counts.memos.new_rows.append(memo)
    counts.memos.rows[external_id] = memo
    counts.memos.created += 1
    return memo


def _fields(r: base.RemoteMemo, customer: tuple[str, str]) -> dict[str, Any]:
    """Y4: remaining = total → issued; 0 < remaining < total → partially applied; 0 → applied."""
    applied = r.total_minor - r.remaining_minor
    status = rules.status_for_amounts(total_minor=r.total_minor, applied_minor=applied)
    return {"customer_id": customer[0], "customer_reference_id": customer[1],
            "number": r.number, "currency": r.currency,
            "issue_date": r.issue_date, "total_minor": r.total_minor, "applied_minor": applied,
            "refunded_minor": min(r.refunded_minor, applied),
            "status": status.value, "void_reason": None, "voided_at": None}


def _upsert(actor: Actor, source: rules.Source, r: base.RemoteMemo, counts: Counts,
            now: datetime) -> None:
    memo = counts.memos.rows.get(r.external_id)
    values = _fields(r, sync_customers.customer(actor, source, r, counts, now))
    if memo is None:
        memo = _new_memo(actor, source, r.external_id, values, counts, now, issued=True)
        sync_page.replace_lines(counts.memos, memo, r.lines)
        counts.events.append(audit.row(
            actor, "credit_memo.sync_create", "credit_memo", memo.id,
            {"source": source.value, "external_id": r.external_id, "status": values["status"]},
            at=now))
        return
    changed = sync_page.apply_changes(counts.memos, memo, values, r.lines)
    if not changed:
        return
    memo.applied_at = (memo.applied_at or now) if memo.status == "applied" else None
    memo.updated_at = now
    counts.memos.updated += 1
    counts.events.append(audit.row(
        actor, "credit_memo.sync_update", "credit_memo", memo.id,
        {"source": source.value, "changed": changed}, at=now))


def _void(actor: Actor, source: rules.Source, external_id: str, verb: str, counts: Counts,
          now: datetime, create_from: base.RemoteMemo | None = None) -> None:
    """Y4: voided or deleted at the source → void here, with a reason naming the system."""
    reason = f"{verb} in {rules.SOURCE_NAMES[source]}"
    memo = counts.memos.rows.get(external_id)
    if memo is None:
        if create_from is None or create_from.total_minor <= 0:
            return  # never seen and nothing left to show: a void with no amount
        customer = sync_customers.customer(actor, source, create_from, counts, now)
        values = {**_fields(create_from, customer),
                  "applied_minor": 0, "refunded_minor": 0, "status": "void",
                  "void_reason": reason, "voided_at": now}
        memo = _new_memo(actor, source, external_id, values, counts, now, issued=False)
        sync_page.replace_lines(counts.memos, memo, create_from.lines)
        return
    if memo.status == "void":
        return
    # The lines stay as they were: a voided memo keeps its total here, while the system
    # may zero its lines (QuickBooks does).
    memo.status, memo.applied_minor, memo.applied_at = "void", 0, None
    memo.refunded_minor = 0
    memo.void_reason, memo.voided_at, memo.updated_at = reason, now, now
    counts.memos.voided += 1
    counts.events.append(audit.row(
        actor, "credit_memo.sync_void", "credit_memo", memo.id,
        {"source": source.value, "external_id": external_id, "reason": reason}, at=now))


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
