"""Landing one synced record (Y3-Y6): upsert by (partner, source, external_id), status from
the remaining credit the system reports, customer found by its reference (Y10: the system's
customer id), else linked by the same billing email, else created, and the memo's lines
replaced by the ones the system reports (read-only, like the memo).

Everything is per page (B6): ``prefetch`` loads the page's customers, memos and their
stored lines with one query each; ``land`` decides in memory; ``flush`` writes the page.
Rows the page creates (customers, memos, lines, audit events) are plain values written
with one ``bulk.insert_rows`` per table (COPY on PostgreSQL, an executemany elsewhere):
building an ORM object and flushing it through the unit of work cost more than the rest of
landing a first sync. Only memos that exist are ORM
objects, changed in place and flushed as updates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import bulk, models
from creditdesk.domain import memo as rules
from creditdesk.services.common import audit, dml
from creditdesk.services.common.context import Actor, new_id
from creditdesk.services.customer_accounts import customer_sources

MAX_NUMBER = 60  # credit_memos.number
MAX_EXTERNAL_ID = 255  # credit_memos.external_id, customers.external_id (PostgreSQL refuses more)
MAX_NAME = 200


class NewRow(dict[str, Any]):
    """The column values of a row the page inserts, read and changed as attributes (like the
    ORM objects of existing memos), so a memo created and then changed in one page is
    handled by the same code as any other."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


Memo = models.CreditMemo | NewRow


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    voided: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # The page's customers (their ids) and their references (ids) by the system's customer
    # id, the customers a new reference may join by email (Y10: (lower-case email,
    # currency) → customer id), and memos by external id, loaded (and locked) once per page
    # by ``prefetch``; rows created while landing the page are added as they are made.
    customers: dict[str, str] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    by_email: dict[tuple[str, str], str] = field(default_factory=dict)
    memos: dict[str, Memo] = field(default_factory=dict)
    # Stored lines by memo id (as comparable tuples), and the page's pending line writes:
    # memos whose stored lines go, and the rows that replace them.
    lines: dict[str, tuple[LineKey, ...]] = field(default_factory=dict)
    drop_lines: set[str] = field(default_factory=set)
    new_lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Rows to insert, in this order: customers before the memos that name them.
    new_customers: list[dict[str, Any]] = field(default_factory=list)
    new_references: list[dict[str, Any]] = field(default_factory=list)
    new_memos: list[NewRow] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


LineKey = tuple[str, str | None, int | None, int]  # description, quantity, unit price, amount


def _key(line: base.RemoteLine) -> LineKey:
    return (line.description, line.quantity, line.unit_price_minor, line.amount_minor)


def prefetch(session: Session, partner_id: str, source: rules.Source,
             records: list[base.Record], counts: Counts) -> None:
    """One locking query for the page's customers, then one for its memos (customer rows
    first, as every use case locks them), instead of two queries per record. The customers
    are the ones the page's references name, and those a new reference may join by email.

    Memos are locked in external-id order, the order of the unique index (partner, source,
    external_id) that finds them: in id order SQLite walked every memo of the partner and
    source on each page instead (``ix_credit_memos_partner_source``, to skip a sort), which
    made a first sync of 100,000 memos quadratic (B6). No other statement locks several
    memos, so this fixed order is as deadlock-free as id order was."""
    cm = models.CreditMemo
    remote = [r for r in records if isinstance(r, base.RemoteMemo)]
    memo_ids = sorted({r.external_id for r in records
                       if isinstance(r, base.RemoteMemo | base.Deleted)})
    if remote:
        _prefetch_customers(session, partner_id, source, remote, counts)
    if memo_ids:
        counts.memos.update((row.external_id or "", row) for row in session.scalars(
            select(cm).where(cm.partner_id == partner_id, cm.source == source.value,
                             cm.external_id.in_(memo_ids)).order_by(cm.external_id).with_for_update()))
    with_lines = {r.external_id for r in records
                  if isinstance(r, base.RemoteMemo) and r.lines is not None}
    known = sorted(m.id for ext, m in counts.memos.items() if ext in with_lines)
    if known:  # one query for the stored lines of the page's existing memos
        line = models.CreditMemoLine
        stored: dict[str, list[LineKey]] = {}
        for row in session.execute(
                select(line.credit_memo_id, line.description, line.reported_quantity,
                       line.unit_price_minor, line.amount_minor)
                .where(line.credit_memo_id.in_(known))
                .order_by(line.credit_memo_id, line.position)):
            stored.setdefault(row[0], []).append((row[1], row[2], row[3], row[4]))
        counts.lines.update((memo_id, tuple(stored.get(memo_id, ()))) for memo_id in known)


def _references(session: Session, partner_id: str, source: rules.Source,
                external_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The system's customer id → (reference id, customer id) of those already known."""
    ref = models.CustomerReference
    return {ext: (ref_id, customer_id) for ext, ref_id, customer_id in session.execute(
        select(ref.external_id, ref.id, ref.customer_id).where(
            ref.partner_id == partner_id, ref.system == source.value,
            ref.external_id.in_(external_ids)))}


def _prefetch_customers(session: Session, partner_id: str, source: rules.Source,
                        remote: list[base.RemoteMemo], counts: Counts) -> None:
    """Y10: the page's known references, and for the unknown ones the customers with the
    same billing email and currency (the rule stated on the customer pages); all their
    rows locked in id order, then the references read again under those locks (a merge or
    an unlink that committed meanwhile moved them)."""
    c = models.Customer
    external_ids = sorted({r.customer_external_id for r in remote})
    known = _references(session, partner_id, source, external_ids)
    emails = sorted({r.customer_email.strip().lower() for r in remote
                     if r.customer_email and r.customer_email.strip()
                     and r.customer_external_id not in known})
    candidates: list[tuple[str, str, str]] = []
    if emails:
        candidates = [(id_, email, currency) for id_, email, currency in session.execute(
            select(c.id, func.lower(c.email), c.currency).where(
                c.partner_id == partner_id, func.lower(c.email).in_(emails)))]
    wanted = {customer_id for _, customer_id in known.values()} | {x[0] for x in candidates}
    locked = _lock_customers(session, partner_id, wanted)
    known = _references(session, partner_id, source, external_ids)
    moved = {customer_id for _, customer_id in known.values()} - locked
    if moved:  # rare: taken after the others, out of order (a deadlock fails the page: Y6)
        _lock_customers(session, partner_id, moved)
    for ext, (ref_id, customer_id) in known.items():
        counts.customers[ext], counts.references[ext] = customer_id, ref_id
    for id_, email, currency in sorted(candidates, reverse=True):  # the oldest one wins
        if id_ in locked:
            counts.by_email[(email, currency)] = id_


def _lock_customers(session: Session, partner_id: str, ids: set[str]) -> set[str]:
    """Lock the partner's customers among ``ids`` in id order; the ids still there."""
    if not ids:
        return set()
    c = models.Customer
    return set(session.scalars(select(c.id).where(c.partner_id == partner_id,
                                                  c.id.in_(sorted(ids)))
                               .order_by(c.id).with_for_update()))


def land(actor: Actor, source: rules.Source, record: base.Record, counts: Counts,
         now: datetime) -> None:
    """Land one record of a page whose rows ``prefetch`` loaded into ``counts`` (nothing is
    written until ``flush``)."""
    if isinstance(record, base.BadRecord):
        counts.errors.append({"external_id": record.external_id, "message": record.message})
    elif isinstance(record, base.Deleted):
        _void(actor, source, record.external_id, "Deleted", counts, now)
    else:
        problem = _check(record)
        if problem:
            counts.errors.append({"external_id": record.external_id, "message": problem})
            return
        if record.line_problem:  # the memo still lands; its stored lines are kept
            counts.errors.append({"external_id": record.external_id,
                                  "message": record.line_problem})
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


def _customer(actor: Actor, source: rules.Source, r: base.RemoteMemo, counts: Counts,
              now: datetime) -> tuple[str, str]:
    """Y5, Y10: the customer holding a reference to the system's customer id; else, for an
    unknown id, the customer with the same billing email and currency
    (``customer_sources.EMAIL_RULE``), else one created from the synced data. Returns the
    customer's id and the reference's."""
    ext = r.customer_external_id
    customer_id = counts.customers.get(ext)
    if customer_id is not None:
        return customer_id, counts.references[ext]
    name = r.customer_name.strip()[:MAX_NAME] or ext
    email = (r.customer_email or "").strip() or None
    key = (email.lower(), r.currency) if email else None
    ref_id, match = new_id("ref"), counts.by_email.get(key) if key else None
    if match is not None:
        customer_id, linked_by = match, "email_rule"
        counts.events.append(audit.row(
            actor, "customer.sync_link", "customer", customer_id,
            {"source": source.value, "external_id": ext, "name": name,
             "rule": customer_sources.EMAIL_RULE}, at=now))
    else:
        customer_id, linked_by = new_id("cus"), "sync"
        counts.new_customers.append({
            "id": customer_id, "partner_id": actor.partner_id, "name": name,
            "email": email, "currency": r.currency, "created_at": now, "updated_at": now})
        if key:
            counts.by_email[key] = customer_id
        counts.events.append(audit.row(
            actor, "customer.sync_create", "customer", customer_id,
            {"source": source.value, "external_id": ext, "name": name}, at=now))
    counts.new_references.append({
        "id": ref_id, "partner_id": actor.partner_id, "customer_id": customer_id,
        "system": source.value, "external_id": ext, "name": name, "email": email,
        "linked_by": linked_by, "linked_at": now})
    counts.customers[ext], counts.references[ext] = customer_id, ref_id
    return customer_id, ref_id


def _new_memo(actor: Actor, source: rules.Source, external_id: str, values: dict[str, Any],
              counts: Counts, now: datetime, *, issued: bool) -> NewRow:
    """A memo the page creates (every new memo has the same columns, as one bulk insert
    needs)."""
    memo = NewRow(
        id=new_id("cm"), partner_id=actor.partner_id, reason=rules.Reason.OTHER.value,
        source=source.value, external_id=external_id, issued_at=now if issued else None,
        applied_at=now if values["status"] == "applied" else None,
        created_at=now, updated_at=now, **values)
    counts.new_memos.append(memo)
    counts.memos[external_id] = memo
    counts.created += 1
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
    memo = counts.memos.get(r.external_id)
    values = _fields(r, _customer(actor, source, r, counts, now))
    if memo is None:
        memo = _new_memo(actor, source, r.external_id, values, counts, now, issued=True)
        _replace_lines(memo, r, counts)
        counts.events.append(audit.row(
            actor, "credit_memo.sync_create", "credit_memo", memo.id,
            {"source": source.value, "external_id": r.external_id, "status": values["status"]},
            at=now))
        return
    changed: dict[str, Any] = {k: v for k, v in values.items() if getattr(memo, k) != v}
    if _replace_lines(memo, r, counts):
        changed["lines"] = True
    if not changed:
        return
    for key, value in changed.items():
        if key != "lines":
            setattr(memo, key, value)
    memo.applied_at = (memo.applied_at or now) if memo.status == "applied" else None
    memo.updated_at = now
    counts.updated += 1
    counts.events.append(audit.row(
        actor, "credit_memo.sync_update", "credit_memo", memo.id,
        {"source": source.value, "changed": sorted(changed)}, at=now))


def _void(actor: Actor, source: rules.Source, external_id: str, verb: str, counts: Counts,
          now: datetime, create_from: base.RemoteMemo | None = None) -> None:
    """Y4: voided or deleted at the source → void here, with a reason naming the system."""
    reason = f"{verb} in {rules.SOURCE_NAMES[source]}"
    memo = counts.memos.get(external_id)
    if memo is None:
        if create_from is None or create_from.total_minor <= 0:
            return  # never seen and nothing left to show: a void with no amount
        values = {**_fields(create_from, _customer(actor, source, create_from, counts, now)),
                  "applied_minor": 0, "refunded_minor": 0, "status": "void",
                  "void_reason": reason, "voided_at": now}
        memo = _new_memo(actor, source, external_id, values, counts, now, issued=False)
        _replace_lines(memo, create_from, counts)
        return
    if memo.status == "void":
        return
    # The lines stay as they were: a voided memo keeps its total here, while the system
    # may zero its lines (QuickBooks does).
    memo.status, memo.applied_minor, memo.applied_at = "void", 0, None
    memo.refunded_minor = 0
    memo.void_reason, memo.voided_at, memo.updated_at = reason, now, now
    counts.voided += 1
    counts.events.append(audit.row(
        actor, "credit_memo.sync_void", "credit_memo", memo.id,
        {"source": source.value, "external_id": external_id, "reason": reason}, at=now))


def _replace_lines(memo: Memo, r: base.RemoteMemo, counts: Counts) -> bool:
    """Queue the memo's lines to become the ones the system reports; False when it reports
    none (``lines`` None) or the same ones (compared with the prefetched stored lines)."""
    if r.lines is None:
        return False
    wanted = tuple(_key(li) for li in r.lines)
    if counts.lines.get(memo.id, ()) == wanted:
        return False
    if counts.lines.get(memo.id):
        counts.drop_lines.add(memo.id)
    counts.lines[memo.id] = wanted
    # keyed by memo: a memo landed twice in one page keeps only its last lines
    counts.new_lines[memo.id] = [
        {"id": new_id("cml"), "partner_id": memo.partner_id, "credit_memo_id": memo.id,
         "position": i, "description": li.description, "reported_quantity": li.quantity,
         "unit_price_minor": li.unit_price_minor, "amount_minor": li.amount_minor,
         "synced": True}  # quantity and variant_id: NULL, as a synced line has them
        for i, li in enumerate(r.lines)]
    return True


def flush(session: Session, counts: Counts) -> None:
    """Write the page: its new customers and references; the changes to existing memos
    (the unit of work, after the customers they may now name); its new memos; one DELETE
    of the replaced memos' lines and the rows replacing them; its audit events. Each insert
    is one ``bulk.insert_rows`` of plain values."""
    conn = session.connection()
    bulk.insert_rows(conn, dml.table(models.Customer), counts.new_customers)
    bulk.insert_rows(conn, dml.table(models.CustomerReference), counts.new_references)
    session.flush()
    bulk.insert_rows(conn, dml.table(models.CreditMemo), counts.new_memos)
    if counts.drop_lines:
        line = models.CreditMemoLine
        session.execute(delete(line).where(line.credit_memo_id.in_(sorted(counts.drop_lines)))
                        .execution_options(synchronize_session=False))
    bulk.insert_rows(conn, dml.table(models.CreditMemoLine),
                     [row for memo_rows in counts.new_lines.values() for row in memo_rows])
    bulk.insert_rows(conn, dml.table(models.AuditEvent), counts.events)
    for pending in (counts.new_customers, counts.new_references, counts.new_memos,
                    counts.events):
        pending.clear()
    counts.drop_lines.clear()
    counts.new_lines.clear()

