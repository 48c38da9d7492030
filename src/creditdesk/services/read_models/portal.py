"""What the Customer Portal may show one customer (P3, P4).

Every function takes the ``PortalCustomer`` the portal session holds: there is no path
without a customer. Credit (memo numbers, amounts, credit applied to invoices) is put in
a view only when ``visibility.credit_visible`` allows it, so a hidden balance can't reach
a page by a template mistake: the data is simply not there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.money import Money
from creditdesk.services.access import portal_links
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.common import pagination
from creditdesk.services.common.context import clock
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import views

OPEN = (InvoiceStatus.OPEN.value, InvoiceStatus.PARTIALLY_PAID.value)
OVERVIEW_INVOICES = 200  # the most recent open invoices the overview lists
SHOWN_MEMOS = (memo_rules.MemoStatus.ISSUED.value, memo_rules.MemoStatus.PARTIALLY_APPLIED.value,
               memo_rules.MemoStatus.APPLIED.value)
HIDDEN = visibility.HIDDEN


@dataclass(frozen=True)
class PortalInvoice:
    id: str
    number: str
    status: str
    currency: str
    issue_date: date | None
    due_date: date | None
    total: Money
    balance_due: Money
    days_overdue: int  # past the due date with something still due; 0 when not overdue
    # Y9: "native", or the system a synced invoice comes from (its balance due is the
    # system's: total - what the system reports settled)
    source: str = "native"

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    @property
    def synced(self) -> bool:
        return self.source != memo_rules.Source.NATIVE


@dataclass(frozen=True)
class PortalInvoiceDetail:
    """An invoice with how its balance came about: the customer's own payments always,
    the credit applied to it only when credit is visible (P3; None when hidden). A synced
    invoice's ``amount_paid`` is what its system reports settled (Y9), in one figure."""

    invoice: PortalInvoice
    lines: list[views.LineView]
    amount_paid: Money
    payments: list[views.PaymentView]
    credits_applied: list[views.CreditAppliedView] | None
    # T2/T5: its subtotal and tax per rate (a synced invoice's tax as its system reports it)
    subtotal: Money | None = None
    tax_total: Money | None = None
    taxes: list[views.TaxAmountView] | None = None
    tax_inclusive: bool = False


@dataclass(frozen=True)
class PortalMemo:
    id: str
    number: str
    status: str
    reason: str
    issue_date: date | None
    total: Money
    remaining_amount: Money
    source: str
    applied_amount: Money  # to invoices (Y4: in the system, for a synced memo)
    refunded_amount: Money  # refunded to the customer (R1; at the source, for a synced memo)
    tax_total: Money | None = None  # T2: the tax in the total
    # T2: that tax per rate (a synced memo's: one amount, as its system reports it)
    taxes: tuple[views.TaxAmountView, ...] = ()
    customer_note: str | None = None  # D1: the note to the customer (never ``notes``)


@dataclass(frozen=True)
class Overview:
    customer_name: str
    open_invoices: list[PortalInvoice]
    balance_due: list[Money]  # per currency
    overdue: list[Money]  # per currency: the part of the balance due past its due date
    overdue_count: int
    available_credit: list[Money] | None  # None when hidden (P3)


def days_overdue(due_date: date | None, balance_due: Money, today: date) -> int:
    """Days past the due date of an invoice with a balance due; 0 when not overdue."""
    if due_date is None or balance_due.minor <= 0 or due_date >= today:
        return 0
    return (today - due_date).days


def _invoice(row: models.Invoice, today: date | None = None) -> PortalInvoice:
    due = invoices.balance_due(row)
    late = days_overdue(row.due_date, due, today or clock.today()) if row.status in OPEN else 0
    return PortalInvoice(row.id, row.number, row.status, row.currency, row.issue_date,
                         row.due_date, Money(row.total_minor, row.currency), due, late,
                         row.source)


def partner_name(db: Database, *, partner_id: str) -> str:
    """Whose portal it is: the partner's name, on every portal page."""
    with db.read() as session:
        return portal_links.partner_name(session, partner_id)


def _sums(pairs: list[Money]) -> list[Money]:
    totals: dict[str, int] = {}
    for m in pairs:
        totals[m.currency] = totals.get(m.currency, 0) + m.minor
    return [Money(v, c) for c, v in sorted(totals.items())]


def _scoped_invoices(who: PortalCustomer) -> Select[models.Invoice]:
    inv = models.Invoice
    return select(inv).where(inv.partner_id == who.partner_id, inv.customer_id == who.customer_id,
                             inv.status != InvoiceStatus.DRAFT.value)


def _available_credit(session: Session, who: PortalCustomer) -> list[Money]:
    """Remaining credit per currency, summed in the database (a customer may hold thousands
    of memos: one row per currency, not one Money per memo, B7)."""
    cm = models.CreditMemo
    rows = session.execute(
        select(cm.currency, func.sum(cm.total_minor - cm.applied_minor)).where(
            cm.partner_id == who.partner_id, cm.customer_id == who.customer_id,
            cm.status.in_([s.value for s in memo_rules.CREDIT_STATUSES]))
        .group_by(cm.currency)).all()
    return _sums([Money(int(r[1]), r[0]) for r in rows])


def credit_visible(db: Database, *, who: PortalCustomer) -> bool:
    with db.read() as session:
        return visibility.credit_visible(session, who.partner_id, who.customer_id)


def overview(db: Database, *, who: PortalCustomer) -> Overview:
    inv = models.Invoice
    with db.read() as session:
        rows = session.scalars(_scoped_invoices(who).where(inv.status.in_(OPEN))
                               .order_by(inv.id.desc()).limit(OVERVIEW_INVOICES)).all()
        open_invoices = [_invoice(r) for r in rows]
        due = _balance_due(session, who)
        overdue = _balance_due(session, who, overdue_on=clock.today())
        late = int(session.scalar(
            select(func.count()).select_from(inv).where(*_overdue(who, clock.today()))) or 0)
        shown = visibility.credit_visible(session, who.partner_id, who.customer_id)
        credit = _available_credit(session, who) if shown else None
    return Overview(who.customer_name, open_invoices, due, overdue, late, credit)


def _overdue(who: PortalCustomer, today: date) -> list[ColumnElement[bool]]:
    inv = models.Invoice
    return [inv.partner_id == who.partner_id, inv.customer_id == who.customer_id,
            inv.status.in_(OPEN), inv.due_date < today,
            inv.total_minor - inv.paid_minor - inv.credited_minor > 0]


def _balance_due(session: Session, who: PortalCustomer,
                 overdue_on: date | None = None) -> list[Money]:
    """Balance due per currency over ALL open invoices, not only the ones listed (only
    the overdue ones when ``overdue_on`` is given)."""
    inv = models.Invoice
    where = (_overdue(who, overdue_on) if overdue_on else
             [inv.partner_id == who.partner_id, inv.customer_id == who.customer_id,
              inv.status.in_(OPEN)])
    rows = session.execute(
        select(inv.currency,
               func.sum(inv.total_minor - inv.paid_minor - inv.credited_minor))
        .where(*where).group_by(inv.currency)).all()
    return _sums([Money(int(r[1]), r[0]) for r in rows])


def list_invoices(db: Database, *, who: PortalCustomer, limit: int = 50,
                  cursor: str | None = None) -> pagination.Page[PortalInvoice]:
    with db.read() as session:
        return pagination.newest_first(session, _scoped_invoices(who), models.Invoice.id,
                                       limit=limit, cursor=cursor, view=_invoice)


def get_invoice(db: Database, *, who: PortalCustomer, invoice_id: str) -> PortalInvoiceDetail:
    inv = models.Invoice
    with db.read() as session:
        row = session.scalars(_scoped_invoices(who).where(inv.id == invoice_id)
                              .options(selectinload(inv.lines))).one_or_none()
        if row is None:
            raise errors.NotFound(f"No invoice with id {invoice_id}.")
        full = invoices.load_view(session, row)
        shown = visibility.credit_visible(session, who.partner_id, who.customer_id)
    return PortalInvoiceDetail(_invoice(row), full.lines, full.amount_paid, full.payments,
                               full.credits_applied if shown else None, full.subtotal,
                               full.tax_total, full.taxes, full.tax_inclusive)


def list_credit_memos(db: Database, *, who: PortalCustomer, limit: int = 50,
                      cursor: str | None = None) -> pagination.Page[PortalMemo]:
    """Issued, partially applied and applied memos, native and synced; NotFound when the
    customer's credit is hidden (P3), exactly like a page that does not exist."""
    cm = models.CreditMemo
    with db.read() as session:
        if not visibility.credit_visible(session, who.partner_id, who.customer_id):
            raise errors.NotFound(HIDDEN)
        stmt = (select(cm).where(cm.partner_id == who.partner_id,
                                 cm.customer_id == who.customer_id, cm.status.in_(SHOWN_MEMOS))
                .options(selectinload(cm.lines)))  # T2: the tax per rate is in the lines
        return pagination.newest_first(session, stmt, cm.id, limit=limit, cursor=cursor,
                                       view=_memo)


def available_credit(db: Database, *, who: PortalCustomer) -> list[Money]:
    with db.read() as session:
        if not visibility.credit_visible(session, who.partner_id, who.customer_id):
            raise errors.NotFound(HIDDEN)
        return _available_credit(session, who)


def _memo(row: models.CreditMemo) -> PortalMemo:
    v = views.memo_view_of(row, row.lines)  # the lines for the tax per rate; no refunds read
    return PortalMemo(v.id, v.number, v.status, v.reason, v.issue_date, v.total,
                      v.remaining_amount, v.source, v.applied_to_invoices,
                      v.refunded_amount or Money(0, v.currency), v.tax_total, tuple(v.taxes or ()),
                      v.customer_note)


def listed_memo(db: Database, *, who: PortalCustomer, memo_id: str) -> PortalMemo | None:
    """One memo as ``list_credit_memos`` shows it, or None when that list leaves it out
    (a draft, a void memo); NotFound when the customer's credit is hidden (P3)."""
    cm = models.CreditMemo
    with db.read() as session:
        if not visibility.credit_visible(session, who.partner_id, who.customer_id):
            raise errors.NotFound(HIDDEN)
        row = session.scalars(select(cm).where(
            cm.partner_id == who.partner_id, cm.customer_id == who.customer_id,
            cm.id == memo_id, cm.status.in_(SHOWN_MEMOS)).options(selectinload(cm.lines))
        ).one_or_none()
        return _memo(row) if row is not None else None
