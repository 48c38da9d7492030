"""Applying credit to invoices and removing it again (A1-A6, U1-U3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session, joinedload

from creditdesk.db import credit_statements as sql
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import application as rules
from creditdesk.domain import errors, money
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import views

# The two documents with their lines, one statement each (the API answers every
# application with both).
_MEMO_WITH_LINES = (
    select(models.CreditMemo).options(joinedload(models.CreditMemo.lines))
    .where(models.CreditMemo.id == bindparam("memo_id"),
           models.CreditMemo.partner_id == bindparam("partner_id")))
_INVOICE_WITH_LINES = (
    select(models.Invoice).options(joinedload(models.Invoice.lines))
    .where(models.Invoice.id == bindparam("invoice_id"),
           models.Invoice.partner_id == bindparam("partner_id")))


@dataclass(frozen=True)
class _Pair:
    """The memo and invoice a credit change touched, read on first use.

    They are read after the write transaction has committed (both in one read
    transaction), so the lock is held only for the change itself and a caller that needs
    only the outcome pays nothing for the two documents.
    """

    _db: Database
    _actor: Actor
    _memo_id: str
    _invoice_id: str

    @cached_property
    def _documents(self) -> tuple[views.MemoView, views.InvoiceView]:
        params = {"partner_id": self._actor.partner_id, "memo_id": self._memo_id,
                  "invoice_id": self._invoice_id}
        with self._db.read() as session:
            memo = session.scalars(_MEMO_WITH_LINES, params).unique().one()
            invoice = session.scalars(_INVOICE_WITH_LINES, params).unique().one()
            return views.memo_view(memo), invoices.load_view(session, invoice)

    @property
    def credit_memo(self) -> views.MemoView:
        return self._documents[0]

    @property
    def invoice(self) -> views.InvoiceView:
        return self._documents[1]


@dataclass(frozen=True)
class Applied(_Pair):
    """A3: the committed application, and the memo and invoice on demand."""

    application: views.ApplicationView | None = None


@dataclass(frozen=True)
class Removed(_Pair):
    """U2: the memo and invoice after the removal, on demand."""

    amount: Money | None = None


def _lock_pair(conn: Connection, actor: Actor, memo_id: str,
               invoice_id: str) -> tuple[sql.MemoRow, sql.InvoiceRow]:
    """Lock customer, memo, invoice in that order; M4 is checked on the locked rows.

    The invoice is locked only if it belongs to the memo's customer, so this never locks
    another customer's rows. When the pair is not found, unlocked reads tell a missing id
    from a mismatch of customers and raise the matching error.
    """
    locks.lock_owner(conn, actor.partner_id, models.CreditMemo, memo_id)
    pair = None
    if isinstance(memo_id, str) and isinstance(invoice_id, str):
        pair = sql.lock_pair(conn, partner_id=actor.partner_id, memo_id=memo_id,
                             invoice_id=invoice_id)
    if pair is None:
        with Session(bind=conn) as session:
            memo = locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id)
            invoice = locks.get_scoped(session, models.Invoice, actor.partner_id, invoice_id)
            _check_pair(memo, invoice)  # raises CustomerMismatch
        # Both found, same customer, yet not by the locked read: one of them changed in
        # between (PostgreSQL reads each statement afresh). A clear 409, never a 500.
        raise errors.Conflict("The credit memo or the invoice changed while this request ran; "
                              "try again.")
    _check_pair(*pair)
    return pair


def _check_pair(memo: sql.MemoRow | models.CreditMemo,
                invoice: sql.InvoiceRow | models.Invoice) -> None:
    rules.check_same_party(
        memo_customer_id=memo.customer_id, memo_currency=memo.currency,
        invoice_customer_id=invoice.customer_id, invoice_currency=invoice.currency,
        memo_number=memo.number, invoice_number=invoice.number)


def _write_amounts(conn: Connection, memo: sql.MemoRow, invoice: sql.InvoiceRow, *,
                   delta_minor: int, now: datetime) -> None:
    """Move ``delta_minor`` (negative to give back) onto the invoice; both statuses follow
    their amounts (L3, U2, I5)."""
    applied = memo.applied_minor + delta_minor
    memo_status = memo_rules.status_for_amounts(total_minor=memo.total_minor,
                                                applied_minor=applied)
    sql.set_memo(conn, memo.id, applied_minor=applied, status=memo_status.value,
                 applied_at=now if memo_status == memo_rules.MemoStatus.APPLIED else None,
                 now=now)
    credited = invoice.credited_minor + delta_minor
    invoice_status = rules.invoice_status(
        total_minor=invoice.total_minor, paid_minor=invoice.paid_minor,
        credited_minor=credited, currency=invoice.currency)
    sql.set_invoice(conn, invoice.id, credited_minor=credited, status=invoice_status.value,
                    now=now)


def apply_credit(db: Database, *, actor: Actor, memo_id: str, invoice_id: str,
                 amount: object) -> Applied:
    """A1-A4: move ``amount`` of the memo's remaining credit onto the invoice.

    Both caps (A2) are checked under the customer lock, so concurrent applications are
    serialised and can never over-apply (A6); the CHECK constraints are the second line.
    Written in prebuilt Core statements (``db/credit_statements.py``): this is the hot path.
    """
    now = clock.now()
    with db.write_connection() as conn:
        memo, invoice = _lock_pair(conn, actor, memo_id, invoice_id)
        memos.check(memo, memo_rules.Action.APPLY)
        rules.check_invoice_accepts_credit(status=rules.InvoiceStatus(invoice.status),
                                           number=invoice.number)
        try:
            credit = Money.parse_positive(amount, memo.currency)
        except money.MoneyError as exc:
            raise errors.ValidationError.for_field("amount", str(exc)) from None
        rules.check_application_caps(
            amount=credit, memo_remaining=Money(memo.total_minor - memo.applied_minor,
                                                memo.currency),
            invoice_balance=invoices.balance_due(invoice), memo_number=memo.number,
            invoice_number=invoice.number)
        application = views.ApplicationView(new_id("app"), memo.id, invoice.id, credit, now,
                                            actor.name)
        sql.add_application(conn, {
            "id": application.id, "partner_id": actor.partner_id, "credit_memo_id": memo.id,
            "invoice_id": invoice.id, "amount_minor": credit.minor, "applied_at": now,
            "applied_by": actor.name})
        _write_amounts(conn, memo, invoice, delta_minor=credit.minor, now=now)
        audit.record_on(conn, actor, "credit_memo.apply", "credit_memo", memo.id,
                        {"invoice_id": invoice.id, "invoice_number": invoice.number,
                         "amount": credit.to_str(), "currency": credit.currency,
                         "application_id": application.id})
    return Applied(db, actor, memo.id, invoice.id, application)


def remove_credit(db: Database, *, actor: Actor, memo_id: str, invoice_id: str) -> Removed:
    """U1-U3: delete every application of the memo to the invoice and give the credit back.

    No journal entry: AR moved when the memo was issued.
    """
    now = clock.now()
    with db.write_connection() as conn:
        memo, invoice = _lock_pair(conn, actor, memo_id, invoice_id)
        amounts = sql.applications_of_pair(conn, memo.id, invoice.id)
        if not amounts:
            raise errors.NotFound(
                f"Credit memo {memo.number} has no credit applied to invoice {invoice.number}.")
        memos.check(memo, memo_rules.Action.REMOVE)
        amount = sum(amounts)
        sql.delete_applications_of_pair(conn, memo.id, invoice.id)
        _write_amounts(conn, memo, invoice, delta_minor=-amount, now=now)
        removed = Money(amount, memo.currency)
        audit.record_on(conn, actor, "credit_memo.remove", "credit_memo", memo.id,
                        {"invoice_id": invoice.id, "invoice_number": invoice.number,
                         "amount": removed.to_str(), "currency": removed.currency})
    return Removed(db, actor, memo.id, invoice.id, removed)


def list_applications(db: Database, *, actor: Actor,
                      memo_id: str) -> list[views.ApplicationView]:
    with db.read() as session:
        memo = locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id)
        rows = session.scalars(select(models.CreditApplication).where(
            models.CreditApplication.credit_memo_id == memo.id)
            .order_by(models.CreditApplication.id)).all()
        return [views.application_view(r, memo.currency) for r in rows]
