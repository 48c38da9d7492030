"""Landing one synced record (Y3-Y6): upsert by (partner, source, external_id), status from
the remaining credit the system reports, customer matched by its id or created."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.domain import memo as rules
from creditdesk.services import audit
from creditdesk.services.context import Actor, new_id

MAX_NUMBER = 60  # credit_memos.number
MAX_NAME = 200


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    voided: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # The page's existing rows by external id, loaded (and locked) once per page by
    # ``prefetch``; rows created while landing the page are added as they are made.
    customers: dict[str, models.Customer] = field(default_factory=dict)
    memos: dict[str, models.CreditMemo] = field(default_factory=dict)


def prefetch(session: Session, partner_id: str, source: rules.Source,
             records: list[base.Record], counts: Counts) -> None:
    """One locking query for the page's customers, then one for its memos (customer rows
    first, as every use case locks them), instead of two queries per record."""
    c, cm = models.Customer, models.CreditMemo
    customer_ids = sorted({r.customer_external_id for r in records
                           if isinstance(r, base.RemoteMemo)})
    memo_ids = sorted({r.external_id for r in records
                       if isinstance(r, base.RemoteMemo | base.Deleted)})
    if customer_ids:
        counts.customers.update((row.external_id or "", row) for row in session.scalars(
            select(c).where(c.partner_id == partner_id, c.external_source == source.value,
                            c.external_id.in_(customer_ids)).order_by(c.id).with_for_update()))
    if memo_ids:
        counts.memos.update((row.external_id or "", row) for row in session.scalars(
            select(cm).where(cm.partner_id == partner_id, cm.source == source.value,
                             cm.external_id.in_(memo_ids)).order_by(cm.id).with_for_update()))


def land(session: Session, actor: Actor, source: rules.Source, record: base.Record,
         counts: Counts, now: datetime) -> None:
    """Land one record of a page whose rows ``prefetch`` loaded into ``counts``."""
    if isinstance(record, base.BadRecord):
        counts.errors.append({"external_id": record.external_id, "message": record.message})
    elif isinstance(record, base.Deleted):
        _void(session, actor, source, record.external_id, "Deleted", counts, now)
    else:
        problem = _check(record)
        if problem:
            counts.errors.append({"external_id": record.external_id, "message": problem})
        elif record.voided:
            _void(session, actor, source, record.external_id, "Voided", counts, now,
                  create_from=record)
        else:
            _upsert(session, actor, source, record, counts, now)


def _check(r: base.RemoteMemo) -> str | None:
    if len(r.number) > MAX_NUMBER:
        return f"credit memo {r.external_id}: number longer than {MAX_NUMBER} characters"
    if r.total_minor <= 0 and not r.voided:
        return f"credit memo {r.external_id}: total must be greater than zero"
    return None


def _customer(session: Session, actor: Actor, source: rules.Source, r: base.RemoteMemo,
              counts: Counts, now: datetime) -> models.Customer:
    """Y5: matched by the accounting system's customer id, else created from the synced data."""
    row = counts.customers.get(r.customer_external_id)
    if row is None:
        row = models.Customer(
            id=new_id("cus"), partner_id=actor.partner_id,
            name=r.customer_name.strip()[:MAX_NAME] or r.customer_external_id,
            email=r.customer_email, currency=r.currency, external_source=source.value,
            external_id=r.customer_external_id, created_at=now, updated_at=now)
        session.add(row)
        session.flush()  # before its memos: no ORM relationship orders the two inserts
        counts.customers[r.customer_external_id] = row
        audit.record(session, actor, "customer.sync_create", "customer", row.id,
                     {"source": source.value, "external_id": r.customer_external_id})
    return row


def _fields(r: base.RemoteMemo, customer_id: str) -> dict[str, Any]:
    """Y4: remaining = total → issued; 0 < remaining < total → partially applied; 0 → applied."""
    applied = r.total_minor - r.remaining_minor
    status = rules.status_for_amounts(total_minor=r.total_minor, applied_minor=applied)
    return {"customer_id": customer_id, "number": r.number, "currency": r.currency,
            "issue_date": r.issue_date, "total_minor": r.total_minor, "applied_minor": applied,
            "status": status.value, "void_reason": None, "voided_at": None}


def _upsert(session: Session, actor: Actor, source: rules.Source, r: base.RemoteMemo,
            counts: Counts, now: datetime) -> None:
    customer = _customer(session, actor, source, r, counts, now)
    memo = counts.memos.get(r.external_id)
    values = _fields(r, customer.id)
    if memo is None:
        memo = models.CreditMemo(
            id=new_id("cm"), partner_id=actor.partner_id, reason=rules.Reason.OTHER.value,
            source=source.value, external_id=r.external_id, issued_at=now,
            applied_at=now if values["status"] == "applied" else None,
            created_at=now, updated_at=now, **values)
        session.add(memo)
        counts.memos[r.external_id] = memo
        counts.created += 1
        audit.record(session, actor, "credit_memo.sync_create", "credit_memo", memo.id,
                     {"source": source.value, "external_id": r.external_id,
                      "status": values["status"]})
        return
    changed = {k: v for k, v in values.items() if getattr(memo, k) != v}
    if not changed:
        return
    for key, value in changed.items():
        setattr(memo, key, value)
    memo.applied_at = (memo.applied_at or now) if memo.status == "applied" else None
    memo.updated_at = now
    counts.updated += 1
    audit.record(session, actor, "credit_memo.sync_update", "credit_memo", memo.id,
                 {"source": source.value, "changed": sorted(changed)})


def _void(session: Session, actor: Actor, source: rules.Source, external_id: str, verb: str,
          counts: Counts, now: datetime, create_from: base.RemoteMemo | None = None) -> None:
    """Y4: voided or deleted at the source → void here, with a reason naming the system."""
    reason = f"{verb} in {rules.SOURCE_NAMES[source]}"
    memo = counts.memos.get(external_id)
    if memo is None:
        if create_from is None or create_from.total_minor <= 0:
            return  # never seen and nothing left to show: a void with no amount
        customer = _customer(session, actor, source, create_from, counts, now)
        values = {**_fields(create_from, customer.id), "applied_minor": 0, "status": "void",
                  "void_reason": reason, "voided_at": now}
        memo = models.CreditMemo(
            id=new_id("cm"), partner_id=actor.partner_id, reason=rules.Reason.OTHER.value,
            source=source.value, external_id=external_id, created_at=now, updated_at=now,
            **values)
        session.add(memo)
        counts.memos[external_id] = memo
        counts.created += 1
        return
    if memo.status == "void":
        return
    memo.status, memo.applied_minor, memo.applied_at = "void", 0, None
    memo.void_reason, memo.voided_at, memo.updated_at = reason, now, now
    counts.voided += 1
    audit.record(session, actor, "credit_memo.sync_void", "credit_memo", memo.id,
                 {"source": source.value, "external_id": external_id, "reason": reason})
