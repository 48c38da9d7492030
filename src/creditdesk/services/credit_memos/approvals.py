"""Approvals (AP1): the partner's thresholds per currency, and approval requests of draft
memos: request, approve, reject, withdraw (on edit), and the check issuing makes.

Every change to a memo's requests holds the memo's lock (customer, then memo, as
``memos._lock_memo``) and only then reads or writes its requests, so an approval and an edit of the
same draft, or two approvals, are serialised: an edit after an approval withdraws it, an
approval after an edit finds the request withdrawn, and a second approval finds it decided.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from creditdesk.db import document_statements as docs
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import approval as rules
from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money, MoneyError, check_currency
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id, require_admin
from creditdesk.services.read_models import views
from creditdesk.services.read_models.views import ApprovalView

_R = models.ApprovalRequest
_T = models.ApprovalThreshold


@dataclass(frozen=True)
class Threshold:
    currency: str
    amount: Money


@dataclass(frozen=True)
class Settings:
    thresholds: list[Threshold]



def _settings(session: Session, partner_id: str) -> Settings:
    rows = session.scalars(select(_T).where(_T.partner_id == partner_id).order_by(_T.currency))
    return Settings([Threshold(r.currency, Money(r.amount_minor, r.currency)) for r in rows])


def get_settings(db: Database, *, actor: Actor) -> Settings:
    """The partner's thresholds, by currency (none: no memo needs an approval)."""
    with db.read() as session:
        return _settings(session, actor.partner_id)


def replace_settings(db: Database, *, actor: Actor, thresholds: object) -> Settings:
    """AP1's thresholds as a whole (administrators only): what is not listed has none."""
    require_admin(actor, "change approval thresholds")
    wanted = rules.parse_thresholds(thresholds)
    return _save(db, actor, lambda _now: wanted)


def change_threshold(db: Database, *, actor: Actor, currency: object,
                     amount: object | None) -> Settings:
    """One currency's threshold set (or, with no ``amount``, removed); the others kept."""
    require_admin(actor, "change approval thresholds")
    try:
        cur = check_currency(currency.strip().upper() if isinstance(currency, str) else currency)
    except MoneyError as exc:
        raise errors.ValidationError.for_field("currency", str(exc)) from None
    value: Money | None = None
    if amount is not None:
        try:
            value = Money.parse_positive(amount.strip() if isinstance(amount, str) else amount,
                                         cur)
        except MoneyError as exc:
            raise errors.ValidationError.for_field("amount", str(exc)) from None

    def changed(now: dict[str, Money]) -> dict[str, Money]:
        out = {c: m for c, m in now.items() if c != cur}
        return out if value is None else {**out, cur: value}

    return _save(db, actor, changed)


def _save(db: Database, actor: Actor,
          change: Callable[[dict[str, Money]], dict[str, Money]]) -> Settings:
    now = clock.now()
    with db.write() as session:
        # the partner's row first: two changes at once end as one after the other, whole
        session.execute(select(models.Partner.id).where(models.Partner.id == actor.partner_id)
                        .with_for_update(key_share=True))
        current = {t.currency: t.amount for t in _settings(session, actor.partner_id).thresholds}
        wanted = change(current)
        before = {c: m.to_str() for c, m in sorted(current.items())}
        after = {c: m.to_str() for c, m in sorted(wanted.items())}
        session.execute(delete(_T).where(_T.partner_id == actor.partner_id))
        session.add_all(_T(partner_id=actor.partner_id, currency=c, amount_minor=m.minor,
                           updated_at=now) for c, m in sorted(wanted.items()))
        if before != after:
            audit.record(session, actor, "settings.approvals", "partner", actor.partner_id,
                         {"from": before, "to": after})
        session.flush()
        return _settings(session, actor.partner_id)


def threshold_of(session: Session, partner_id: str, currency: str) -> Money | None:
    minor = session.scalar(select(_T.amount_minor).where(_T.partner_id == partner_id,
                                                         _T.currency == currency))
    return None if minor is None else Money(minor, currency)


# --- requests ---------------------------------------------------------------------------


def _view(row: models.ApprovalRequest, number: str) -> ApprovalView:
    return ApprovalView(row.id, row.credit_memo_id, number, row.status,
                        Money(row.total_minor, row.currency), row.currency, row.requested_by,
                        row.request_comment, row.requested_at, row.decided_by,
                        row.decision_comment, row.decided_at, row.requested_by_user_id)


def _latest(session: Session, memo_id: str) -> models.ApprovalRequest | None:
    return session.scalars(select(_R).where(_R.credit_memo_id == memo_id)
                           .order_by(_R.requested_at.desc(), _R.id.desc()).limit(1)).first()


def _open(session: Session, memo_id: str) -> models.ApprovalRequest | None:
    return session.scalars(select(_R).where(
        _R.credit_memo_id == memo_id, _R.status.in_([s.value for s in rules.OPEN]))).first()


def _lock_memo(session: Session, actor: Actor, memo_id: object) -> models.CreditMemo:
    """``memos._lock_memo``'s order: the memo's customer, then the memo."""
    locks.lock_owner(session, actor.partner_id, models.CreditMemo, memo_id)
    return locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id, lock=True)


def _check_draft(memo: models.CreditMemo) -> None:
    if memo.source != memo_rules.Source.NATIVE:
        raise errors.ReadOnly(f"Credit memo {memo.number} is kept in the partner's accounting "
                              "system; it is not issued here, so it needs no approval.")
    if memo.status != memo_rules.MemoStatus.DRAFT:
        raise errors.InvalidState(f"Credit memo {memo.number} is {memo.status}; only a draft "
                                  "is approved before it is issued.")


def request_approval(db: Database, *, actor: Actor, memo_id: str,
                     comment: object = None) -> ApprovalView:
    """Anyone of the partner asks for a draft to be approved (one open request per memo)."""
    text = rules.parse_comment(comment, required=False)
    now = clock.now()
    with db.write() as session:
        memo = _lock_memo(session, actor, memo_id)
        _check_draft(memo)
        existing = _open(session, memo.id)
        if existing is not None:
            raise errors.InvalidState(
                f"Credit memo {memo.number} already has an approval request that is "
                f"{existing.status}; there is nothing more to ask.")
        row = _R(id=new_id("apr"), partner_id=actor.partner_id, credit_memo_id=memo.id,
                 status=rules.RequestStatus.PENDING.value, total_minor=memo.total_minor,
                 currency=memo.currency, requested_by=actor.name,
                 requested_by_user_id=actor.user_id, request_comment=text, requested_at=now)
        session.add(row)
        session.flush()
        audit.record(session, actor, "approval_request.create", "credit_memo", memo.id,
                     {"number": memo.number, "request_id": row.id,
                      "total": Money(memo.total_minor, memo.currency).to_str(),
                      "currency": memo.currency, "comment": text})
        return _view(row, memo.number)


def _memo_of(db: Database, actor: Actor, request_id: object) -> str:
    """The memo of one of the partner's requests (NotFound for another partner's)."""
    with db.read() as session:
        found = session.scalar(select(_R.credit_memo_id).where(
            _R.id == locks.checked_id(_R, request_id, "approval request"),
            _R.partner_id == actor.partner_id))
    if found is None:
        raise locks.not_found(_R, request_id, "approval request")
    return found


def _decide(db: Database, actor: Actor, request_id: object, *, to: rules.RequestStatus,
            comment: object) -> ApprovalView:
    found = _memo_of(db, actor, request_id)  # an unknown request: 404 before the comment
    comment = rules.parse_comment(comment, required=to == rules.RequestStatus.REJECTED)
    now = clock.now()
    with db.write() as session:
        memo = _lock_memo(session, actor, found)
        row = session.get(_R, request_id, populate_existing=True)
        if row is None:  # the draft was deleted meanwhile (its requests with it)
            raise locks.not_found(_R, request_id, "approval request")
        rules.check_decider(rules.Decider(actor.user_id, actor.role),
                            requested_by_user_id=row.requested_by_user_id)
        rules.check_pending(rules.RequestStatus(row.status))
        _check_draft(memo)
        row.status, row.decided_by, row.decided_by_user_id = to.value, actor.name, actor.user_id
        row.decision_comment, row.decided_at = comment, now
        action = "approve" if to == rules.RequestStatus.APPROVED else "reject"
        audit.record(session, actor, f"approval_request.{action}", "credit_memo", memo.id,
                     {"number": memo.number, "request_id": row.id,
                      "total": Money(row.total_minor, row.currency).to_str(),
                      "currency": row.currency, "requested_by": row.requested_by,
                      "comment": comment})
        return _view(row, memo.number)


def approve(db: Database, *, actor: Actor, request_id: object,
            comment: object = None) -> ApprovalView:
    """AP1: an administrator other than the one who asked approves (a comment optional)."""
    return _decide(db, actor, request_id, to=rules.RequestStatus.APPROVED, comment=comment)


def reject(db: Database, *, actor: Actor, request_id: object, comment: object) -> ApprovalView:
    """AP1: an administrator other than the one who asked rejects, saying why."""
    return _decide(db, actor, request_id, to=rules.RequestStatus.REJECTED, comment=comment)


def withdraw_on_edit(session: Session, actor: Actor, memo: models.CreditMemo) -> None:
    """AP1: editing a draft withdraws its open request (approved or still pending: whoever
    decides must see what is issued). The caller holds the memo's lock."""
    row = _open(session, memo.id)
    if row is None:
        return
    was = row.status
    session.execute(update(_R).where(_R.id == row.id).values(
        status=rules.RequestStatus.WITHDRAWN.value, decided_at=clock.now()))
    audit.record(session, actor, "approval_request.withdraw", "credit_memo", memo.id,
                 {"number": memo.number, "request_id": row.id, "was": was})


def check_issue_on(conn: Connection, partner_id: str, memo: docs.MemoRow) -> None:
    """AP1, as issuing checks it under the memo's lock: a memo at or above its currency's
    threshold is issued only with an approved request (ApprovalRequired otherwise)."""
    minor = conn.scalar(select(_T.amount_minor).where(_T.partner_id == partner_id,
                                                      _T.currency == memo.currency))
    total = Money(memo.total_minor, memo.currency)
    threshold = None if minor is None else Money(minor, memo.currency)
    if not rules.needs_approval(total, threshold):
        return
    latest = conn.execute(select(_R.status, _R.decided_by).where(_R.credit_memo_id == memo.id)
                          .order_by(_R.requested_at.desc(), _R.id.desc()).limit(1)).first()
    rules.check_issue(number=memo.number, total=total, threshold=threshold,
                      status=None if latest is None else rules.RequestStatus(latest.status),
                      decided_by=None if latest is None else latest.decided_by)


# --- reads ------------------------------------------------------------------------------


def with_open_requests(session: Session,
                       memos: Sequence[views.MemoView]) -> list[views.MemoView]:
    """The memos, each draft with its open approval request (pending or approved): one
    query for the drafts among them, none when there are none."""
    drafts = {m.id: m for m in memos if m.status == memo_rules.MemoStatus.DRAFT}
    if not drafts:
        return list(memos)
    rows = session.scalars(select(_R).where(
        _R.credit_memo_id.in_(list(drafts)), _R.status.in_([s.value for s in rules.OPEN])))
    found = {r.credit_memo_id: _view(r, drafts[r.credit_memo_id].number) for r in rows}
    return [replace(m, approval=found[m.id]) if m.id in found else m for m in memos]


@dataclass(frozen=True)
class Panel:
    """What a draft's page shows of AP1 to one user: the threshold, whether the draft
    needs an approval, its latest request, and what this user may do about it."""

    threshold: Money | None
    needed: bool
    latest: ApprovalView | None
    may_request: bool
    may_decide: bool


def panel(db: Database, *, actor: Actor, memo: views.MemoView) -> Panel | None:
    """AP1 on a native draft's page (None for any other memo)."""
    if memo.status != memo_rules.MemoStatus.DRAFT or memo.read_only:
        return None
    with db.read() as session:
        threshold = threshold_of(session, actor.partner_id, memo.currency)
        row = _latest(session, memo.id)
        latest = None if row is None else _view(row, memo.number)
    open_ = latest is not None and latest.status in rules.OPEN
    pending = latest is not None and latest.status == rules.RequestStatus.PENDING
    try:
        rules.check_decider(rules.Decider(actor.user_id, actor.role),
                            requested_by_user_id=latest.requested_by_user_id if latest else None)
        may_decide = pending
    except errors.Forbidden:
        may_decide = False
    return Panel(threshold, rules.needs_approval(memo.total, threshold), latest,
                 may_request=not open_ and rules.needs_approval(memo.total, threshold),
                 may_decide=may_decide)


def list_for_memo(db: Database, *, actor: Actor, memo_id: str) -> list[ApprovalView]:
    """A memo's approval requests, newest first."""
    with db.read() as session:
        memo = locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id)
        rows = session.scalars(select(_R).where(_R.credit_memo_id == memo.id)
                               .order_by(_R.requested_at.desc(), _R.id.desc()))
        return [_view(r, memo.number) for r in rows]


def waiting(db: Database, *, actor: Actor, limit: int = 200) -> list[ApprovalView]:
    """The partner's pending requests of drafts, oldest first (what admins have to decide)."""
    m = models.CreditMemo
    with db.read() as session:
        rows = session.execute(
            select(_R, m.number).join(m, m.id == _R.credit_memo_id)
            .where(_R.partner_id == actor.partner_id,
                   _R.status == rules.RequestStatus.PENDING.value,
                   m.status == memo_rules.MemoStatus.DRAFT.value)
            .order_by(_R.requested_at, _R.id).limit(limit)).all()
        return [_view(r, number) for r, number in rows]
