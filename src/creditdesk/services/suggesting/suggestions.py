"""Credit suggestions (G1-G3): refresh, list, accept (a draft memo), dismiss.

Refresh runs the detectors over each customer's history and keeps one row per evidence
key: an open suggestion is updated or removed when its evidence changes; an accepted or
dismissed one stays as it is, so a dismissal is never undone by a refresh (G3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import suggestions as rules
from creditdesk.domain.money import Money
from creditdesk.services.common import audit, gc_pause, pagination
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.credit_memos import memos
from creditdesk.services.read_models import views
from creditdesk.services.suggesting import service_history, suggestion_history

STATUSES = models.SUGGESTION_STATUSES
BATCH = 200  # customers loaded together by a partner-wide refresh


@dataclass(frozen=True)
class SuggestionView:
    id: str
    customer_id: str
    reason: str
    amount: Money
    invoice_id: str
    invoice_ids: list[str]
    confidence: float
    explanation: str
    status: str
    credit_memo_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def currency(self) -> str:
        return self.amount.currency


@dataclass(frozen=True)
class RefreshResult:
    customers: int
    created: int
    updated: int
    removed: int
    open: int


def view(row: models.Suggestion) -> SuggestionView:
    return SuggestionView(row.id, row.customer_id, row.reason,
                          Money(row.amount_minor, row.currency), row.invoice_id,
                          list(row.invoice_ids), row.confidence_bp / 10000, row.explanation,
                          row.status, row.credit_memo_id, row.created_at, row.updated_at)


@dataclass(frozen=True)
class Evidence:
    """What every customer's refresh is measured against, read once per refresh: other
    customers' prices (what a slip is measured against) and the partner's own calibration
    (what it accepted and dismissed so far)."""

    market: dict[str, dict[int, rules.PriceSeen]]
    feedback: dict[str, tuple[int, int]]
    # the list prices read from the market, built as the detectors first need them
    list_prices: dict[str, Any] = field(default_factory=dict)


BatchHook = Callable[[Session, list[str], list[int]], None]


def refresh(db: Database, *, actor: Actor, customer_id: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> RefreshResult:
    """Recompute one customer's suggestions, or every customer's of the partner (in the
    request; ``refresh_runs`` does the latter on the job system, with progress kept)."""
    ids = customer_ids(db, actor=actor, customer_id=customer_id)
    evidence = load_evidence(db, actor=actor, customer_id=customer_id)
    totals = [0, 0, 0, 0]
    for start in range(0, len(ids), BATCH):
        counts = refresh_batch(db, actor, ids[start:start + BATCH], evidence)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    result = RefreshResult(len(ids), *totals)
    with db.write() as session:
        record_refresh(session, actor, result, customer_id)
    return result


def customer_ids(db: Database, *, actor: Actor, customer_id: str | None = None,
                 after: str | None = None) -> list[str]:
    """The customers a refresh covers, in id order: ``customer_id`` alone (404 when not the
    partner's), else every customer of the partner (those after ``after``)."""
    with db.read() as session:
        if session.get(models.Partner, actor.partner_id) is None:
            raise errors.NotFound(f"No partner with id {actor.partner_id}.")
        if customer_id is not None:
            locks.get_scoped(session, models.Customer, actor.partner_id, customer_id)
            return [customer_id]
        stmt = select(models.Customer.id).where(models.Customer.partner_id == actor.partner_id)
        if after is not None:
            stmt = stmt.where(models.Customer.id > after)
        return list(session.scalars(stmt.order_by(models.Customer.id)))


def load_evidence(db: Database, *, actor: Actor, customer_id: str | None = None) -> Evidence:
    with db.read() as session:
        return Evidence(suggestion_history.load_market(session, actor.partner_id, customer_id),
                        suggestion_history.load_feedback(session, actor.partner_id))


def record_refresh(session: Session, actor: Actor, result: RefreshResult,
                   customer_id: str | None = None) -> None:
    """The audit entry of a refresh, one customer's or the whole partner's."""
    audit.record(session, actor, "suggestions.refresh",
                 "customer" if customer_id else "partner", customer_id or actor.partner_id,
                 {"customers": result.customers, "created": result.created,
                  "updated": result.updated, "removed": result.removed, "open": result.open})


def refresh_batch(db: Database, actor: Actor, ids: list[str], evidence: Evidence,
                  on_done: BatchHook | None = None) -> list[int]:
    """Recompute these customers' suggestions in one transaction: [created, updated,
    removed, open]. ``on_done`` runs in that transaction (a run's progress commits with the
    batch it counts)."""
    now = clock.now()
    created = updated = removed = still_open = 0
    with gc_pause.paused(), db.write() as session:
        customers = list(session.scalars(
            select(models.Customer).where(models.Customer.partner_id == actor.partner_id,
                                          models.Customer.id.in_(ids))
            .order_by(models.Customer.id).with_for_update()))
        catalogue = suggestion_history.load_catalogue(session, actor.partner_id)
        histories = suggestion_history.load_histories(session, actor.partner_id, customers,
                                                      catalogue, evidence.market,
                                                      evidence.feedback, evidence.list_prices)
        existing = {row.evidence_key: row for row in session.scalars(
            select(models.Suggestion).where(models.Suggestion.partner_id == actor.partner_id,
                                            models.Suggestion.customer_id.in_(ids)))}
        service = service_history.load(session, actor.partner_id, ids)  # G5
        seen: set[str] = set()
        new_rows: list[dict[str, object]] = []
        for history in histories:
            for s in rules.suggest(history) + service.suggest(history):
                seen.add(s.evidence_key)
                row = existing.get(s.evidence_key)
                if row is None:
                    new_rows.append(_new_row(actor, s, now))
                    created += 1
                    still_open += 1
                elif row.status == "open":
                    _update_row(row, s, now)
                    updated += 1
                    still_open += 1
        if new_rows:  # one multi-row insert: a first refresh can create thousands
            session.execute(insert(models.Suggestion), new_rows)
        stale = [row.id for key, row in existing.items()
                 if row.status == "open" and key not in seen]
        if stale:
            session.execute(delete(models.Suggestion).where(models.Suggestion.id.in_(stale)))
            removed = len(stale)
        counts = [created, updated, removed, still_open]
        if on_done is not None:
            on_done(session, ids, counts)
    return counts


def _fields(s: rules.Suggestion) -> dict[str, object]:
    return {"reason": s.reason, "amount_minor": s.amount_minor, "currency": s.currency,
            "invoice_id": s.invoice_id, "invoice_ids": list(s.invoice_ids),
            "confidence_bp": round(s.confidence * 10000), "explanation": s.explanation,
            "evidence": {"line_ids": list(s.line_ids),
                         "features": {k: round(v, 6) for k, v in s.features.items()}}}


def _new_row(actor: Actor, s: rules.Suggestion, now: datetime) -> dict[str, object]:
    return {"id": new_id("sug"), "partner_id": actor.partner_id, "customer_id": s.customer_id,
            "evidence_key": s.evidence_key, "status": "open", "credit_memo_id": None,
            "decided_by": None, "decided_at": None, "created_at": now, "updated_at": now,
            **_fields(s)}


def _update_row(row: models.Suggestion, s: rules.Suggestion, now: datetime) -> None:
    changed = False
    for name, value in _fields(s).items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.updated_at = now


def list_suggestions(db: Database, *, actor: Actor, customer_id: str | None = None,
                     status: str | None = None, limit: int = 50,
                     cursor: str | None = None) -> pagination.Page[SuggestionView]:
    sg = models.Suggestion
    stmt = select(sg).where(sg.partner_id == actor.partner_id)
    if status is not None:
        if status not in STATUSES:
            raise errors.ValidationError.for_field(
                "status", f"must be one of: {', '.join(STATUSES)}")
        stmt = stmt.where(sg.status == status)
    if customer_id:
        stmt = stmt.where(sg.customer_id == customer_id)
    with db.read() as session:
        return pagination.newest_first(session, stmt, sg.id, limit=limit, cursor=cursor,
                                       view=view)


def count_open(db: Database, *, actor: Actor) -> int:
    sg = models.Suggestion
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(sg).where(
            sg.partner_id == actor.partner_id, sg.status == "open")) or 0)


def get_suggestion(db: Database, *, actor: Actor, suggestion_id: str) -> SuggestionView:
    with db.read() as session:
        return view(locks.get_scoped(session, models.Suggestion, actor.partner_id,
                                     suggestion_id, label="suggestion"))


def _check_open(row: models.Suggestion, action: str) -> None:
    if row.status != "open":
        raise errors.InvalidState(
            f"This suggestion is already {row.status}; only open suggestions can be {action}.")


def accept(db: Database, *, actor: Actor,
           suggestion_id: str) -> tuple[views.MemoView, SuggestionView]:
    """G3: a draft memo with the suggestion's reason, amount, invoice and evidence; nothing
    is issued or applied."""
    s = get_suggestion(db, actor=actor, suggestion_id=suggestion_id)
    with db.write() as session:
        # Customer first (the lock order), then the suggestion: a second accept waits here
        # and then finds it decided, before any memo rule (C5) could refuse it differently.
        locks.lock_customer(session, actor.partner_id, s.customer_id)
        row = locks.get_scoped(session, models.Suggestion, actor.partner_id, suggestion_id,
                               lock=True, label="suggestion")
        _check_open(row, "accepted")
        amount = Money(row.amount_minor, row.currency)
        note = (f"Suggested by CreditDesk ({row.reason.replace('_', ' ')}, confidence "
                f"{row.confidence_bp / 10000:.2f}): {row.explanation}")
        memo = memos.create_in(session, actor=actor, customer_id=row.customer_id,
                               reason=row.reason, amount=amount.to_decimal(),
                               currency=row.currency, invoice_id=row.invoice_id,
                               notes=note[:memos.MAX_NOTES])
        row.status, row.credit_memo_id = "accepted", memo.id
        row.decided_by, row.decided_at = actor.name, clock.now()
        row.updated_at = row.decided_at
        audit.record(session, actor, "suggestion.accept", "suggestion", row.id,
                     {"credit_memo_id": memo.id, "reason": row.reason,
                      "amount": amount.to_str(), "currency": row.currency})
        return memo, view(row)


def dismiss(db: Database, *, actor: Actor, suggestion_id: str) -> SuggestionView:
    """G3: dismissed for good for the same evidence (refresh keeps the row as it is)."""
    with db.write() as session:
        row = locks.get_scoped(session, models.Suggestion, actor.partner_id, suggestion_id,
                               lock=True, label="suggestion")
        _check_open(row, "dismissed")
        row.status, row.decided_by, row.decided_at = "dismissed", actor.name, clock.now()
        row.updated_at = row.decided_at
        audit.record(session, actor, "suggestion.dismiss", "suggestion", row.id,
                     {"reason": row.reason})
        return view(row)
