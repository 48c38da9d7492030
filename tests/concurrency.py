"""Racing real threads through the service layer, for the concurrency tests.

Every race releases its threads through one ``threading.Barrier`` so they really start
together, and joins them with a timeout so a deadlock fails the test instead of hanging it.
Only the domain refusals the rules promise are accepted; any other exception (a database
error, a detected deadlock, an IntegrityError from the constraints behind the locks,
"database is locked") fails the test.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.journal import Account, EntryKind
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor

JOIN_TIMEOUT = 90.0
SQLITE = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
MS = memo_rules.MemoStatus


# --- racing -------------------------------------------------------------------------------

@dataclass
class Outcome:
    label: str
    value: object = None
    error: BaseException | None = None


Calls = list[tuple[str, Callable[[], object]]]


def race(calls: Calls, timeout: float = JOIN_TIMEOUT) -> list[Outcome]:
    """Run every call in its own thread, all released at once; fail if any is still running
    after ``timeout`` (a deadlock must fail, not hang)."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome(label) for label, _ in calls]

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout)
            outcomes[i].value = call()
        except BaseException as exc:  # recorded and judged by the test
            outcomes[i].error = exc

    threads = [threading.Thread(target=run, args=(i, call), name=f"race-{i}-{label}", daemon=True)
               for i, (label, call) in enumerate(calls)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"deadlock: {len(stuck)} threads still running after {timeout}s: {stuck}"
    return outcomes


def settle(outcomes: list[Outcome], allowed: dict[str, tuple[type[errors.DomainError], ...]],
           ) -> tuple[dict[str, list[Outcome]], dict[str, list[Outcome]]]:
    """Split outcomes per label into successes and refusals; any exception that is not one
    of the domain refusals allowed for that label fails the test."""
    unexpected = [o for o in outcomes if o.error is not None
                  and not isinstance(o.error, allowed.get(o.label, ()))]
    assert not unexpected, "unexpected exceptions:\n" + "\n".join(
        f"  {o.label}: {type(o.error).__module__}.{type(o.error).__name__}: {o.error}"
        for o in unexpected[:10])
    ok: dict[str, list[Outcome]] = {}
    refused: dict[str, list[Outcome]] = {}
    for o in outcomes:
        (ok if o.error is None else refused).setdefault(o.label, []).append(o)
    return ok, refused


def count(groups: dict[str, list[Outcome]], label: str) -> int:
    return len(groups.get(label, []))


# --- set-up and reading back --------------------------------------------------------------

def new_actor(db: Database) -> Actor:
    p = partners.create_partner(db, name="Race MSP",
                                admin_email=f"admin-{uuid.uuid4().hex[:12]}@race.test",
                                admin_password="correct horse")
    return partners.authenticate_api_key(db, p.api_key)


def memo_row(db: Database, memo_id: str) -> models.CreditMemo:
    with db.read() as s:
        row = s.get(models.CreditMemo, memo_id)
        assert row is not None
        return row


def invoice_row(db: Database, invoice_id: str) -> models.Invoice:
    with db.read() as s:
        row = s.get(models.Invoice, invoice_id)
        assert row is not None
        return row


def applications_sum(db: Database, *, memo_id: str | None = None,
                     invoice_id: str | None = None) -> int:
    ca = models.CreditApplication
    stmt = select(func.coalesce(func.sum(ca.amount_minor), 0))
    if memo_id:
        stmt = stmt.where(ca.credit_memo_id == memo_id)
    if invoice_id:
        stmt = stmt.where(ca.invoice_id == invoice_id)
    with db.read() as s:
        return int(s.scalar(stmt))


def journal_count(db: Database, source_id: str, kind: EntryKind) -> int:
    je = models.JournalEntry
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(je).where(
            je.source_id == source_id, je.kind == kind.value)))


def activities(db: Database, source_id: str) -> list[models.InventoryActivity]:
    ia = models.InventoryActivity
    with db.read() as s:
        return list(s.scalars(select(ia).where(ia.source_id == source_id).order_by(ia.id)).all())


def assert_books(db: Database, actor: Actor) -> None:
    """After the race: A2 and C7 for every memo and invoice, I4, J1, J2, J3."""
    pid = actor.partner_id
    with db.read() as s:
        memo_rows = s.scalars(select(models.CreditMemo).where(
            models.CreditMemo.partner_id == pid)).all()
        invoice_rows = s.scalars(select(models.Invoice).where(
            models.Invoice.partner_id == pid)).all()
        ca = models.CreditApplication
        by_memo = dict(s.execute(select(ca.credit_memo_id, func.sum(ca.amount_minor))
                                 .where(ca.partner_id == pid).group_by(ca.credit_memo_id)).all())
        rf = models.Refund  # R1: refunds not voided use credit too
        refunded = dict(s.execute(select(rf.credit_memo_id, func.sum(rf.amount_minor))
                                  .where(rf.partner_id == pid, rf.voided_at.is_(None))
                                  .group_by(rf.credit_memo_id)).all())
        by_invoice = dict(s.execute(select(ca.invoice_id, func.sum(ca.amount_minor))
                                    .where(ca.partner_id == pid).group_by(ca.invoice_id)).all())
        pay = models.Payment
        paid = dict(s.execute(select(pay.invoice_id, func.sum(pay.amount_minor))
                              .where(pay.partner_id == pid).group_by(pay.invoice_id)).all())
        entries = s.scalars(select(models.JournalEntry).where(
            models.JournalEntry.partner_id == pid)).all()
        variants = s.scalars(select(models.Variant).where(models.Variant.partner_id == pid)).all()
        ia = models.InventoryActivity
        stock = dict(s.execute(select(ia.variant_id, func.sum(ia.quantity))
                               .where(ia.partner_id == pid).group_by(ia.variant_id)).all())
    for m in memo_rows:
        assert 0 <= m.applied_minor <= m.total_minor, m.number  # A2
        assert int(refunded.get(m.id, 0)) == m.refunded_minor, m.number  # refunds sum
        # the credit used: applications and refunds (C7: applied + refunded + remaining)
        assert int(by_memo.get(m.id, 0)) + m.refunded_minor == m.applied_minor, m.number
        if m.status in (MS.VOID, MS.DRAFT):
            assert m.applied_minor == 0, m.number  # C7: a void memo has nothing remaining
        else:  # L3, U2: the status follows from the amounts
            assert m.status == memo_rules.status_for_amounts(
                total_minor=m.total_minor, applied_minor=m.applied_minor), m.number
    for inv in invoice_rows:
        assert int(by_invoice.get(inv.id, 0)) == inv.credited_minor, inv.number
        assert int(paid.get(inv.id, 0)) == inv.paid_minor, inv.number
        assert 0 <= inv.paid_minor + inv.credited_minor <= inv.total_minor, inv.number  # A2, I4
        if inv.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            balance = inv.total_minor - inv.paid_minor - inv.credited_minor
            expected = (InvoiceStatus.PAID if balance == 0 else InvoiceStatus.PARTIALLY_PAID
                        if inv.paid_minor or inv.credited_minor else InvoiceStatus.OPEN)
            assert inv.status == expected, inv.number  # I5
    # J1: every entry is two-legged and positive, so debits and credits agree per currency.
    for e in entries:
        assert e.amount_minor > 0 and e.debit_account != e.credit_account
    # J2, per currency.
    ar = Account.ACCOUNTS_RECEIVABLE.value
    for cur in {e.currency for e in entries} | {m.currency for m in memo_rows}:
        ar_balance = sum(e.amount_minor for e in entries if e.currency == cur
                         and e.debit_account == ar) - sum(
            e.amount_minor for e in entries if e.currency == cur and e.credit_account == ar)
        due = sum(i.total_minor - i.paid_minor - i.credited_minor for i in invoice_rows
                  if i.currency == cur and i.status not in (InvoiceStatus.DRAFT,
                                                            InvoiceStatus.VOID))
        remaining = sum(m.total_minor - m.applied_minor for m in memo_rows if m.currency == cur
                        and m.source == "native" and m.status in (MS.ISSUED, MS.PARTIALLY_APPLIED))
        assert ar_balance == due - remaining, f"J2 broken in {cur}"
    for v in variants:  # J3
        assert v.stock_on_hand == int(stock.get(v.id, 0)), v.sku
