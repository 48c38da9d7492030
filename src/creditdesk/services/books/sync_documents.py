"""Landing one synced record, the same way for every kind of document (Y3-Y6, Y9): upserted
by (partner, source, external_id), its customer found by the Y10 rule (``sync_customers``),
its lines replaced by the ones the system reports, voided or deleted there → void here, each
change counted and audited. What differs between a credit memo and an invoice (their
columns, what "used" means, how they are checked) is a ``Landing``: ``sync_upsert.MEMOS``,
``sync_invoices.INVOICES``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeVar

from creditdesk.connectors import base
from creditdesk.domain import memo as rules
from creditdesk.services.books import sync_customers
from creditdesk.services.books.sync_page import (
    MAX_EXTERNAL_ID,
    MAX_NUMBER,
    Counts,
    Documents,
    NewRow,
    replace_lines,
)
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor

R = TypeVar("R", base.RemoteMemo, base.RemoteInvoice)
R_contra = TypeVar("R_contra", base.RemoteMemo, base.RemoteInvoice, contravariant=True)


class Landing(Protocol[R_contra]):
    """What differs between landing a memo and an invoice (``sync_upsert.MEMOS``,
    ``sync_invoices.INVOICES``); ``land`` does the rest the same way for both."""

    entity: str  # the audit events' entity type and action prefix
    noun: str  # how run errors name the record

    def documents(self, counts: Counts) -> Documents[Any]: ...
    def problem(self, r: R_contra) -> str | None:
        """What makes the record unreadable, beyond its ids and number (Y6)."""
    def fields(self, r: R_contra, customer: tuple[str, str]) -> dict[str, Any]:
        """The stored columns the record sets (the same for every record of the kind)."""
    def new_row(self, actor: Actor, source: rules.Source, external_id: str,
                values: dict[str, Any], now: datetime, *, issued: bool) -> NewRow: ...
    def nothing_used(self) -> dict[str, Any]:
        """The columns a void document has instead of what was used of it."""
    def updated(self, doc: Any, now: datetime) -> None:
        """Whatever else follows from a change to the stored document."""


def land(kind: Landing[R], actor: Actor, source: rules.Source, record: R | str,
         counts: Counts, now: datetime) -> None:
    """Land one record (a deleted one: its external id) of a page whose rows ``prefetch``
    loaded into ``counts``; nothing is written until ``flush``."""
    if isinstance(record, str):
        _void(kind, actor, source, record, "Deleted", counts, now)
    elif _readable(kind, record, counts):
        if record.voided:
            _void(kind, actor, source, record.external_id, "Voided", counts, now,
                  create_from=record)
        else:
            _upsert(kind, actor, source, record, counts, now)


def _readable(kind: Landing[R], record: R, counts: Counts) -> bool:
    """Whether the record lands (Y6): a problem is recorded and skips it; a ``line_problem``
    is recorded too, but the record still lands with its stored lines kept."""
    problem = kind.problem(record)
    if max(len(record.external_id), len(record.customer_external_id)) > MAX_EXTERNAL_ID:
        problem = (f"{kind.noun} {record.external_id[:60]}: its id or its customer's is "
                   f"longer than {MAX_EXTERNAL_ID} characters")
    elif len(record.number) > MAX_NUMBER:
        problem = (f"{kind.noun} {record.external_id} ({record.number[:20]}…): number longer "
                   f"than {MAX_NUMBER} characters")
    if problem:
        counts.errors.append({"external_id": record.external_id, "message": problem})
        return False
    if record.line_problem:
        counts.errors.append({"external_id": record.external_id,
                              "message": record.line_problem})
    return True


def _create(kind: Landing[R], actor: Actor, source: rules.Source, external_id: str,
            values: dict[str, Any], counts: Counts, now: datetime,
            lines: tuple[base.RemoteLine, ...] | None, *, issued: bool) -> NewRow:
    """A document the page creates (every new one of a kind has the same columns, as one
    bulk insert needs), with its lines."""
    docs = kind.documents(counts)
    row = kind.new_row(actor, source, external_id, values, now, issued=issued)
    docs.new_rows.append(row)
    docs.rows[external_id] = row
    docs.created += 1
    replace_lines(docs, row, lines)
    return row


def _upsert(kind: Landing[R], actor: Actor, source: rules.Source, r: R, counts: Counts,
            now: datetime) -> None:
    docs = kind.documents(counts)
    doc = docs.rows.get(r.external_id)
    values = kind.fields(r, sync_customers.customer(actor, source, r, counts, now))
    if doc is None:
        doc = _create(kind, actor, source, r.external_id, values, counts, now, r.lines,
                      issued=True)
        counts.events.append(audit.row(
            actor, f"{kind.entity}.sync_create", kind.entity, doc.id,
            {"source": source.value, "external_id": r.external_id, "status": values["status"]},
            at=now))
        return
    changed = {k: v for k, v in values.items() if getattr(doc, k) != v}
    for key, value in changed.items():
        setattr(doc, key, value)
    if replace_lines(docs, doc, r.lines):
        changed["lines"] = True
    if not changed:
        return
    kind.updated(doc, now)
    doc.updated_at = now
    docs.updated += 1
    counts.events.append(audit.row(
        actor, f"{kind.entity}.sync_update", kind.entity, doc.id,
        {"source": source.value, "changed": sorted(changed)}, at=now))


def _void(kind: Landing[R], actor: Actor, source: rules.Source, external_id: str, verb: str,
          counts: Counts, now: datetime, create_from: R | None = None) -> None:
    """Y4, Y9: voided or deleted at the source → void here, nothing used of it, with a
    reason naming the system. The total and lines stay as they were: QuickBooks Online
    zeroes a voided memo's or invoice's amounts and lines (docs/research/issue13-qbo-xero.md,
    "Voided invoice"); a void first seen with no amount is not shown at all."""
    reason = f"{verb} in {rules.SOURCE_NAMES[source]}"
    docs = kind.documents(counts)
    doc = docs.rows.get(external_id)
    void = {**kind.nothing_used(), "status": "void", "void_reason": reason, "voided_at": now}
    if doc is None:
        if create_from is None or create_from.total_minor <= 0:
            return  # never seen and nothing left to show: a void with no amount
        customer = sync_customers.customer(actor, source, create_from, counts, now)
        _create(kind, actor, source, external_id, {**kind.fields(create_from, customer),
                                                   **void}, counts, now, create_from.lines,
                issued=False)
        return
    if doc.status == "void":
        return
    for key, value in {**void, "updated_at": now}.items():
        setattr(doc, key, value)
    docs.voided += 1
    counts.events.append(audit.row(
        actor, f"{kind.entity}.sync_void", kind.entity, doc.id,
        {"source": source.value, "external_id": external_id, "reason": reason}, at=now))
