"""Refunding a memo's remaining credit and voiding a refund (R1, R2).

A refund uses credit as an application does, only the money goes back to the customer
instead of onto an invoice: the memo's used amount (``applied_minor``) and its refunded part
(``refunded_minor``) grow by it, its status follows (L3: fully refunded -> ``applied``), and
Dr Accounts Receivable / Cr Cash is posted (J2: AR rises by what the remaining credit
falls). Voiding a refund reverses all three. One transaction each; the memo's customer is
locked first, then the memo (``db/locks.py``), so a refund and an application of the same
memo are serialised and the remaining credit is never over-consumed (A6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors, journal, money
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import refund as rules
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.credit_memos import memos
from creditdesk.services.events import outbox
from creditdesk.services.read_models import views

SOURCE_TYPE = "refund"  # the journal's source_type of a refund's entries


@dataclass(frozen=True)
class Refunded:
    """The refund (recorded or voided) and the memo right after it, read in the change's
    own transaction."""

    refund: views.RefundView
    credit_memo: views.MemoView


def refund_memo(db: Database, *, actor: Actor, memo_id: str, amount: object, method: object,
                refunded_at: object = None, reference: object = None,
                refund_id: str | None = None) -> Refunded:
    """R1: refund ``amount`` of the memo's remaining credit to the customer.

    ``refund_id``: the new refund's id, when the caller needs to know it beforehand (the
    preview reads the journal rows written for it)."""
    chosen = rules.parse_method(method)
    note = rules.parse_reference(reference)
    now = clock.now()
    day = rules.parse_refunded_at(refunded_at, now.date())
    with db.write() as session:
        memo = memos._lock_memo(session, actor, memo_id)
        rules.check_refundable(status=memo_rules.MemoStatus(memo.status),
                               source=memo_rules.Source(memo.source), number=memo.number)
        try:
            credit = Money.parse_positive(amount, memo.currency)
        except money.MoneyError as exc:
            raise errors.ValidationError.for_field("amount", str(exc)) from None
        rules.check_refund_cap(
            amount=credit, memo_remaining=Money(memo.total_minor - memo.applied_minor,
                                                memo.currency),
            memo_number=memo.number)
        row = models.Refund(
            id=refund_id or new_id("rf"), partner_id=actor.partner_id, credit_memo_id=memo.id,
            amount_minor=credit.minor, currency=memo.currency, method=chosen.value,
            refunded_at=day, reference=note, created_at=now, created_by=actor.name)
        session.add(row)
        _use(memo, credit.minor, now)
        ledger.post(session, actor.partner_id, journal.refund_recorded(credit, memo.number),
                    entry_date=day, source_type=SOURCE_TYPE, source_id=row.id)
        audit.record(session, actor, "credit_memo.refund", "credit_memo", memo.id,
                     {"number": memo.number, "refund_id": row.id, "amount": credit.to_str(),
                      "currency": credit.currency, "method": chosen.value,
                      "refunded_at": day.isoformat(), "reference": note})
        answer = _answer(session, memo, row)
        outbox.emit(session, actor.partner_id, "credit_memo.refunded",
                    {"refund": answer.refund, "credit_memo": answer.credit_memo})  # D5
        return answer


def void_refund(db: Database, *, actor: Actor, memo_id: str, refund_id: str) -> Refunded:
    """R2: take a refund back: the reversing entry is posted and its credit returns to the
    memo, whose status rolls back (issued or partially applied)."""
    now = clock.now()
    with db.write() as session:
        memo = memos._lock_memo(session, actor, memo_id)
        row = session.scalars(select(models.Refund).where(
            models.Refund.id == locks.checked_id(models.Refund, refund_id, "refund"),
            models.Refund.partner_id == actor.partner_id,
            models.Refund.credit_memo_id == memo.id).with_for_update()).one_or_none()
        if row is None:
            raise errors.NotFound(f"Credit memo {memo.number} has no refund {refund_id}.")
        rules.check_voidable(voided=row.voided_at is not None,
                             memo_status=memo_rules.MemoStatus(memo.status),
                             memo_number=memo.number, source=memo_rules.Source(memo.source))
        row.voided_at, row.voided_by = now, actor.name
        _use(memo, -row.amount_minor, now)
        amount = Money(row.amount_minor, row.currency)
        ledger.post(session, actor.partner_id, journal.refund_voided(amount, memo.number),
                    entry_date=now.date(), source_type=SOURCE_TYPE, source_id=row.id)
        audit.record(session, actor, "credit_memo.refund_void", "credit_memo", memo.id,
                     {"number": memo.number, "refund_id": row.id, "amount": amount.to_str(),
                      "currency": amount.currency, "method": row.method,
                      "refunded_at": row.refunded_at.isoformat(), "reference": row.reference})
        return _answer(session, memo, row)


def _use(memo: models.CreditMemo, delta_minor: int, now: datetime) -> None:
    """Move ``delta_minor`` (negative to give back) between the memo's remaining credit and
    its refunded part; the status follows the credit used (L3, U2)."""
    memo.applied_minor += delta_minor
    memo.refunded_minor += delta_minor
    status = memo_rules.status_for_amounts(total_minor=memo.total_minor,
                                           applied_minor=memo.applied_minor)
    memo.status = status.value
    memo.applied_at = now if status is memo_rules.MemoStatus.APPLIED else None
    memo.updated_at = now


def _answer(session: Session, memo: models.CreditMemo, row: models.Refund) -> Refunded:
    session.flush()
    session.expire(memo, ["refunds"])  # read again with this change's row
    return Refunded(views.refund_view(row), views.memo_view(memo))
