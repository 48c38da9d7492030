"""Applying synced credit to an invoice of the same system, and taking it off again: the
requests a write-back job carries to the accounting system (Y11-Y13).

Nothing here leaves the process: each function runs inside the caller's transaction, on the
pair ``credit._lock_pair`` locked (customer, memo, invoice), and only writes the request —
an application row ``pending`` with what to do (``write_back_action``) and its idempotency
key. The job (``services.books.write_back``) sends it after the commit. The memo's and the
invoice's figures stay the system's until it has answered (Y11): A2's caps subtract what
unanswered write-backs already hold, so two requests racing for the same credit can't both
be accepted here (the customer lock serialises them) and the system is never asked for more
than it reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from creditdesk.db import credit_statements as sql
from creditdesk.db import models
from creditdesk.domain import application as rules
from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import write_back as wb
from creditdesk.domain.money import Money
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, new_id
from creditdesk.services.read_models import views

_app = models.CreditApplication


def write_back_key() -> str:
    """A new idempotency key for one write (QuickBooks Online's requestid allows 50
    characters; ids here are shorter)."""
    return new_id("wb")


def request_apply(conn: Connection, actor: Actor, memo: sql.MemoRow, invoice: sql.InvoiceRow,
                  credit: Money, *, origin: str, now: datetime) -> views.ApplicationView:
    """Y11: record an application of the synced memo's credit to the synced invoice as
    ``pending``, for the write-back job; A1/A2 on the system's figures less what pending
    write-backs hold."""
    memo_status = memo_rules.MemoStatus(memo.status)
    if memo_status not in memo_rules.CREDIT_STATUSES:
        raise errors.InvalidState(
            f"Credit memo {memo.number} is {memo_status.value.replace('_', ' ')} in "
            f"{_system(memo.source)}; only credit it still has can be applied.")
    rules.check_invoice_accepts_credit(status=rules.InvoiceStatus(invoice.status),
                                       number=invoice.number)
    memo_held, invoice_held = sql.held_by_write_backs(conn, memo.id, invoice.id)
    rules.check_application_caps(
        amount=credit,
        memo_remaining=Money(memo.total_minor - memo.applied_minor - memo_held, memo.currency),
        invoice_balance=Money(invoice.total_minor - invoice.paid_minor - invoice.credited_minor
                              - invoice_held, invoice.currency),
        memo_number=memo.number, invoice_number=invoice.number)
    app_id = new_id("app")
    sql.add_application(conn, {
        "id": app_id, "partner_id": actor.partner_id, "credit_memo_id": memo.id,
        "invoice_id": invoice.id, "amount_minor": credit.minor, "applied_at": now,
        "applied_by": actor.name, "status": wb.Status.PENDING.value, "origin": origin,
        "write_back_system": memo.source, "write_back_action": wb.Action.APPLY.value,
        "write_back_key": write_back_key(), "write_back_attempts": 0,
        "write_back_next_at": now})
    audit.record_on(conn, actor, "credit_memo.apply_requested", "credit_memo", memo.id,
                    {"invoice_id": invoice.id, "invoice_number": invoice.number,
                     "amount": credit.to_str(), "currency": credit.currency,
                     "application_id": app_id, "system": memo.source, "origin": origin})
    return views.ApplicationView(
        app_id, memo.id, invoice.id, credit, now, actor.name, wb.Status.PENDING.value, origin,
        views.WriteBackView(memo.source, None, None))


@dataclass(frozen=True)
class RemovalRequest:
    """What a removal did to a synced pair: credit whose failed write-back was cancelled
    (nothing had been made in the system), and credit now waiting to be removed there."""

    cancelled_minor: int
    removing_minor: int


def request_remove(conn: Connection, actor: Actor, memo: sql.MemoRow, invoice: sql.InvoiceRow,
                   *, now: datetime) -> RemovalRequest:
    """Y13 (API.md): a failed write-back is cancelled; an applied application is removed in
    the system by the write-back job (``pending`` until it answers); a pending one → 409
    ``write_back_pending``; one made in the system directly is removed there, not here."""
    rows = conn.execute(select(_app.id, _app.amount_minor, _app.status, _app.origin,
                               _app.write_back_action)
                        .where(_app.credit_memo_id == memo.id, _app.invoice_id == invoice.id)
                        .order_by(_app.id)).all()
    if not rows:
        raise errors.NotFound(
            f"Credit memo {memo.number} has no credit applied to invoice {invoice.number}.")
    for row in rows:
        wb.check_not_pending(status=row.status, memo_number=memo.number,
                             invoice_number=invoice.number, system=memo.source)
    if any(r.origin == wb.Origin.SOURCE_SYSTEM.value for r in rows):
        raise errors.ReadOnly(
            f"Credit memo {memo.number} was applied to invoice {invoice.number} in "
            f"{_system(memo.source)} directly; remove that application in "
            f"{_system(memo.source)}.")
    cancelled = removing = 0
    for row in rows:
        if row.status == wb.Status.FAILED.value and row.write_back_action == wb.Action.APPLY:
            conn.execute(delete(_app).where(_app.id == row.id))
            cancelled += row.amount_minor
        elif row.status == wb.Status.FAILED.value:  # a failed removal: the credit stays
            conn.execute(update(_app).where(_app.id == row.id).values(
                status=wb.Status.APPLIED.value, write_back_action=None,
                write_back_error=None, write_back_next_at=None))
        else:
            conn.execute(update(_app).where(_app.id == row.id).values(
                status=wb.Status.PENDING.value, write_back_action=wb.Action.REMOVE.value,
                write_back_error=None, write_back_attempts=0, write_back_sent_at=None,
                write_back_next_at=now, write_back_key=write_back_key()))
            removing += row.amount_minor
    currency = memo.currency
    audit.record_on(conn, actor, "credit_memo.remove_requested", "credit_memo", memo.id,
                    {"invoice_id": invoice.id, "invoice_number": invoice.number,
                     "system": memo.source, "currency": currency,
                     "cancelled": Money(cancelled, currency).to_str(),
                     "removing": Money(removing, currency).to_str()})
    return RemovalRequest(cancelled, removing)


def retry(conn: Connection, actor: Actor, memo: sql.MemoRow, invoice: sql.InvoiceRow,
          application_id: str, *, now: datetime) -> views.ApplicationView:
    """Y12: send a failed write-back again. After a refusal nothing was made in the system
    (the job cleared ``write_back_sent_at``), so the retry gets a new idempotency key (a
    system that remembers the old one would answer with the old refusal); when an attempt's
    outcome was never known (still marked sent), the key stays and the job reads the
    system before sending."""
    row = conn.execute(select(_app).where(_app.id == application_id,
                                          _app.credit_memo_id == memo.id)).one()
    wb.check_retryable(status=row.status, memo_number=memo.number,
                       invoice_number=invoice.number)
    conn.execute(update(_app).where(_app.id == row.id).values(
        status=wb.Status.PENDING.value, write_back_error=None, write_back_attempts=0,
        write_back_next_at=now,
        write_back_key=row.write_back_key if row.write_back_sent_at else write_back_key()))
    if row.write_back_action == wb.Action.APPLY:
        # the caps again: the credit or the balance may have been used meanwhile
        memo_held, invoice_held = sql.held_by_write_backs(conn, memo.id, invoice.id)
        rules.check_application_caps(
            amount=Money(row.amount_minor, memo.currency),
            memo_remaining=Money(memo.total_minor - memo.applied_minor - memo_held
                                 + row.amount_minor, memo.currency),
            invoice_balance=Money(invoice.total_minor - invoice.paid_minor
                                  - invoice_held + row.amount_minor, invoice.currency),
            memo_number=memo.number, invoice_number=invoice.number)
    audit.record_on(conn, actor, "credit_memo.write_back_retry", "credit_memo", memo.id,
                    {"application_id": row.id, "invoice_id": invoice.id,
                     "action": row.write_back_action, "system": memo.source})
    return views.ApplicationView(
        row.id, memo.id, invoice.id, Money(row.amount_minor, memo.currency), row.applied_at,
        row.applied_by, wb.Status.PENDING.value, row.origin,
        views.WriteBackView(memo.source, row.write_back_external_id, None))


def _system(source: str) -> str:
    return memo_rules.SOURCE_NAMES[memo_rules.Source(source)]
