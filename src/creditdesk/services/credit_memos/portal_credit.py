"""A customer applies its own credit to one of its open invoices in the portal (P5).

``offer`` says what the portal offers on an invoice: nothing unless the customer may apply
its credit (``portal_credit_setting.may_apply``), else the customer's memos whose credit can
go onto that invoice (``offered_memos``: its currency, with credit remaining, of the source
``domain.visibility.portal_credit_source`` names for the invoice). ``apply`` checks the same
and then makes the application through ``credit.apply_credit`` as the customer
(``customer:<id>`` in the audit trail and on the application), with origin ``portal``; A1-A6
hold as for any application. Its preview is ``read_models.preview.portal_apply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import application as rules
from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import visibility as visibility_rules
from creditdesk.domain.money import Money
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import credit
from creditdesk.services.customer_accounts import portal_credit_setting, visibility
from creditdesk.services.invoicing import invoices

if TYPE_CHECKING:  # the portal's customer: only its ids are used here
    from creditdesk.services.access.portal_links import PortalCustomer

ORIGIN = "portal"
NOT_ALLOWED = ("Applying your credit from this portal is not available to you. Ask the "
               "business that bills you to apply it.")
MAX_OFFERED = 100  # memos listed in the choice, oldest first (A customer rarely has more.)


@dataclass(frozen=True)
class OfferedMemo:
    id: str
    number: str
    issue_date: date | None
    remaining: Money
    suggested: Money  # the most A2 allows onto the invoice: min(remaining, balance due)


@dataclass(frozen=True)
class Offer:
    """What the portal offers on one invoice: its balance due and the memos to choose from
    (none: nothing to apply, so no control)."""

    invoice_id: str
    invoice_number: str
    balance_due: Money
    memos: list[OfferedMemo]
    # Y11: credit sent to the invoice's system and not answered yet: (memo number, amount)
    waiting: tuple[tuple[str, Money], ...] = ()


def check_allowed(db: Database, *, who: PortalCustomer) -> None:
    """NotFound or Forbidden unless the customer may apply its credit in the portal."""
    with db.read() as session:
        _check_allowed(session, who)


def _check_allowed(session: Session, who: PortalCustomer) -> None:
    """Refuses, in words, a customer that may not apply credit: hidden credit is a page
    that does not exist (P3: nothing tells it credit exists), otherwise a plain 403."""
    if not visibility.credit_visible(session, who.partner_id, who.customer_id):
        raise errors.NotFound(visibility.HIDDEN)
    if not portal_credit_setting.may_apply(session, who.partner_id, who.customer_id):
        raise errors.Forbidden(NOT_ALLOWED)


def _invoice(session: Session, who: PortalCustomer, invoice_id: str) -> models.Invoice:
    row = session.scalars(select(models.Invoice).where(
        models.Invoice.partner_id == who.partner_id,
        models.Invoice.customer_id == who.customer_id,
        models.Invoice.id == invoice_id,
        models.Invoice.status != rules.InvoiceStatus.DRAFT.value)).one_or_none()
    if row is None:
        raise errors.NotFound(f"No invoice with id {invoice_id}.")
    return row


def offered_memos(session: Session, who: PortalCustomer, invoice: models.Invoice,
                  memo_id: str | None = None) -> list[models.CreditMemo]:
    """The customer's memos whose credit the portal offers for ``invoice`` (only
    ``memo_id`` when given): same currency, credit remaining, and the source the domain
    pairs with the invoice's (native with native; synced credit is one more source there)."""
    source = visibility_rules.portal_credit_source(invoice.source)
    if source is None:
        return []
    cm = models.CreditMemo
    stmt = (select(cm).where(
        cm.partner_id == who.partner_id, cm.customer_id == who.customer_id,
        cm.currency == invoice.currency, cm.source == source,
        cm.status.in_([s.value for s in memo_rules.CREDIT_STATUSES]),
        cm.total_minor > cm.applied_minor)
        .order_by(cm.issue_date, cm.number, cm.id).limit(MAX_OFFERED))
    if memo_id is not None:
        stmt = stmt.where(cm.id == memo_id)
    return list(session.scalars(stmt))


def offer(db: Database, *, who: PortalCustomer, invoice_id: str) -> Offer | None:
    """What the invoice page offers; None when the customer may not apply credit (then
    nothing about it is shown) or the invoice takes no credit (paid, void). For a synced
    invoice: credit of the same system, less what unanswered write-backs hold (Y11)."""
    with db.read() as session:
        if not portal_credit_setting.may_apply(session, who.partner_id, who.customer_id):
            return None
        invoice = _invoice(session, who, invoice_id)
        if (invoice.status not in rules.APPLICABLE_INVOICE_STATUSES
                or visibility_rules.portal_credit_source(invoice.source) is None):
            return None
        listed = offered_memos(session, who, invoice)
        held = _held(session, invoice.id, [m.id for m in listed])
        due = invoices.balance_due(invoice) - Money(held.get(invoice.id, 0), invoice.currency)
        memos = [OfferedMemo(m.id, m.number, m.issue_date, remaining,
                             rules.max_application(remaining, due))
                 for m in listed
                 if (remaining := Money(m.total_minor - m.applied_minor - held.get(m.id, 0),
                                        m.currency)).minor > 0]
        waiting = tuple((number, Money(amount, invoice.currency)) for number, amount in
                        session.execute(select(models.CreditMemo.number,
                                               models.CreditApplication.amount_minor)
                                        .join(models.CreditApplication,
                                              models.CreditApplication.credit_memo_id
                                              == models.CreditMemo.id)
                                        .where(models.CreditApplication.invoice_id
                                               == invoice.id,
                                               models.CreditApplication.status == "pending",
                                               models.CreditApplication.write_back_action
                                               == "apply")
                                        .order_by(models.CreditApplication.id)))
    return Offer(invoice.id, invoice.number, due, memos if due.minor > 0 else [], waiting)


def _held(session: Session, invoice_id: str, memo_ids: list[str]) -> dict[str, int]:
    """Y11: credit held by unanswered write-backs, by memo id and for the invoice (the
    system's figures don't count it yet)."""
    ca = models.CreditApplication
    held: dict[str, int] = {}
    for memo_id, to_invoice, amount in session.execute(
            select(ca.credit_memo_id, ca.invoice_id, ca.amount_minor).where(
                ca.status == "pending", ca.write_back_action == "apply",
                or_(ca.invoice_id == invoice_id, ca.credit_memo_id.in_(memo_ids)))):
        held[memo_id] = held.get(memo_id, 0) + amount
        if to_invoice == invoice_id:
            held[invoice_id] = held.get(invoice_id, 0) + amount
    return held


def apply(db: Database, *, who: PortalCustomer, invoice_id: str, memo_id: str,
          amount: object) -> credit.Applied:
    """P5: apply ``amount`` of the memo's credit to the invoice, as the customer."""
    with db.read() as session:
        _check_allowed(session, who)
        invoice = _invoice(session, who, invoice_id)
        if not isinstance(memo_id, str) or not memo_id:
            raise errors.ValidationError.for_field("credit_memo_id", "choose a credit memo")
        if not offered_memos(session, who, invoice, memo_id):
            raise errors.NotFound("That credit memo has no credit to apply to invoice "
                                  f"{invoice.number}.")
    return credit.apply_credit(db, actor=Actor.customer(who.partner_id, who.customer_id),
                               memo_id=memo_id, invoice_id=invoice_id, amount=amount,
                               origin=ORIGIN)
