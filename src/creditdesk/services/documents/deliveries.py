"""D2: asking for a memo's email (a delivery, ``queued``; the job sends it after this
transaction commits) and the deliveries of a memo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import documents as rules
from creditdesk.domain import errors
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.documents import email_settings

_delivery = models.MemoDelivery


@dataclass(frozen=True)
class DeliveryView:
    id: str
    credit_memo_id: str
    to: list[str]
    status: str
    message_id: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Recipients:
    """D2: who a memo would be sent to now (the Send step shows them first)."""

    memo_number: str
    customer_name: str
    to: list[str]
    configured: bool  # the partner has SMTP settings


def delivery_view(row: models.MemoDelivery) -> DeliveryView:
    return DeliveryView(row.id, row.credit_memo_id, list(row.recipients), row.status,
                        row.message_id, row.attempts, row.last_error, row.next_attempt_at,
                        row.sent_at, row.created_by, row.created_at)


def _memo(session: Session, actor: Actor, memo_id: str, *,
          lock: bool = False) -> models.CreditMemo:
    if lock:
        locks.lock_owner(session, actor.partner_id, models.CreditMemo, memo_id)
    return locks.get_scoped(session, models.CreditMemo, actor.partner_id, memo_id, lock=lock)


def recipients(db: Database, *, actor: Actor, memo_id: str) -> Recipients:
    """The customer's billing email (none: the person gives addresses) and whether the
    partner can send at all."""
    with db.read() as session:
        memo = _memo(session, actor, memo_id)
        customer = session.get_one(models.Customer, memo.customer_id)
        return Recipients(memo.number, customer.name, [customer.email] if customer.email else [],
                          email_settings.configured(session, actor.partner_id))


def request_send(db: Database, *, actor: Actor, memo_id: str,
                 to: object = None) -> DeliveryView:
    """D2: a ``queued`` delivery of an issued memo to ``to`` (default: the customer's
    billing email). Refused: a draft or void memo (409), no SMTP settings (409), no
    address (422). Nothing is sent here: the job sends it once this commits."""
    now = clock.now()
    with db.write() as session:
        memo = _memo(session, actor, memo_id, lock=True)
        rules.check_sendable(status=memo.status, number=memo.number)
        customer = session.get_one(models.Customer, memo.customer_id)
        if to is None or to == []:
            if not customer.email:
                raise errors.ValidationError.for_field(
                    "to", f"{customer.name} has no billing email: give the addresses to "
                    "send it to")
            addresses = [rules.parse_email(customer.email, "to")]
        else:
            addresses = rules.parse_recipients(to)
        smtp = session.get(models.EmailSettings, actor.partner_id)
        if smtp is None:
            raise errors.NotConfigured(
                "Email is not set up: add your SMTP server under Team Preferences > Email "
                "(PUT /settings/email), then send again.")
        delivery_id = new_id("dlv")
        row = _delivery(
            id=delivery_id, partner_id=actor.partner_id, credit_memo_id=memo.id,
            recipients=addresses, status=rules.DeliveryStatus.QUEUED.value,
            message_id=rules.message_id(delivery_id, smtp.from_address), attempts=0,
            next_attempt_at=now, created_by=actor.name, created_at=now, updated_at=now)
        session.add(row)
        audit.record(session, actor, "credit_memo.send", "credit_memo", memo.id,
                     {"number": memo.number, "to": addresses, "delivery_id": delivery_id})
        session.flush()
        return delivery_view(row)


def list_deliveries(db: Database, *, actor: Actor, memo_id: str) -> list[DeliveryView]:
    """A memo's deliveries, newest first."""
    with db.read() as session:
        memo = _memo(session, actor, memo_id)
        rows = session.scalars(select(_delivery).where(_delivery.credit_memo_id == memo.id)
                               .order_by(_delivery.created_at.desc(), _delivery.id.desc()))
        return [delivery_view(r) for r in rows]
