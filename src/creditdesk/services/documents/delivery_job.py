"""D2's job: sends queued memo emails through the partner's SMTP server and records the
outcome — never the same delivery twice.

Each attempt runs in steps, each its own short transaction, and no SMTP happens inside one:

1. **claim** — a due delivery (``queued``, or ``failed`` whose next attempt has come) becomes
   ``sending`` in a committed conditional update (two workers: one wins). One asked for
   24 hours ago or more is ``gave_up`` instead.
2. **read and draw** — the memo's document is read (a memo voided meanwhile is not sent:
   ``gave_up``) and its PDF drawn; the message carries the delivery's own Message-ID.
3. **talk SMTP** — outside any transaction.
4. **record** — ``sent``; or, when the server refused (it answered: nothing was delivered),
   ``failed`` with its answer and the next attempt after the back-off (``gave_up`` once
   that would pass 24 hours); or, when the conversation broke off after the message was
   handed over (the outcome is unknown), ``gave_up`` saying it may have arrived.

A worker that dies between steps 1 and 4 leaves the delivery ``sending``: after
``SENDING_LEASE`` it is given up in the same way, never sent again automatically (at most
once in effect; docs/decisions.md, "Memo email: at most once"). A person can send the memo
again, as a new delivery with a new Message-ID.
"""

from __future__ import annotations

import email.policy
import logging
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import documents as rules
from creditdesk.domain import errors
from creditdesk.services.common import audit, vault
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.documents import drawing, email_settings, memo_documents

log = logging.getLogger("creditdesk.email")

BATCH = 50
SMTP_POLICY = email.policy.SMTP  # CRLF line ends, lines folded as RFC 5322 wants
TIMEOUT_SECONDS = 30.0
_delivery = models.MemoDelivery
_S = rules.DeliveryStatus


class Refused(Exception):
    """The server answered no (or could not be reached): nothing was delivered."""


class Unknown(Exception):
    """The conversation broke off after the message was handed over: it may have arrived."""


@dataclass(frozen=True)
class Claimed:
    id: str
    partner_id: str
    memo_id: str
    recipients: list[str]
    message_id: str
    attempts: int
    created_at: datetime


def retry_base_seconds() -> float:
    """API.md: CREDITDESK_RETRY_BASE_SECONDS (60 by default; tests set 1)."""
    try:
        return float(os.environ.get("CREDITDESK_RETRY_BASE_SECONDS", "60"))
    except ValueError:
        return 60.0


def due_ids(db: Database, *, now: datetime | None = None, limit: int = BATCH) -> list[str]:
    """Deliveries whose attempt has come, and ``sending`` ones past their lease."""
    now = now or clock.now()
    with db.read() as session:
        return list(session.scalars(
            select(_delivery.id).where(or_(
                _delivery.status.in_([_S.QUEUED.value, _S.FAILED.value])
                & (_delivery.next_attempt_at <= now),
                (_delivery.status == _S.SENDING.value)
                & (_delivery.sending_since <= now - rules.SENDING_LEASE)))
            .order_by(_delivery.next_attempt_at, _delivery.id).limit(limit)))


def run_due(db: Database, *, base_seconds: float | None = None,
            now: datetime | None = None, limit: int = BATCH) -> list[str]:
    """The job: attempt every due delivery once; the ids attempted."""
    base = retry_base_seconds() if base_seconds is None else base_seconds
    done = []
    for delivery_id in due_ids(db, now=now, limit=limit):
        try:
            if attempt(db, delivery_id, base_seconds=base, now=now):
                done.append(delivery_id)
        except Exception:  # the delivery stays as it was; the lease rule covers ``sending``
            log.exception("delivery %s failed unexpectedly", delivery_id)
    return done


def attempt(db: Database, delivery_id: str, *, base_seconds: float,
            now: datetime | None = None) -> bool:
    """One attempt at one delivery (steps 1-4); False when it was not claimable. ``now``
    (tests: a later time) is when the attempt is taken to happen."""
    if give_up_stale(db, delivery_id, now=now):
        return True
    claimed = claim(db, delivery_id, now=now)
    if claimed is None:
        return False
    try:
        with db.read() as session:
            smtp = email_settings.smtp_of(session, claimed.partner_id)
            doc = memo_documents.read_document(session, claimed.partner_id, claimed.memo_id)
            rules.check_sendable(status=doc.memo.status, number=doc.memo.number)
    except errors.InvalidState as exc:
        record(db, claimed, _S.GAVE_UP, f"Not sent: {exc.detail}")
        return True
    except vault.VaultError:
        _failed(db, claimed, "The stored SMTP password can't be decrypted (the server's "
                "secret key changed?): save the email settings again.", base_seconds, now)
        return True
    if smtp is None:
        _failed(db, claimed, "Email is not set up (Team Preferences > Email).", base_seconds,
                now)
        return True
    message = build_message(smtp, claimed, doc, drawing.render(doc))
    try:
        problems = deliver(smtp, message, claimed.recipients)
    except Refused as exc:
        _failed(db, claimed, str(exc), base_seconds, now)
    except Unknown as exc:
        record(db, claimed, _S.GAVE_UP,
               f"The connection to {smtp.host} broke off after the message was handed over "
               f"({exc}); it may have arrived (Message-ID {claimed.message_id}), so it is not "
               "sent again automatically. Check with the customer, or send it again.")
    else:
        record(db, claimed, _S.SENT, problems or None)
    return True


def give_up_stale(db: Database, delivery_id: str, *, now: datetime | None = None) -> bool:
    """A delivery still ``sending`` past its lease (its worker stopped mid-attempt): its
    outcome is unknown, so it is given up, not sent again."""
    now = now or clock.now()
    with db.write() as session:
        row = session.scalars(select(_delivery).where(
            _delivery.id == delivery_id, _delivery.status == _S.SENDING.value,
            _delivery.sending_since <= now - rules.SENDING_LEASE).with_for_update()).first()
        if row is None:
            return False
        row.status, row.sending_since, row.next_attempt_at = _S.GAVE_UP.value, None, None
        row.last_error = ("The attempt was interrupted while sending (the worker stopped); "
                          f"it may have arrived (Message-ID {row.message_id}), so it is not "
                          "sent again automatically. Check with the customer, or send it "
                          "again.")
        row.updated_at = now
        _audit(session, row, _S.GAVE_UP.value, row.last_error)
        return True


def claim(db: Database, delivery_id: str, *, now: datetime | None = None) -> Claimed | None:
    """Step 1: ``sending``, committed before any SMTP; None when another worker has it or
    it is not due. One asked for 24 hours ago is given up here instead."""
    now = now or clock.now()
    with db.write() as session:
        row = session.scalars(select(_delivery).where(
            _delivery.id == delivery_id,
            _delivery.status.in_([_S.QUEUED.value, _S.FAILED.value]),
            _delivery.next_attempt_at <= now).with_for_update()).first()
        if row is None:
            return None
        if rules.expired(created_at=row.created_at, now=now):
            row.status, row.next_attempt_at, row.updated_at = _S.GAVE_UP.value, None, now
            row.last_error = (f"Not sent within 24 hours; last answer: "
                              f"{row.last_error or 'none'}")[:2000]
            _audit(session, row, _S.GAVE_UP.value, row.last_error)
            return None
        row.status, row.sending_since, row.updated_at = _S.SENDING.value, now, now
        row.attempts += 1
        return Claimed(row.id, row.partner_id, row.credit_memo_id, list(row.recipients),
                       row.message_id, row.attempts, row.created_at)


def record(db: Database, claimed: Claimed, status: rules.DeliveryStatus, error: str | None,
           next_at: datetime | None = None) -> None:
    """Step 4: the outcome of a claimed attempt (only while it is still ``sending``)."""
    now = clock.now()
    with db.write() as session:
        changed = session.execute(update(_delivery).where(
            _delivery.id == claimed.id, _delivery.status == _S.SENDING.value).values(
            status=status.value, last_error=error[:2000] if error else None,
            next_attempt_at=next_at, sending_since=None, updated_at=now,
            sent_at=now if status is _S.SENT else None))
        if getattr(changed, "rowcount", 1):
            row = session.get_one(_delivery, claimed.id)
            _audit(session, row, status.value, error)


def _failed(db: Database, claimed: Claimed, answer: str, base_seconds: float,
            now: datetime | None) -> None:
    status, next_at = rules.after_failure(attempts=claimed.attempts,
                                          created_at=claimed.created_at,
                                          now=now or clock.now(), base_seconds=base_seconds)
    if status is _S.GAVE_UP:
        answer = f"Not sent within 24 hours; last answer: {answer}"
    record(db, claimed, status, answer, next_at)


def _audit(session: Session, row: models.MemoDelivery, outcome: str,
           error: str | None) -> None:
    audit.record(session, Actor(row.partner_id, "email"), f"credit_memo.email_{outcome}",
                 "credit_memo", row.credit_memo_id,
                 {"delivery_id": row.id, "to": list(row.recipients), "attempt": row.attempts,
                  "error": (error or "")[:500] or None})


def build_message(smtp: email_settings.Smtp, claimed: Claimed,
                  doc: drawing.MemoDocument, pdf: bytes) -> EmailMessage:
    """The email: from the partner's address, the delivery's Message-ID, a short text and
    the PDF attached."""
    sender = doc.profile.shown_name
    msg = EmailMessage()
    msg["From"] = f"{sender} <{smtp.from_address}>" if sender else smtp.from_address
    msg["To"] = ", ".join(claimed.recipients)
    msg["Subject"] = f"Credit memo {doc.memo.number} from {sender}"
    msg["Message-ID"] = claimed.message_id
    msg["Date"] = format_datetime(clock.now())
    note = f"\n{doc.customer_note}\n" if doc.customer_note else ""
    msg.set_content(
        f"Hello {doc.customer_name},\n\n"
        f"Please find attached credit memo {doc.memo.number} for {doc.memo.total.shown()}"
        f" (remaining credit {doc.memo.remaining_amount.shown()}).\n{note}\n"
        f"{sender}\n")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=doc.filename)
    return msg


def check_addresses(host: str, port: int) -> None:
    """The addresses ``host`` resolves to are public unless the deployment allows private
    ones (API.md); refused as ``Refused`` (retried: DNS may change, or the setting)."""
    if email_settings.allow_private():
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"{host} could not be resolved: {exc}") from None
    for info in infos:
        address = str(info[4][0])
        if rules.is_private_address(address):
            raise Refused(f"{host} resolves to {address}, a loopback or private address; "
                          "email is only sent to public SMTP servers") from None


def _connect(smtp: email_settings.Smtp) -> smtplib.SMTP:
    check_addresses(smtp.host, smtp.port)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == rules.Security.TLS:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS)
        if smtp.security == rules.Security.STARTTLS:
            client.starttls(context=context)
    if smtp.username and smtp.password is not None:
        client.login(smtp.username, smtp.password)
    return client


def deliver(smtp: email_settings.Smtp, message: EmailMessage, recipients: list[str]) -> str:
    """Step 3: one SMTP conversation. Returns what went partly wrong (recipients refused
    while others were accepted: "" when nothing); raises ``Refused`` when nothing was
    delivered, ``Unknown`` when the outcome can't be told."""
    phase = "before"
    client: smtplib.SMTP | None = None
    try:
        client = _connect(smtp)
        client.ehlo_or_helo_if_needed()
        code, answer = client.mail(smtp.from_address)
        if code != 250:
            raise Refused(f"{code} {answer.decode(errors='replace')}")
        refused = {}
        for address in recipients:
            code, answer = client.rcpt(address)
            if code not in (250, 251):
                refused[address] = f"{code} {answer.decode(errors='replace')}"
        if len(refused) == len(recipients):
            raise Refused("; ".join(f"{a}: {w}" for a, w in refused.items()))
        phase = "data"
        code, answer = client.data(message.as_bytes(policy=SMTP_POLICY))
        phase = "done"
        if code != 250:  # the server answered the message itself: it took nothing
            raise Refused(f"{code} {answer.decode(errors='replace')}")
        return "; ".join(f"not accepted for {a}: {w}" for a, w in refused.items())
    except (Refused, Unknown):
        raise
    except smtplib.SMTPResponseException as exc:  # the server answered: nothing delivered
        words = exc.smtp_error.decode(errors="replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        raise Refused(f"{exc.smtp_code} {words}") from None
    except (OSError, smtplib.SMTPException) as exc:
        if phase == "data":
            raise Unknown(f"{type(exc).__name__}: {exc}") from None
        raise Refused(f"{smtp.host}:{smtp.port}: {type(exc).__name__}: {exc}") from None
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
