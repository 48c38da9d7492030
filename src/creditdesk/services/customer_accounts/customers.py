"""Customers, their references in the connected systems (Y10) and their credit summary
(I1, S1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors, money
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money
from creditdesk.services.common import audit, pagination
from creditdesk.services.common.context import Actor, clock, new_id

MAX_NAME = 200


@dataclass(frozen=True)
class ReferenceView:
    """Y10: the customer's record in one connected system."""

    id: str
    system: str
    external_id: str
    name: str
    linked_by: str  # sync | email_rule | admin
    linked_at: datetime

    @property
    def system_name(self) -> str:
        return system_name(self.system)


@dataclass(frozen=True)
class CustomerView:
    id: str
    name: str
    email: str | None
    currency: str
    created_at: datetime
    references: tuple[ReferenceView, ...] = ()

    @property
    def sources(self) -> list[str]:
        """The systems the customer has records in, each once, in the order first linked."""
        return list(dict.fromkeys(r.system for r in self.references))

    @property
    def external_source(self) -> str | None:
        """The system of the customer's first reference (Y10); None when it has none."""
        return self.references[0].system if self.references else None

    @property
    def external_id(self) -> str | None:
        """The customer's id in that system."""
        return self.references[0].external_id if self.references else None


def system_name(system: str) -> str:
    return memo_rules.SOURCE_NAMES[memo_rules.Source(system)]


def reference_view(row: models.CustomerReference) -> ReferenceView:
    return ReferenceView(row.id, row.system, row.external_id, row.name, row.linked_by,
                         row.linked_at)


def customer_view(row: models.Customer,
                  references: Sequence[ReferenceView] = ()) -> CustomerView:
    return CustomerView(row.id, row.name, row.email, row.currency, row.created_at,
                        tuple(references))


def references_of(session: Session, partner_id: str,
                  customer_ids: list[str]) -> dict[str, list[ReferenceView]]:
    """The references of these customers, oldest link first (one query for a page)."""
    if not customer_ids:
        return {}
    ref = models.CustomerReference
    out: dict[str, list[ReferenceView]] = {}
    for row in session.scalars(select(ref).where(ref.partner_id == partner_id,
                                                 ref.customer_id.in_(customer_ids))
                               .order_by(ref.linked_at, ref.id)):
        out.setdefault(row.customer_id, []).append(reference_view(row))
    return out


def _check_fields(name: object, email: object, currency: object) -> tuple[str, str | None, str]:
    problems = []
    if not isinstance(name, str) or not name.strip():
        problems.append(errors.FieldError("name", "is required"))
    elif len(name) > MAX_NAME:
        problems.append(errors.FieldError("name", f"must be at most {MAX_NAME} characters"))
    if email is not None and (not isinstance(email, str) or "@" not in email or len(email) > 254):
        problems.append(errors.FieldError("email", "must be an email address"))
    code = None
    try:
        code = money.check_currency(currency)
    except money.MoneyError as exc:
        problems.append(errors.FieldError("currency", str(exc)))
    if problems:
        raise errors.ValidationError("; ".join(f"{p.field} {p.message}" for p in problems),
                                     errors=problems)
    # no problem: each value passed its check above
    assert isinstance(name, str) and (email is None or isinstance(email, str))
    assert code is not None
    return name.strip(), (email.strip() if email else None), code


def create_customer(db: Database, *, actor: Actor, name: str, email: str | None = None,
                    currency: str = "USD") -> CustomerView:
    name, email, currency = _check_fields(name, email, currency)
    now = clock.now()
    with db.write() as session:
        row = models.Customer(id=new_id("cus"), partner_id=actor.partner_id, name=name,
                              email=email, currency=currency, created_at=now, updated_at=now)
        session.add(row)
        audit.record(session, actor, "customer.create", "customer", row.id,
                     {"name": name, "currency": currency})
        return customer_view(row)


def get_customer(db: Database, *, actor: Actor, customer_id: str) -> CustomerView:
    """The customer with its references (Y10)."""
    with db.read() as session:
        row = locks.get_scoped(session, models.Customer, actor.partner_id, customer_id)
        return customer_view(row, references_of(session, actor.partner_id, [row.id])
                             .get(row.id, []))


def list_customers(db: Database, *, actor: Actor, q: str | None = None, limit: int = 50,
                   cursor: str | None = None) -> pagination.Page[CustomerView]:
    stmt = select(models.Customer).where(models.Customer.partner_id == actor.partner_id)
    if q:
        pattern = pagination.contains_pattern(q.strip().lower())  # % and _ taken literally
        stmt = stmt.where(func.lower(models.Customer.name).like(pattern, escape="\\")
                          | func.lower(models.Customer.email).like(pattern, escape="\\"))
    with db.read() as session:
        def views(rows: list[models.Customer]) -> list[CustomerView]:
            refs = references_of(session, actor.partner_id, [r.id for r in rows])
            return [customer_view(r, refs.get(r.id, [])) for r in rows]

        return pagination.newest_first(session, stmt, models.Customer.id, limit=limit,
                                       cursor=cursor, views=views)


@dataclass(frozen=True)
class SummaryMemo:
    id: str
    number: str
    currency: str
    total: Money
    remaining_amount: Money
    status: str
    source: str


@dataclass(frozen=True)
class SummaryRefund:
    """R3: a refund of one of the customer's memos, in its credit history (a voided one
    too, with ``voided_at``: its credit went back to the memo)."""

    id: str
    credit_memo_id: str
    credit_memo_number: str
    currency: str
    amount: Money
    method: str
    reference: str | None
    refunded_at: date
    voided_at: datetime | None


@dataclass(frozen=True)
class CreditSummary:
    customer_id: str
    balances: list[Money]  # one per currency, sorted by currency code
    memos: list[SummaryMemo]
    # R3: Σ of the refunds not voided, one per currency (sorted), and every refund, newest
    # first, as the dashboard's customer page lists them
    refunded: list[Money] = field(default_factory=list)
    refunds: list[SummaryRefund] = field(default_factory=list)


_cus, _cm = models.Customer, models.CreditMemo
# Built once (a hot read: the portal, the dashboard and the API all show it). One statement
# from the customer's row, so that one snapshot tells "no such customer" (no row) from "no
# credit" (one row without a memo) and needs no read transaction of its own.
_CREDIT_MEMOS = (
    select(_cm.id, _cm.number, _cm.currency, _cm.total_minor, _cm.applied_minor, _cm.status,
           _cm.source)
    .select_from(_cus)
    .outerjoin(_cm, and_(_cm.partner_id == _cus.partner_id, _cm.customer_id == _cus.id,
                         _cm.status.in_([s.value for s in memo_rules.CREDIT_STATUSES])))
    .where(_cus.id == bindparam("customer_id"), _cus.partner_id == bindparam("partner_id"))
    .order_by(_cm.id.desc()))
_rf = models.Refund
# R3: the refunds of the customer's memos, whatever the memo's status now
_REFUNDS = (
    select(_rf.id, _rf.credit_memo_id, _cm.number, _rf.currency, _rf.amount_minor, _rf.method,
           _rf.reference, _rf.refunded_at, _rf.voided_at)
    .join(_cm, _cm.id == _rf.credit_memo_id)
    .where(_rf.partner_id == bindparam("partner_id"), _cm.partner_id == bindparam("partner_id"),
           _cm.customer_id == bindparam("customer_id"))
    .order_by(_rf.id.desc()))


def credit_summary(db: Database, *, actor: Actor, customer_id: str) -> CreditSummary:
    """S1: available credit per currency = Σ remaining of issued and partially applied
    memos, native and synced, with the memos behind each figure."""
    params = {"partner_id": actor.partner_id, "customer_id": customer_id}
    with db.lookup() as conn:
        rows = conn.execute(_CREDIT_MEMOS, params).all()
        refund_rows = conn.execute(_REFUNDS, params).all() if rows else []
    if not rows:
        raise errors.NotFound(f"No customer with id {customer_id}.")
    rows = [r for r in rows if r.id is not None]
    totals: dict[str, int] = {}
    memos = []
    for r in rows:
        remaining = r.total_minor - r.applied_minor
        totals[r.currency] = totals.get(r.currency, 0) + remaining
        memos.append(SummaryMemo(r.id, r.number, r.currency, Money(r.total_minor, r.currency),
                                 Money(remaining, r.currency), r.status, r.source))
    refunded: dict[str, int] = {}
    refunds = []
    for f in refund_rows:
        if f.voided_at is None:
            refunded[f.currency] = refunded.get(f.currency, 0) + f.amount_minor
        refunds.append(SummaryRefund(f.id, f.credit_memo_id, f.number, f.currency,
                                     Money(f.amount_minor, f.currency), f.method, f.reference,
                                     f.refunded_at, f.voided_at))
    return CreditSummary(customer_id, [Money(v, c) for c, v in sorted(totals.items())], memos,
                         [Money(v, c) for c, v in sorted(refunded.items())], refunds)
