"""The database side of QuickBooks Desktop write-backs (Y11-Y13): which applications of
synced credit the Web Connector's next session must send, and what their answers change.

QuickBooks Desktop is only reachable while the Web Connector holds a session, so a pending
application (``status`` pending, ``write_back_system`` quickbooks_desktop) waits here until
the next one; ``services.books.qbwc`` sends it and calls these functions, each inside the
transaction that also stores the session's state. ``write_back_sent_at`` set on a pending
application means an earlier attempt may have reached QuickBooks: the session reads
QuickBooks for it before any resend (Y12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.db import models
from creditdesk.domain import money
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock

APPLY, REMOVE = "apply", "remove"
NO_PAYMENT = ("QuickBooks Desktop made no ReceivePayment for this credit (a credit-only "
              "application only links the credit memo to the invoice), so CreditDesk can't "
              "delete it: remove the credit from invoice {invoice} in QuickBooks (open the "
              "invoice's history, or Receive Payments for {customer}).")


UNKNOWN_OUTCOME = ("CreditDesk sent this application to QuickBooks Desktop, but the session "
                   "ended before QuickBooks answered, and this company file records a "
                   "credit-only application as a link CreditDesk can't look up. Check invoice "
                   "{invoice} in QuickBooks: if the credit is not applied there, retry; if it "
                   "is, cancel this one here (the next sync shows QuickBooks' balances).")


@dataclass(frozen=True)
class Due:
    """One pending write-back: what to send (``write``), whether to apply or remove, the
    ReceivePayment to delete (remove), and whether an earlier attempt was sent (``sent``:
    read QuickBooks first, Y12). ``problem``: it can't be sent (a record with no QuickBooks
    id); the conversation refuses it with these words."""

    write: base.CreditWrite
    action: str
    external_id: str | None
    sent: bool
    invoice_number: str
    customer_name: str
    problem: str | None = None


def _actor(partner_id: str) -> Actor:
    return Actor(partner_id, f"sync:{qbd.PROVIDER}")


def due_writes(session: Session, integration_id: str, *,
               now: datetime | None = None) -> list[Due]:
    """The integration's pending write-backs, locked, in id order (the order they were made).

    Applications name no connection, only the system: a partner's pending QuickBooks
    Desktop applications are sent by the session of its QuickBooks Desktop connection."""
    now = now or clock.now()
    integ = session.get_one(models.Integration, integration_id)
    a = models.CreditApplication
    rows = session.scalars(select(a).where(
        a.partner_id == integ.partner_id, a.write_back_system == qbd.PROVIDER,
        a.status == "pending", or_(a.write_back_next_at.is_(None), a.write_back_next_at <= now))
        .order_by(a.id).with_for_update()).all()
    out = []
    for row in rows:
        memo = session.get_one(models.CreditMemo, row.credit_memo_id)
        invoice = session.get_one(models.Invoice, row.invoice_id)
        ref = (session.get(models.CustomerReference, invoice.customer_reference_id)
               if invoice.customer_reference_id else None)
        customer = session.get_one(models.Customer, invoice.customer_id)
        problem = None
        if not (memo.external_id and invoice.external_id and ref is not None):
            problem = ("this credit memo or invoice has no QuickBooks Desktop record to "
                       "write to; sync again, then retry")
        write = base.CreditWrite(
            application_id=row.id, request_key=row.write_back_key or row.id,
            memo_external_id=memo.external_id or "", invoice_external_id=invoice.external_id
            or "", customer_external_id=ref.external_id if ref is not None else "",
            currency=invoice.currency, amount_minor=row.amount_minor,
            on=row.applied_at.date())
        out.append(Due(write, row.write_back_action or APPLY, row.write_back_external_id,
                       row.write_back_sent_at is not None, invoice.number, customer.name,
                       problem))
    return out


def mark_sent(session: Session, application_id: str) -> None:
    """The write is about to leave: from now on its outcome is unknown until answered."""
    row = session.get_one(models.CreditApplication, application_id, with_for_update=True)
    row.write_back_sent_at = clock.now()
    row.write_back_attempts += 1


def _facts(session: Session, row: models.CreditApplication) -> dict[str, str | None]:
    invoice = session.get_one(models.Invoice, row.invoice_id)
    return {"application_id": row.id, "invoice_id": invoice.id,
            "invoice_number": invoice.number, "system": qbd.PROVIDER,
            "amount": money.minor_to_str(row.amount_minor, invoice.currency),
            "currency": invoice.currency}


def record_written(session: Session, application_id: str, external_id: str | None) -> None:
    """QuickBooks made the application: ``applied``, with the ReceivePayment's TxnID (None:
    a credit-only add made none, research §4.2)."""
    row = session.get_one(models.CreditApplication, application_id, with_for_update=True)
    row.status, row.write_back_action, row.write_back_error = "applied", None, None
    row.write_back_external_id, row.write_back_next_at = external_id, None
    audit.record(session, _actor(row.partner_id), "credit_memo.write_back", "credit_memo",
                 row.credit_memo_id, {**_facts(session, row), "external_id": external_id})


def record_refused(session: Session, application_id: str, message: str) -> None:
    """QuickBooks refused it (or it can't be sent): ``failed`` with the words, its action
    kept so that it can be retried or cancelled (Y12); nothing else changes here."""
    row = session.get_one(models.CreditApplication, application_id, with_for_update=True)
    row.status, row.write_back_error, row.write_back_next_at = "failed", message[:2000], None
    audit.record(session, _actor(row.partner_id), "credit_memo.write_back_refused",
                 "credit_memo", row.credit_memo_id,
                 {**_facts(session, row), "action": row.write_back_action, "error": message})


def record_removed(session: Session, application_id: str) -> None:
    """QuickBooks deleted the ReceivePayment (or it was gone already): the application
    goes (Y13)."""
    row = session.get_one(models.CreditApplication, application_id, with_for_update=True)
    audit.record(session, _actor(row.partner_id), "credit_memo.write_back_removed",
                 "credit_memo", row.credit_memo_id,
                 {**_facts(session, row), "external_id": row.write_back_external_id})
    session.delete(row)


def unknown_outcome(due: Due) -> str:
    """The words of an attempt whose answer was lost where no read can tell its outcome."""
    return UNKNOWN_OUTCOME.format(invoice=due.invoice_number)


def deletable(due: Due) -> bool:
    """Whether QuickBooks holds a ReceivePayment of the write-back to delete: a credit-only
    add that made none (no id, or only the memo's link to the invoice) has nothing."""
    return bool(due.external_id) and not str(due.external_id).startswith(qbd.LINK_PREFIX)


def cannot_remove(due: Due) -> str:
    """The words of a removal QuickBooks can't be asked for (no ReceivePayment was made)."""
    return NO_PAYMENT.format(invoice=due.invoice_number, customer=due.customer_name)
