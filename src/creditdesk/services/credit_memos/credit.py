"""Applying credit to invoices and removing it again (A1-A6, U1-U3).

Synced credit (Y11-Y13) takes the same entry points: an application of a synced memo to
an invoice of the same system is recorded ``pending`` and written back by a job
(``synced_credit``); its answer holds the documents with the system's figures, unchanged
until the system has answered.

Each change has two entry points: ``apply_credit`` / ``remove_credit`` answer with both
documents as they are right after it, read in the change's own transaction (the API's
answer: nothing is read once they have returned); ``apply_credit_only`` /
``remove_credit_only`` make the same change and return only what moved (``Change``), for
a caller that just says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from creditdesk.db import credit_statements as sql
from creditdesk.db import document_statements as docs
from creditdesk.db import locks, models, read_statements
from creditdesk.db.engine import Database
from creditdesk.domain import application as rules
from creditdesk.domain import errors, money
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import write_back as wb
from creditdesk.domain.money import Money
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.credit_memos import memos, synced_credit
from creditdesk.services.events import outbox
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import views


@dataclass(frozen=True)
class Applied:
    """A3: the committed application, with the memo and invoice as they are right after it
    (read in the application's own transaction: nothing is read once it has returned)."""

    application: views.ApplicationView
    credit_memo: views.MemoView
    invoice: views.InvoiceView


@dataclass(frozen=True)
class Removed:
    """U2: the credit given back, with the memo and invoice as they are right after it.
    ``pending``: a synced pair whose removal now waits for its system (Y13)."""

    amount: Money
    credit_memo: views.MemoView
    invoice: views.InvoiceView
    pending: bool = False


@dataclass(frozen=True)
class Change:
    """A credit change without its documents: what was moved between which two documents
    (for a caller that only says what happened: a dashboard notice, B1's loop)."""

    amount: Money
    credit_memo_id: str
    credit_memo_number: str
    invoice_id: str
    invoice_number: str
    # Y11: the system the change was sent to (None: made here, at once)
    written_back_to: str | None = None


def _documents(conn: Connection, actor: Actor,
               change: Change) -> tuple[views.MemoView, views.InvoiceView]:
    """The changed memo and invoice, read on the change's own connection before it commits
    (under the same lock: the answer shows exactly this change, and nothing is read after
    the use case has returned), each whole in one prebuilt statement as ``GET`` reads it."""
    memo = docs.memo_with_lines(conn, actor.partner_id, change.credit_memo_id)
    invoice = read_statements.invoice_whole(conn, actor.partner_id, change.invoice_id)
    assert memo is not None and invoice is not None  # both locked by this change
    return (views.memo_view_of(*memo, refunds=memos.refunds_of(conn, memo[0])),
            views.invoice_view_of(*invoice))


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
                 amount: object, origin: str = "user") -> Applied:
    """A1-A4: move ``amount`` of the memo's remaining credit onto the invoice; the answer
    holds the application and both documents after it (Y11: a synced pair's application
    is ``pending`` and the documents keep the system's figures). ``origin``: who asked for
    it, as the application records it (``user``; ``portal``: the customer itself, P5)."""
    with db.write_connection() as conn:
        application, change = _apply(conn, actor, memo_id, invoice_id, amount, origin)
        memo, invoice = _documents(conn, actor, change)
    return Applied(application, memo, invoice)


def apply_credit_only(db: Database, *, actor: Actor, memo_id: str, invoice_id: str,
                      amount: object, origin: str = "user") -> Change:
    """``apply_credit`` without reading the two documents back: the same change, the
    customer lock held only for the writes."""
    with db.write_connection() as conn:
        _, change = _apply(conn, actor, memo_id, invoice_id, amount, origin)
    return change


def _parse_amount(amount: object, currency: str) -> Money:
    try:
        return Money.parse_positive(amount, currency)
    except money.MoneyError as exc:
        raise errors.ValidationError.for_field("amount", str(exc)) from None


def _apply(conn: Connection, actor: Actor, memo_id: str, invoice_id: str,
           amount: object, origin: str = "user") -> tuple[views.ApplicationView, Change]:
    """A1-A4 on ``conn``.

    Both caps (A2) are checked under the customer lock, so concurrent applications are
    serialised and can never over-apply (A6); the CHECK constraints are the second line.
    Written in prebuilt Core statements (``db/credit_statements.py``): this is the hot path.
    """
    now = clock.now()
    memo, invoice = _lock_pair(conn, actor, memo_id, invoice_id)
    if memo.source != "native" or invoice.source != "native":
        wb.check_sources(memo_source=memo.source, invoice_source=invoice.source,
                         memo_number=memo.number, invoice_number=invoice.number)
        requested = synced_credit.request_apply(
            conn, actor, memo, invoice, _parse_amount(amount, memo.currency), origin=origin,
            now=now)
        change = Change(requested.amount, memo.id, memo.number, invoice.id, invoice.number,
                        memo.source)
        # D4: applied here, its write-back pending (the application's status says so)
        outbox.emit(conn, actor.partner_id, "credit_memo.applied",
                    lambda: _event_objects(conn, actor, change, requested))
        return requested, change
    memos.check(memo, memo_rules.Action.APPLY)
    rules.check_invoice_accepts_credit(status=rules.InvoiceStatus(invoice.status),
                                       number=invoice.number)
    credit = _parse_amount(amount, memo.currency)
    rules.check_application_caps(
        amount=credit, memo_remaining=Money(memo.total_minor - memo.applied_minor,
                                            memo.currency),
        invoice_balance=invoices.balance_due(invoice), memo_number=memo.number,
        invoice_number=invoice.number)
    application = views.ApplicationView(new_id("app"), memo.id, invoice.id, credit, now,
                                        actor.name, origin=origin)
    sql.add_application(conn, {
        "id": application.id, "partner_id": actor.partner_id, "credit_memo_id": memo.id,
        "invoice_id": invoice.id, "amount_minor": credit.minor, "applied_at": now,
        "applied_by": actor.name, "origin": origin})
    _write_amounts(conn, memo, invoice, delta_minor=credit.minor, now=now)
    audit.record_on(conn, actor, "credit_memo.apply", "credit_memo", memo.id,
                    {"invoice_id": invoice.id, "invoice_number": invoice.number,
                     "amount": credit.to_str(), "currency": credit.currency,
                     "application_id": application.id,
                     **({"origin": origin} if origin == wb.Origin.AUTOMATIC else {})})
    change = Change(credit, memo.id, memo.number, invoice.id, invoice.number)
    outbox.emit(conn, actor.partner_id, "credit_memo.applied",
                lambda: _event_objects(conn, actor, change, application))  # D5
    return application, change


def _event_objects(conn: Connection, actor: Actor, change: Change,
                   application: views.ApplicationView | None = None) -> dict[str, object]:
    """An event's objects (D4): the documents as ``_documents`` reads them, under the
    change's locks, and the application when there is one."""
    memo, invoice = _documents(conn, actor, change)
    found: dict[str, object] = {"credit_memo": memo, "invoice": invoice}
    if application is not None:
        found["application"] = application
    return found


def apply_on(conn: Connection, actor: Actor, memo_id: str, invoice_id: str, amount: Money,
             origin: str) -> views.ApplicationView:
    """A1-A4 inside a caller's transaction (AU1: the issue of an invoice, which has locked
    the customer and the memo already; locking them again there waits for nothing)."""
    application, _ = _apply(conn, actor, memo_id, invoice_id, amount.to_str(), origin)
    return application


def remove_credit(db: Database, *, actor: Actor, memo_id: str, invoice_id: str) -> Removed:
    """U1-U3: delete every application of the memo to the invoice and give the credit back;
    the answer holds both documents after it."""
    with db.write_connection() as conn:
        change = _remove(conn, actor, memo_id, invoice_id)
        memo, invoice = _documents(conn, actor, change)
    return Removed(change.amount, memo, invoice, pending=change.written_back_to is not None)


def remove_credit_only(db: Database, *, actor: Actor, memo_id: str,
                       invoice_id: str) -> Change:
    """``remove_credit`` without reading the two documents back."""
    with db.write_connection() as conn:
        change = _remove(conn, actor, memo_id, invoice_id)
    return change


def _remove(conn: Connection, actor: Actor, memo_id: str, invoice_id: str) -> Change:
    """U1-U3 on ``conn``.

    No journal entry: AR moved when the memo was issued.
    """
    now = clock.now()
    memo, invoice = _lock_pair(conn, actor, memo_id, invoice_id)
    if memo.source != "native" or invoice.source != "native":
        request = synced_credit.request_remove(conn, actor, memo, invoice, now=now)
        return Change(Money(request.removing_minor or request.cancelled_minor, memo.currency),
                      memo.id, memo.number, invoice.id, invoice.number,
                      memo.source if request.removing_minor else None)
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
    change = Change(removed, memo.id, memo.number, invoice.id, invoice.number)
    outbox.emit(conn, actor.partner_id, "credit_memo.application_removed",
                lambda: _event_objects(conn, actor, change))  # D5
    return change


def retry_write_back(db: Database, *, actor: Actor, memo_id: str,
                     application_id: str) -> views.ApplicationView:
    """Y12: send a failed write-back of the memo's application again (``pending``)."""
    with db.write_connection() as conn:
        app = conn.execute(select(models.CreditApplication.invoice_id).where(
            models.CreditApplication.id == application_id,
            models.CreditApplication.partner_id == actor.partner_id,
            models.CreditApplication.credit_memo_id == memo_id)).scalar_one_or_none()
        if app is None or not isinstance(application_id, str):
            raise errors.NotFound(f"No application {application_id} of credit memo {memo_id}.")
        memo, invoice = _lock_pair(conn, actor, memo_id, app)
        return synced_credit.retry(conn, actor, memo, invoice, application_id, now=clock.now())


def list_applications(db: Database, *, actor: Actor,
                      memo_id: str) -> list[views.ApplicationView]:
    with db.read() as session:
        memo = locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id)
        rows = session.scalars(select(models.CreditApplication).where(
            models.CreditApplication.credit_memo_id == memo.id)
            .order_by(models.CreditApplication.id)).all()
        return [views.application_view(r, memo.currency) for r in rows]
