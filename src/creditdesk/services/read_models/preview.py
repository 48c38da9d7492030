"""P6: what a credit change would do, without doing it.

A preview runs the real use case (``memo_lifecycle.issue_memo``, ``credit.apply_credit_only``…)
inside one transaction that is always rolled back, and reads what it wrote before the
rollback: the journal lines it posted, the stock it moved, the memo and invoice after it,
and what the Customer Portal would show (the portal's own read model, run in the same
transaction). There is no second implementation of any rule: a refusal is the use case's
own error, raised after the rollback.

Nothing survives a preview: the rollback takes back every row (memo, invoice, journal,
inventory, audit event, outbox, counters), and callbacks deferred with
``Database.after_commit`` (a job's wake-up) are dropped with the transaction.

A new operation (refunds, issue 14) plugs in by passing its use case to ``of`` with the
documents whose journal and inventory rows it writes (``sources``). The issue of an invoice
touches no memo of its own (``credit_memo`` None) but may apply credit automatically (AU1):
each memo it applies is in ``automatic``, before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.db import models, units
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.accounting import ledger
from creditdesk.services.common.context import Actor, new_id
from creditdesk.services.credit_memos import (
    auto_apply,
    credit,
    memo_lifecycle,
    memos,
    portal_credit,
    refunds,
)
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import portal, views


@dataclass(frozen=True)
class StockMove:
    """One inventory activity the change would record, and the stock it would leave."""

    variant_id: str
    sku: str
    name: str
    quantity: int
    kind: str
    stock_after: int


@dataclass(frozen=True)
class PortalEffect:
    """What the customer's portal would show after the change (P3).

    When credit is hidden from the customer, only what the portal shows anyway is here (the
    invoice's status and balance due): no memo, no credit amounts, as on the portal itself.
    """

    customer_name: str
    credit_visible: bool
    available_credit: list[Money] | None  # None when hidden
    credit_memo: portal.PortalMemo | None  # None when hidden or not shown (draft, void)
    invoice: portal.PortalInvoiceDetail | None

    @property
    def invoice_credit_applied(self) -> Money | None:
        """The credit the portal shows on the invoice; None when it shows none (hidden)."""
        if self.invoice is None or self.invoice.credits_applied is None:
            return None
        total = Money.zero(self.invoice.invoice.currency)
        for c in self.invoice.credits_applied:
            total = total + c.amount
        return total


@dataclass(frozen=True)
class AutomaticApplication:
    """AU1: credit the change applies automatically (an invoice's issue), with its memo as
    it was and as it would be."""

    amount: Money
    credit_memo: views.MemoView
    memo_before: views.MemoView | None


@dataclass(frozen=True)
class Preview:
    journal: list[ledger.JournalEntryView]  # the entries the change posts, oldest first
    inventory: list[StockMove]
    credit_memo: views.MemoView | None  # None: a change of an invoice alone (its issue)
    invoice: views.InvoiceView | None
    portal: PortalEffect
    # The two documents as they were, read just before the change.
    memo_before: views.MemoView | None = None
    invoice_before: views.InvoiceView | None = None
    automatic: tuple[AutomaticApplication, ...] = ()  # AU1, oldest memo first

    @property
    def journal_lines(self) -> list[tuple[ledger.JournalEntryView, ledger.JournalLineView]]:
        return [(entry, line) for entry in self.journal for line in entry.lines]


@contextmanager
def rolled_back(db: Database) -> Iterator[units.Unit]:
    """Every write of the block joins one transaction (each use case a savepoint of it, as
    for a keyed request), and reads see those writes; the transaction is rolled back when
    the block ends, whatever happens in it."""
    with units.opened(db) as unit:
        unit.bind(lambda _conn: None)
        try:
            yield unit
        finally:
            unit.close()


def of(db: Database, *, actor: Actor, memo_id: str | None, invoice_id: str | None,
       change: Callable[[], Any], sources: Iterable[str] = ()) -> Preview:
    """Run ``change`` (a use case) and roll it back; what it did to the memo, the invoice,
    the journal and the stock, and the customer's portal after it. Without a memo (an
    invoice's issue), the memos it applied automatically (AU1)."""
    # Ids are "<prefix>_<ulid>", time-ordered: the rows written from now on sort after
    # "je" + marker (journal entries), "ia" + marker (inventory activities) and "app" +
    # marker (credit applications).
    marker = new_id("")
    with rolled_back(db):
        memo_before, invoice_before = _before(db, actor, memo_id, invoice_id)
        credit_before = (_credit_of(db, actor, invoice_before)
                         if memo_id is None and invoice_before is not None else {})
        change()
        memo = memos.get_memo(db, actor=actor, memo_id=memo_id) if memo_id is not None else None
        invoice = (invoices.get_invoice(db, actor=actor, invoice_id=invoice_id)
                   if invoice_id is not None else None)
        owner = memo or invoice
        assert owner is not None
        with db.read() as session:
            # The change held the customer's lock until now, so no other request wrote
            # rows for these documents meanwhile: what is newer than the marker is its own.
            ids = [*([memo.id] if memo else []), *([invoice.id] if invoice else []), *sources]
            lines = _journal(session, actor, ids, "je" + marker)
            moves = _stock(session, actor, ids, "ia" + marker)
            customer = session.get(models.Customer, owner.customer_id)
            assert customer is not None
            auto = (_automatic(session, invoice.id, "app" + marker)
                    if memo is None and invoice is not None else [])
        automatic = tuple(AutomaticApplication(Money(minor, owner.currency),
                                               memos.get_memo(db, actor=actor, memo_id=m),
                                               credit_before.get(m)) for m, minor in auto)
        who = PortalCustomer(actor.partner_id, owner.customer_id, customer.name)
        effect = portal_effect(db, who=who, memo_id=memo.id if memo else None,
                               invoice_id=invoice.id if invoice else None)
    return Preview(lines, moves, memo, invoice, effect, memo_before, invoice_before, automatic)


def _credit_of(db: Database, actor: Actor,
               invoice: views.InvoiceView) -> dict[str, views.MemoView]:
    """The customer's native credit in the invoice's currency, by memo id: what AU1 may take
    (its memos as they were, for the preview of an issue)."""
    page = memos.list_memos(db, actor=actor, customer_id=invoice.customer_id, source="native",
                            statuses=["issued", "partially_applied"], limit=200)
    return {m.id: m for m in page.data if m.currency == invoice.currency}


def _automatic(session: Session, invoice_id: str, marker: str) -> list[tuple[str, int]]:
    """AU1: (memo id, amount) of each automatic application to the invoice newer than the
    marker, in the order they were made (oldest memo first)."""
    ca = models.CreditApplication
    return [(r.credit_memo_id, r.amount_minor) for r in session.execute(
        select(ca.credit_memo_id, ca.amount_minor).where(
            ca.invoice_id == invoice_id, ca.origin == "automatic", ca.id > marker)
        .order_by(ca.id))]


def _before(db: Database, actor: Actor, memo_id: str | None,
            invoice_id: str | None) -> tuple[views.MemoView | None, views.InvoiceView | None]:
    """The documents before the change; None for a missing one (the change itself then
    refuses, with its own words)."""
    try:
        memo = memos.get_memo(db, actor=actor, memo_id=memo_id) if memo_id is not None else None
        invoice = (invoices.get_invoice(db, actor=actor, invoice_id=invoice_id)
                   if invoice_id is not None else None)
    except errors.NotFound:
        return None, None
    return memo, invoice


def _journal(session: Session, actor: Actor, sources: list[str],
             marker: str) -> list[ledger.JournalEntryView]:
    je = models.JournalEntry
    rows = session.scalars(select(je).where(
        je.partner_id == actor.partner_id, je.source_id.in_(sources),
        je.id > marker).order_by(je.id)).all()
    return [ledger.entry_view(row) for row in rows]


def _stock(session: Session, actor: Actor, sources: list[str], marker: str) -> list[StockMove]:
    ia, v = models.InventoryActivity, models.Variant
    rows = session.execute(
        select(ia, v).join(v, v.id == ia.variant_id)
        .where(ia.partner_id == actor.partner_id, ia.source_id.in_(sources),
               ia.id > marker).order_by(ia.id)).all()
    return [StockMove(a.variant_id, var.sku, var.name, a.quantity, a.kind,
                      var.stock_on_hand) for a, var in rows]


def portal_effect(db: Database, *, who: PortalCustomer, memo_id: str | None,
                  invoice_id: str | None) -> PortalEffect:
    """The portal's own answers for ``who`` (read in the caller's transaction)."""
    shown = portal.credit_visible(db, who=who)
    overview = portal.overview(db, who=who)
    memo = (portal.listed_memo(db, who=who, memo_id=memo_id)
            if shown and memo_id is not None else None)
    detail = (portal.get_invoice(db, who=who, invoice_id=invoice_id)
              if invoice_id is not None else None)
    return PortalEffect(who.customer_name, shown, overview.available_credit, memo, detail)


# --- the operations (each its real use case, rolled back) ---------------------------

def issue(db: Database, *, actor: Actor, memo_id: str) -> Preview:
    return of(db, actor=actor, memo_id=memo_id, invoice_id=None,
              change=lambda: memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo_id))


def issue_invoice(db: Database, *, actor: Actor, invoice_id: str) -> Preview:
    """I3 with AU1: the invoice's journal entry and stock, and the credit it would take
    automatically (``automatic``: each memo before and after)."""
    return of(db, actor=actor, memo_id=None, invoice_id=invoice_id,
              change=lambda: auto_apply.issue_invoice(db, actor=actor, invoice_id=invoice_id))


def void(db: Database, *, actor: Actor, memo_id: str, reason: object) -> Preview:
    return of(db, actor=actor, memo_id=memo_id, invoice_id=None,
              change=lambda: memo_lifecycle.void_memo(db, actor=actor, memo_id=memo_id,
                                                      reason=reason))


def apply(db: Database, *, actor: Actor, memo_id: str, invoice_id: str,
          amount: object) -> Preview:
    return of(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
              change=lambda: credit.apply_credit_only(db, actor=actor, memo_id=memo_id,
                                                      invoice_id=invoice_id, amount=amount))


def remove(db: Database, *, actor: Actor, memo_id: str, invoice_id: str) -> Preview:
    return of(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
              change=lambda: credit.remove_credit_only(db, actor=actor, memo_id=memo_id,
                                                       invoice_id=invoice_id))


def portal_apply(db: Database, *, who: PortalCustomer, memo_id: str,
                 invoice_id: str, amount: object) -> Preview:
    """P5: the customer's own application from the portal, its checks included."""
    return of(db, actor=Actor.customer(who.partner_id, who.customer_id),
              memo_id=memo_id, invoice_id=invoice_id,
              change=lambda: portal_credit.apply(db, who=who, invoice_id=invoice_id,
                                                 memo_id=memo_id, amount=amount))


def refund(db: Database, *, actor: Actor, memo_id: str, amount: object, method: object,
           refunded_at: object = None, reference: object = None) -> Preview:
    """R1: the refund's entry (Dr AR / Cr Cash), the memo after it, the portal's credit."""
    refund_id = new_id("rf")  # known beforehand: its journal rows are found by it
    return of(db, actor=actor, memo_id=memo_id, invoice_id=None, sources=[refund_id],
              change=lambda: refunds.refund_memo(
                  db, actor=actor, memo_id=memo_id, amount=amount, method=method,
                  refunded_at=refunded_at, reference=reference, refund_id=refund_id))


def void_refund(db: Database, *, actor: Actor, memo_id: str, refund_id: str) -> Preview:
    """R2: the reversing entry and the credit back on the memo."""
    return of(db, actor=actor, memo_id=memo_id, invoice_id=None,
              sources=[refund_id] if isinstance(refund_id, str) else [],
              change=lambda: refunds.void_refund(db, actor=actor, memo_id=memo_id,
                                                 refund_id=refund_id))
