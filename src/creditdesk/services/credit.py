"""Applying credit to invoices and removing it again (A1-A6, U1-U3)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import select

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import application as rules
from creditdesk.domain import errors, money
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money
from creditdesk.services import audit, invoices, memos, views
from creditdesk.services.context import Actor, clock, new_id


@dataclass(frozen=True)
class _Pair:
    """The memo and invoice a credit change touched, read on first use.

    They are read after the write transaction has committed (each in its own read
    transaction), so the lock is held only for the change itself and a caller that needs
    only the outcome pays nothing for the two documents.
    """

    _db: Database
    _actor: Actor
    _memo_id: str
    _invoice_id: str

    @cached_property
    def credit_memo(self) -> views.MemoView:
        return memos.get_memo(self._db, actor=self._actor, memo_id=self._memo_id)

    @cached_property
    def invoice(self) -> views.InvoiceView:
        return invoices.get_invoice(self._db, actor=self._actor, invoice_id=self._invoice_id)


@dataclass(frozen=True)
class Applied(_Pair):
    """A3: the committed application, and the memo and invoice on demand."""

    application: views.ApplicationView | None = None


@dataclass(frozen=True)
class Removed(_Pair):
    """U2: the memo and invoice after the removal, on demand."""

    amount: Money | None = None


def _remaining(memo: models.CreditMemo) -> Money:
    return Money(memo.total_minor - memo.applied_minor, memo.currency)


def _lock_pair(session, actor: Actor, memo_id: str,
               invoice_id: str) -> tuple[models.CreditMemo, models.Invoice]:
    """Lock customer, memo, invoice in that order; M4 is checked on the locked rows.

    The invoice is locked only if it belongs to the memo's customer, so this never locks
    another customer's rows; otherwise an unlocked read tells a mismatch from a missing id.
    """
    locks.lock_owner(session, actor.partner_id, models.CreditMemo, memo_id)
    memo = locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id, lock=True)
    invoice = session.scalars(
        select(models.Invoice)
        .where(models.Invoice.id == invoice_id, models.Invoice.partner_id == actor.partner_id,
               models.Invoice.customer_id == memo.customer_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)).one_or_none()
    if invoice is None:
        other = locks.get_scoped(session, models.Invoice, actor.partner_id, invoice_id)
        _check_pair(memo, other)  # raises CustomerMismatch
    assert invoice is not None
    _check_pair(memo, invoice)
    return memo, invoice


def _check_pair(memo: models.CreditMemo, invoice: models.Invoice) -> None:
    rules.check_same_party(
        memo_customer_id=memo.customer_id, memo_currency=memo.currency,
        invoice_customer_id=invoice.customer_id, invoice_currency=invoice.currency,
        memo_number=memo.number, invoice_number=invoice.number)


def apply_credit(db: Database, *, actor: Actor, memo_id: str, invoice_id: str,
                 amount: object) -> Applied:
    """A1-A4: move ``amount`` of the memo's remaining credit onto the invoice.

    Both caps (A2) are checked under the customer lock, so concurrent applications are
    serialised and can never over-apply (A6); the CHECK constraints are the second line.
    """
    now = clock.now()
    with db.write() as session:
        memo, invoice = _lock_pair(session, actor, memo_id, invoice_id)
        memos.check(memo, memo_rules.Action.APPLY)
        rules.check_invoice_accepts_credit(status=rules.InvoiceStatus(invoice.status),
                                           number=invoice.number)
        try:
            credit = Money.parse_positive(amount, memo.currency)
        except money.MoneyError as exc:
            raise errors.ValidationError.for_field("amount", str(exc)) from None
        rules.check_application_caps(
            amount=credit, memo_remaining=_remaining(memo),
            invoice_balance=invoices.balance_due(invoice), memo_number=memo.number,
            invoice_number=invoice.number)
        row = models.CreditApplication(
            id=new_id("app"), partner_id=actor.partner_id, credit_memo_id=memo.id,
            invoice_id=invoice.id, amount_minor=credit.minor, applied_at=now,
            applied_by=actor.name)
        session.add(row)
        memo.applied_minor += credit.minor
        memo.status = memo_rules.status_for_amounts(
            total_minor=memo.total_minor, applied_minor=memo.applied_minor).value
        memo.applied_at = now if memo.status == memo_rules.MemoStatus.APPLIED else None
        memo.updated_at = now
        invoice.credited_minor += credit.minor
        invoice.updated_at = now
        invoices.recompute_status(invoice)
        audit.record(session, actor, "credit_memo.apply", "credit_memo", memo.id,
                     {"invoice_id": invoice.id, "invoice_number": invoice.number,
                      "amount": credit.to_str(), "application_id": row.id})
        application = views.application_view(row, memo.currency)
    return Applied(db, actor, memo_id, invoice_id, application)


def remove_credit(db: Database, *, actor: Actor, memo_id: str, invoice_id: str) -> Removed:
    """U1-U3: delete every application of the memo to the invoice and give the credit back.

    No journal entry: AR moved when the memo was issued.
    """
    now = clock.now()
    with db.write() as session:
        memo, invoice = _lock_pair(session, actor, memo_id, invoice_id)
        ca = models.CreditApplication
        rows = session.scalars(select(ca).where(ca.credit_memo_id == memo.id,
                                                ca.invoice_id == invoice.id)).all()
        if not rows:
            raise errors.NotFound(
                f"Credit memo {memo.number} has no credit applied to invoice {invoice.number}.")
        memos.check(memo, memo_rules.Action.REMOVE)
        amount = sum(r.amount_minor for r in rows)
        for r in rows:
            session.delete(r)
        memo.applied_minor -= amount
        memo.status = memo_rules.status_for_amounts(
            total_minor=memo.total_minor, applied_minor=memo.applied_minor).value
        memo.applied_at = None
        memo.updated_at = now
        invoice.credited_minor -= amount
        invoice.updated_at = now
        invoices.recompute_status(invoice)
        removed = Money(amount, memo.currency)
        audit.record(session, actor, "credit_memo.remove", "credit_memo", memo.id,
                     {"invoice_id": invoice.id, "invoice_number": invoice.number,
                      "amount": removed.to_str()})
    return Removed(db, actor, memo_id, invoice_id, removed)


def list_applications(db: Database, *, actor: Actor,
                      memo_id: str) -> list[views.ApplicationView]:
    with db.read() as session:
        memo = locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id)
        rows = session.scalars(select(models.CreditApplication).where(
            models.CreditApplication.credit_memo_id == memo.id)
            .order_by(models.CreditApplication.id)).all()
        return [views.application_view(r, memo.currency) for r in rows]
