"""The write-back job: sends pending applications of synced credit to their accounting
system and records the answer (Y11-Y13), at most once in effect (Y12).

Each attempt runs in steps, each its own short transaction, and no HTTP happens inside one:

1. **claim** — the application, still ``pending`` and due, gets a lease (its next attempt
   moves ``LEASE`` ahead) so no other worker sends it meanwhile;
2. **read before retry** — when an earlier attempt was sent (``write_back_sent_at``) and its
   outcome never known, the system is read first (``find_credit``): a record found there is
   that attempt's, and is recorded instead of being made again;
3. **mark sent, then send** — ``write_back_sent_at`` commits before the request leaves, so
   a worker killed after sending leaves the mark behind and step 2 runs next time; the
   request carries the write's idempotency key as well;
4. **record the answer** — made: ``applied``, the memo's and the invoice's figures moved by
   the amount the system accepted (under the customer → memo → invoice locks, as every use
   case), and a targeted sync queued that reads both documents' figures from the system;
   refused: ``failed`` with the system's words, nothing else changed; unknown (a timeout,
   throttling, a 5xx): ``pending`` again after a back-off, ``failed`` after
   ``MAX_ATTEMPTS``.

QuickBooks Desktop has no API to call: its write-backs travel in the Web Connector's next
session (``services.books.qbwc``), which uses the same recording steps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, delete, select, update

from creditdesk.connectors import base
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import application as invoice_rules
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import write_back as wb
from creditdesk.services.books import sync, write_back_events
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.events import outbox

log = logging.getLogger("creditdesk.write_back")

LEASE = wb.LEASE
BATCH = 100  # applications claimed per pass
WEB_CONNECTOR = memo_rules.Source.QUICKBOOKS_DESKTOP.value  # written in its sessions

_app = models.CreditApplication


@dataclass(frozen=True)
class Due:
    """One claimed write-back, with what the system needs to find its records."""

    application_id: str
    partner_id: str
    system: str
    action: str
    attempts: int
    sent: bool
    external_id: str | None
    integration_id: str | None
    write: base.CreditWrite


def due_ids(db: Database, *, now: datetime | None = None, limit: int = BATCH) -> list[str]:
    """Pending write-backs whose time has come (oldest first), QuickBooks Desktop's aside."""
    now = now or clock.now()
    with db.read() as session:
        return list(session.scalars(
            select(_app.id).where(_app.status == wb.Status.PENDING.value,
                                  _app.write_back_next_at <= now,
                                  _app.write_back_system != WEB_CONNECTOR)
            .order_by(_app.write_back_next_at, _app.id).limit(limit)))


def run_due(db: Database, connector_for: sync.ConnectorFactory, *,
            retry_base_seconds: float = 60.0, limit: int = BATCH) -> list[str]:
    """The job: attempt every due write-back once; the ids attempted."""
    done = []
    for app_id in due_ids(db, limit=limit):
        try:
            if attempt(db, app_id, connector_for, retry_base_seconds=retry_base_seconds):
                done.append(app_id)
        except Exception:  # the lease expires and the next pass tries again
            log.exception("write-back of application %s failed unexpectedly", app_id)
    return done


def attempt(db: Database, application_id: str, connector_for: sync.ConnectorFactory, *,
            retry_base_seconds: float = 60.0) -> bool:
    """One attempt at one write-back (steps 1-4); False when it was not claimable (another
    worker has it, or it is no longer pending or due)."""
    due = claim(db, application_id)
    if due is None:
        return False
    if due.integration_id is None:  # an earlier attempt's unknown outcome stays to be read
        record_refused(db, due, f"{_name(due.system)} is not connected; connect it again on "
                                "the Integrations page, then retry.", made_nothing=not due.sent)
        return True
    snap = sync.snapshot(db, due.integration_id)
    try:
        writer = connector_for(snap, sync.save_tokens(db, due.integration_id))
        if not isinstance(writer, base.CreditWriter):
            raise base.WriteRefused(f"writing to {_name(due.system)} is not available")
        if due.action == wb.Action.APPLY:
            _send_apply(db, due, writer)
        else:
            assert due.external_id is not None  # only an applied write-back is removed
            writer.remove_credit(due.write, due.external_id)
            record_removed(db, due)
    except base.NeedsReconnection as exc:
        record_refused(db, due, f"{_name(due.system)} needs to be connected again "
                                f"(Integrations page), then retry: {exc}",
                       made_nothing=not due.sent)
    except (base.WriteRefused, base.CannotRemove) as exc:
        record_refused(db, due, str(exc))
    except base.ConnectorError as exc:
        record_unanswered(db, due, str(exc), retry_base_seconds=retry_base_seconds)
    return True


def _send_apply(db: Database, due: Due, writer: base.CreditWriter) -> None:
    if due.sent:  # Y12: an earlier attempt may have landed; read before sending again
        found = writer.find_credit(due.write)
        if found is not None:
            record_written(db, due, found)
            return
    mark_sent(db, due.application_id)
    record_written(db, due, writer.write_credit(due.write))


def claim(db: Database, application_id: str) -> Due | None:
    """Step 1: lease a due write-back and read what sending it needs."""
    now = clock.now()
    with db.write() as session:
        row = session.scalars(select(_app).where(
            _app.id == application_id, _app.status == wb.Status.PENDING.value,
            _app.write_back_next_at <= now).with_for_update()).first()
        if row is None or row.write_back_system is None or row.write_back_action is None:
            return None
        row.write_back_next_at = now + LEASE
        row.write_back_attempts += 1
        memo = session.get_one(models.CreditMemo, row.credit_memo_id)
        invoice = session.get_one(models.Invoice, row.invoice_id)
        reference = (session.get(models.CustomerReference, memo.customer_reference_id)
                     if memo.customer_reference_id else None)
        integration = session.scalar(select(models.Integration.id).where(
            models.Integration.partner_id == row.partner_id,
            models.Integration.provider == row.write_back_system,
            models.Integration.status == "connected").order_by(models.Integration.id))
        known = frozenset(x for x in session.scalars(select(_app.write_back_external_id).where(
            _app.credit_memo_id == row.credit_memo_id, _app.id != row.id,
            _app.write_back_external_id.is_not(None))) if x)
        write = base.CreditWrite(
            application_id=row.id, request_key=row.write_back_key or row.id,
            memo_external_id=memo.external_id or "", invoice_external_id=invoice.external_id or "",
            customer_external_id=reference.external_id if reference else "",
            currency=memo.currency, amount_minor=row.amount_minor,
            on=_day(row.applied_at), known_external_ids=known)
        return Due(row.id, row.partner_id, row.write_back_system, row.write_back_action,
                   row.write_back_attempts, row.write_back_sent_at is not None,
                   row.write_back_external_id, integration, write)


def _day(at: datetime) -> date:
    return at.date()


def mark_sent(db: Database, application_id: str) -> None:
    """Step 3's mark, committed before the request leaves."""
    with db.write() as session:
        session.execute(update(_app).where(_app.id == application_id)
                        .values(write_back_sent_at=clock.now()))


def record_written(db: Database, due: Due, written: base.Written) -> None:
    """The system made the record: ``applied``; the figures move by the accepted amount
    until the targeted sync queued here reads the system's own."""
    now = clock.now()
    with db.write_connection() as conn:
        memo_id, invoice_id = _lock_documents(conn, due)
        if not _still(conn, due, wb.Action.APPLY):
            return
        conn.execute(update(_app).where(_app.id == due.application_id).values(
            status=wb.Status.APPLIED.value, write_back_action=None,
            write_back_external_id=written.external_id, write_back_error=None,
            write_back_next_at=None))
        _move(conn, memo_id, invoice_id, due.write.amount_minor, now)
        audit.record_on(conn, _actor(due), "credit_memo.write_back_applied", "credit_memo",
                        memo_id, {"application_id": due.application_id,
                                  "invoice_id": invoice_id, "system": due.system,
                                  "external_id": written.external_id})
    _read_back(db, due)


def record_removed(db: Database, due: Due) -> None:
    """The system deleted (or reversed) the record: the application goes, its credit back."""
    now = clock.now()
    with db.write_connection() as conn:
        memo_id, invoice_id = _lock_documents(conn, due)
        if not _still(conn, due, wb.Action.REMOVE):
            return
        conn.execute(delete(_app).where(_app.id == due.application_id))
        _move(conn, memo_id, invoice_id, -due.write.amount_minor, now)
        audit.record_on(conn, _actor(due), "credit_memo.write_back_removed", "credit_memo",
                        memo_id, {"application_id": due.application_id,
                                  "invoice_id": invoice_id, "system": due.system,
                                  "external_id": due.external_id})
    _read_back(db, due)


def record_refused(db: Database, due: Due, words: str, *, made_nothing: bool = True) -> None:
    """The system refused (or can't be reached for good): ``failed`` with its words, nothing
    else changed; the person may retry or cancel (Y12). ``made_nothing``: the system's
    answer says nothing was made, so the attempt no longer counts as sent (a retry gets a
    new key: a system that remembers the old one would replay this refusal); False when
    the outcome of an attempt is still unknown (the retry reads the system first)."""
    with db.write_connection() as conn:
        memo_id, _ = _lock_documents(conn, due)
        if not _still(conn, due, due.action):
            return
        sent = {"write_back_sent_at": None} if made_nothing else {}
        conn.execute(update(_app).where(_app.id == due.application_id).values(
            status=wb.Status.FAILED.value, write_back_error=words[:2000],
            write_back_next_at=None, **sent))
        audit.record_on(conn, _actor(due), "credit_memo.write_back_failed", "credit_memo",
                        memo_id, {"application_id": due.application_id,
                                  "action": due.action, "system": due.system,
                                  "error": words[:500]})
        outbox.emit(conn, due.partner_id, "write_back.failed",
                    lambda: write_back_events.failed_objects(conn, due.partner_id,
                                                                due.application_id))  # D5


def record_unanswered(db: Database, due: Due, problem: str, *,
                      retry_base_seconds: float) -> None:
    """No answer (a timeout, throttling, a 5xx): try again after a back-off; after
    ``MAX_ATTEMPTS`` the write-back is ``failed`` (a retry still reads the system first)."""
    if due.attempts >= wb.MAX_ATTEMPTS:
        record_refused(db, due, f"{_name(due.system)} did not answer after {due.attempts} "
                                f"attempts ({problem}); retry when it is reachable.",
                       made_nothing=False)
        return
    with db.write() as session:
        session.execute(update(_app).where(
            _app.id == due.application_id, _app.status == wb.Status.PENDING.value).values(
            write_back_next_at=clock.now() + wb.retry_after(due.attempts, retry_base_seconds)))


def _lock_documents(conn: Connection, due: Due) -> tuple[str, str]:
    """Customer, memo, invoice locked in the use cases' order, then the application read."""
    row = conn.execute(select(_app.credit_memo_id, _app.invoice_id)
                       .where(_app.id == due.application_id)).one()
    locks.lock_owner(conn, due.partner_id, models.CreditMemo, row.credit_memo_id)
    for model, id_ in ((models.CreditMemo, row.credit_memo_id),
                       (models.Invoice, row.invoice_id)):
        stmt = select(model.id).where(model.id == id_)
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        conn.execute(stmt)
    return row.credit_memo_id, row.invoice_id


def _still(conn: Connection, due: Due, action: str) -> bool:
    """The application is still the pending write-back this attempt claimed."""
    status = conn.scalar(select(_app.status).where(
        _app.id == due.application_id, _app.write_back_action == action))
    return status == wb.Status.PENDING.value


def _move(conn: Connection, memo_id: str, invoice_id: str, amount: int, now: datetime) -> None:
    """Move ``amount`` of credit (negative: give back) on the synced memo and invoice, as
    the system just did; kept within each document's total (a sync that already landed the
    system's new figures must not be counted twice; the read-back sets them exactly)."""
    memo = conn.execute(select(models.CreditMemo.total_minor, models.CreditMemo.applied_minor,
                               models.CreditMemo.status)
                        .where(models.CreditMemo.id == memo_id)).one()
    if memo.status != memo_rules.MemoStatus.VOID.value:
        applied = min(max(memo.applied_minor + amount, 0), memo.total_minor)
        status = memo_rules.status_for_amounts(total_minor=memo.total_minor,
                                               applied_minor=applied)
        conn.execute(update(models.CreditMemo).where(models.CreditMemo.id == memo_id).values(
            applied_minor=applied, status=status.value, updated_at=now,
            applied_at=now if status is memo_rules.MemoStatus.APPLIED else None))
    inv = conn.execute(select(models.Invoice.total_minor, models.Invoice.paid_minor,
                              models.Invoice.credited_minor, models.Invoice.status,
                              models.Invoice.currency)
                       .where(models.Invoice.id == invoice_id)).one()
    if inv.status != invoice_rules.InvoiceStatus.VOID.value:
        paid = min(max(inv.paid_minor + amount, 0), inv.total_minor - inv.credited_minor)
        status_ = invoice_rules.invoice_status(total_minor=inv.total_minor, paid_minor=paid,
                                               credited_minor=inv.credited_minor,
                                               currency=inv.currency)
        conn.execute(update(models.Invoice).where(models.Invoice.id == invoice_id).values(
            paid_minor=paid, status=status_.value, updated_at=now))


def _read_back(db: Database, due: Due) -> None:
    """Queue a targeted sync of the two documents: their figures become the system's."""
    if due.integration_id is None or due.system == WEB_CONNECTOR:
        return
    targets = {due.write.memo_external_id: base.CHANGED,
               base.invoice_key(due.write.invoice_external_id): base.CHANGED}
    sync.request_run(db, integration_id=due.integration_id, trigger="write_back",
                     targets=targets)


def _actor(due: Due) -> Actor:
    return Actor(due.partner_id, f"write_back:{due.system}")


def _name(system: str) -> str:
    return memo_rules.SOURCE_NAMES[memo_rules.Source(system)]

