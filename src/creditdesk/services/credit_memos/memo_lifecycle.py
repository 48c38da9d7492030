"""Issuing and voiding credit memos (L2, L4, L5): postings and restock, exactly once."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.db import document_statements as docs
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import inventory, journal
from creditdesk.domain import memo as rules
from creditdesk.domain.inventory import ActivityKind, StockMove
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import approvals, memos
from creditdesk.services.events import outbox
from creditdesk.services.read_models import views

MAX_VOID_REASON = rules.MAX_VOID_REASON  # the API schema's limit


def issue_memo(db: Database, *, actor: Actor, memo_id: str) -> views.MemoView:
    """L2: draft -> issued; Dr Sales Returns (net), Dr Sales Tax Payable (tax) / Cr AR
    (total) (T4); variant lines return to stock.

    The status check under the customer lock makes a retry or a racing second issue fail
    with invalid_state; the unique posting and restock indexes are the second line.
    """
    now = clock.now()
    with db.write_connection() as conn:
        # memos._lock_memo's order (customer, then the memo), in prebuilt Core statements
        # (db/document_statements.py): issuing is an everyday write.
        locks.lock_owner(conn, actor.partner_id, models.CreditMemo, memo_id)
        found = docs.memo_with_lines(conn, actor.partner_id,
                                     locks.checked_id(models.CreditMemo, memo_id), lock=True)
        if found is None:
            raise locks.not_found(models.CreditMemo, memo_id)
        memo, lines = found
        memos.check(memo, rules.Action.ISSUE)
        approvals.check_issue_on(conn, actor.partner_id, memo)  # AP1
        if memo.invoice_id is not None:
            with Session(bind=conn) as session:
                memos.recheck_link(session, memo, lines)
        memo = replace(memo, status=rules.MemoStatus.ISSUED.value, issued_at=now,
                       issue_date=memo.issue_date or now.date(), updated_at=now)
        assert memo.issue_date is not None and memo.issued_at is not None
        docs.set_memo_issued(conn, memo.id, status=memo.status, issued_at=memo.issued_at,
                             issue_date=memo.issue_date, now=now)
        for posting in journal.memo_issued_with_tax(
                Money(memo.total_minor - memo.tax_minor, memo.currency),
                Money(memo.tax_minor, memo.currency), memo.number):
            ledger.post_on(conn, actor.partner_id, posting, entry_date=memo.issue_date,
                           source_type="credit_memo", source_id=memo.id)
        ledger.move_stocks_on(conn, actor.partner_id, inventory.moves_for_lines(lines, sign=1),
                              kind=ActivityKind.RESTOCK, source_type="credit_memo",
                              source_id=memo.id)
        audit.record_on(conn, actor, "credit_memo.issue", "credit_memo", memo.id,
                        {"number": memo.number, "currency": memo.currency,
                         "total": Money(memo.total_minor, memo.currency).to_str()})
        view = views.memo_view_of(memo, lines)
        outbox.emit(conn, actor.partner_id, "credit_memo.issued", {"credit_memo": view})
        return view


def void_memo(db: Database, *, actor: Actor, memo_id: str, reason: object) -> views.MemoView:
    """L4/L5: void a draft or an issued memo with nothing applied, with a reason.

    Voiding an issued memo reverses what issuing did: Dr AR / Cr Sales Returns, and a
    reversing inventory activity for each restocked line.
    """
    void_reason = rules.parse_void_reason(reason)
    now = clock.now()
    with db.write() as session:
        memo = memos._lock_memo(session, actor, memo_id)
        memos.check(memo, rules.Action.VOID)
        was_issued = memo.status == rules.MemoStatus.ISSUED
        memo.status = rules.MemoStatus.VOID.value
        memo.voided_at = now
        memo.void_reason = void_reason
        memo.updated_at = now
        if was_issued:
            for posting in journal.memo_voided_with_tax(
                    Money(memo.total_minor - memo.tax_minor, memo.currency),
                    Money(memo.tax_minor, memo.currency), memo.number):
                ledger.post(session, actor.partner_id, posting, entry_date=now.date(),
                            source_type="credit_memo", source_id=memo.id)
            _reverse_restock(session, actor, memo)
        audit.record(session, actor, "credit_memo.void", "credit_memo", memo.id,
                     {"number": memo.number, "reason": memo.void_reason,
                      "was": "issued" if was_issued else "draft"})
        view = views.memo_view(memo)
        outbox.emit(session, actor.partner_id, "credit_memo.voided", {"credit_memo": view})
        return view


def _reverse_restock(session: Session, actor: Actor, memo: models.CreditMemo) -> None:
    ia = models.InventoryActivity
    restocks = session.scalars(select(ia).where(
        ia.source_id == memo.id, ia.kind == ActivityKind.RESTOCK.value).order_by(ia.id)).all()
    ledger.move_stocks(session, actor.partner_id,
                       [StockMove(r.variant_id, -r.quantity, r.source_line_id) for r in restocks],
                       kind=ActivityKind.RESTOCK_REVERSAL, source_type="credit_memo",
                       source_id=memo.id)
