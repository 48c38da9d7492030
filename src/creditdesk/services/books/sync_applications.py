"""Y14: the next sync reconciles applications with the system's own record of them.

A connector that reads how a memo's credit was applied (``RemoteMemo.applications``: the
system's record, the invoice, the amount) lets a page's landing bring this side in line,
in the page's transaction (its memos are locked by the page's prefetch):

- an application made in the system directly appears here (``origin`` ``source_system``,
  ``applied``), once its invoice has been synced;
- an application here whose record the system no longer has was removed there directly: it
  goes here too (a pending removal is then simply done);
- a write-back that was sent but that the system never received — nothing of it in the
  system's answer, its lease long over — is marked ``failed`` with words that say so,
  never silently applied; the person may retry it.

Figures are not touched: a synced memo's applied amount and an invoice's balance are always
the system's own (Y4, Y9), landed by the upsert.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.domain import memo as rules
from creditdesk.domain import write_back as wb
from creditdesk.services.books import write_back_events
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, new_id
from creditdesk.services.events import outbox

_app = models.CreditApplication


def reconcile(session: Session, actor: Actor, source: rules.Source,
              reported: dict[str, tuple[base.RemoteApplication, ...]], now: datetime) -> int:
    """Bring the applications of the page's memos (memo id → what the system reports) in
    line with the system; the number of applications added or removed."""
    if not reported:
        return 0
    inv = models.Invoice
    wanted = sorted({a.invoice_external_id for apps in reported.values() for a in apps})
    invoices: dict[str | None, str] = {ext: id_ for ext, id_ in session.execute(
        select(inv.external_id, inv.id).where(
            inv.partner_id == actor.partner_id, inv.source == source.value,
            inv.external_id.in_(wanted)))} if wanted else {}
    held = session.scalars(select(_app).where(_app.credit_memo_id.in_(sorted(reported)))
                           .order_by(_app.id)).all()
    by_memo: dict[str, list[models.CreditApplication]] = {}
    for row in held:
        by_memo.setdefault(row.credit_memo_id, []).append(row)
    changed = 0
    for memo_id, apps in reported.items():
        changed += _one_memo(session, actor, source, memo_id, apps, by_memo.get(memo_id, []),
                             invoices, now)
    return changed


def _one_memo(session: Session, actor: Actor, source: rules.Source, memo_id: str,
              apps: tuple[base.RemoteApplication, ...], held: list[models.CreditApplication],
              invoices: dict[str | None, str], now: datetime) -> int:
    records = {a.record_id for a in apps}
    known = {row.write_back_external_id for row in held if row.write_back_external_id}
    changed = 0
    for row in held:
        if row.write_back_external_id and row.write_back_external_id not in records:
            # its record is gone there: removed in the system directly (or our removal,
            # pending or refused, is done after all)
            session.execute(delete(_app).where(_app.id == row.id))
            audit.record(session, actor, "credit_memo.sync_application_removed",
                         "credit_memo", memo_id,
                         {"application_id": row.id, "invoice_id": row.invoice_id,
                          "system": source.value, "external_id": row.write_back_external_id})
            changed += 1
        elif _never_received(row, now):
            session.execute(update(_app).where(_app.id == row.id).values(
                status=wb.Status.FAILED.value, write_back_next_at=None,
                write_back_error=(f"{rules.SOURCE_NAMES[source]} never received this "
                                  "application: nothing of it was there at the last sync. "
                                  "Retry to send it again.")))
            audit.record(session, actor, "credit_memo.write_back_failed", "credit_memo",
                         memo_id, {"application_id": row.id, "system": source.value,
                                   "error": "never received"})
            outbox.emit(session, actor.partner_id, "write_back.failed",  # D4, as the job's
                        partial(write_back_events.failed_objects, session.connection(),
                                actor.partner_id, row.id))
    for a in apps:
        invoice_id = invoices.get(a.invoice_external_id)
        if a.record_id in known or invoice_id is None or a.amount_minor <= 0:
            continue  # ours, or its invoice not synced yet (the next run adds it)
        if any(r.status == wb.Status.PENDING.value and r.write_back_action == "apply"
               and r.invoice_id == invoice_id for r in held):
            continue  # maybe our unanswered write-back: the job reads it first (Y12)
        app_id = new_id("app")
        session.add(models.CreditApplication(
            id=app_id, partner_id=actor.partner_id, credit_memo_id=memo_id,
            invoice_id=invoice_id, amount_minor=a.amount_minor, applied_at=now,
            applied_by=actor.name, status=wb.Status.APPLIED.value,
            origin=wb.Origin.SOURCE_SYSTEM.value, write_back_system=source.value,
            write_back_external_id=a.record_id, write_back_attempts=0))
        audit.record(session, actor, "credit_memo.sync_application", "credit_memo", memo_id,
                     {"application_id": app_id, "invoice_id": invoice_id,
                      "system": source.value, "external_id": a.record_id,
                      "amount_minor": a.amount_minor})
        changed += 1
    return changed


def _never_received(row: models.CreditApplication, now: datetime) -> bool:
    """A pending apply sent long enough ago that its answer can't still be on its way."""
    if row.status != wb.Status.PENDING.value or row.write_back_action != "apply":
        return False
    sent = row.write_back_sent_at
    return sent is not None and now - sent > wb.NEVER_RECEIVED_AFTER
