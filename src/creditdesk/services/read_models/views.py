"""Read models returned by the use cases: plain frozen dataclasses built inside the
transaction, so nothing lazy escapes a closed session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from creditdesk.db import models
from creditdesk.domain import application as application_rules
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money


@dataclass(frozen=True)
class LineView:
    """A line. Native lines always have a whole ``quantity`` and a ``unit_price``; a synced
    memo's lines (``synced``) show what the accounting system reports: its quantity (an int
    when whole, else exact decimal text such as "1.5"; None when it has none) and a unit
    price only when it has one in whole minor units."""

    id: str
    description: str
    quantity: int | str | None
    unit_price: Money | None
    amount: Money
    variant_id: str | None
    synced: bool = False
    invoice_line_id: str | None = None  # a memo line started from an invoice line (C6)


@dataclass(frozen=True)
class MemoView:
    id: str
    number: str
    customer_id: str
    currency: str
    reason: str
    status: str
    issue_date: date | None
    invoice_id: str | None
    lines: list[LineView]
    total: Money
    applied_amount: Money
    remaining_amount: Money
    notes: str | None
    source: str
    external_id: str | None
    read_only: bool
    issued_at: datetime | None
    applied_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    created_at: datetime
    updated_at: datetime
    # Y4: of a synced memo's used credit, the part refunded at the source (never shown as
    # an application); zero on native memos.
    refunded_amount: Money | None = None

    @property
    def applied_to_invoices(self) -> Money:
        """The used credit that went to invoices (in the system, for a synced memo)."""
        if self.refunded_amount is None:
            return self.applied_amount
        return self.applied_amount - self.refunded_amount


@dataclass(frozen=True)
class PaymentView:
    id: str
    amount: Money
    paid_at: datetime


@dataclass(frozen=True)
class CreditAppliedView:
    credit_memo_id: str
    credit_memo_number: str
    amount: Money
    applied_at: datetime


@dataclass(frozen=True)
class InvoiceView:
    id: str
    number: str
    customer_id: str
    currency: str
    status: str
    issue_date: date | None
    due_date: date | None
    lines: list[LineView]
    total: Money
    amount_paid: Money
    credit_applied: Money
    balance_due: Money
    payments: list[PaymentView]
    credits_applied: list[CreditAppliedView]
    notes: str | None
    issued_at: datetime | None
    voided_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ApplicationView:
    id: str
    credit_memo_id: str
    invoice_id: str
    amount: Money
    applied_at: datetime
    applied_by: str


def line_view(row: models.InvoiceLine | models.CreditMemoLine, currency: str) -> LineView:
    unit = Money(row.unit_price_minor, currency) if row.unit_price_minor is not None else None
    if isinstance(row, models.CreditMemoLine) and row.synced:
        return LineView(row.id, row.description, reported_quantity(row.reported_quantity), unit,
                        Money(row.amount_minor, currency), None, synced=True)
    return LineView(row.id, row.description, row.quantity, unit,
                    Money(row.amount_minor, currency), row.variant_id,
                    invoice_line_id=getattr(row, "invoice_line_id", None))


def reported_quantity(text: str | None) -> int | str | None:
    """A synced line's stored quantity text: a whole one as an int (shown like a native
    quantity), a fractional one as its exact text."""
    if text is None:
        return None
    whole = text.lstrip("-")
    return int(text) if whole.isdigit() else text


def memo_view(row: models.CreditMemo, *, with_lines: bool = True) -> MemoView:
    cur = row.currency
    status = memo_rules.MemoStatus(row.status)
    remaining = memo_rules.remaining_minor(status=status, total_minor=row.total_minor,
                                           applied_minor=row.applied_minor)
    return MemoView(
        id=row.id, number=row.number, customer_id=row.customer_id, currency=cur,
        reason=row.reason, status=row.status, issue_date=row.issue_date,
        invoice_id=row.invoice_id,
        lines=[line_view(li, cur) for li in row.lines] if with_lines else [],
        total=Money(row.total_minor, cur), applied_amount=Money(row.applied_minor, cur),
        remaining_amount=Money(remaining, cur), notes=row.notes, source=row.source,
        external_id=row.external_id, read_only=row.source != memo_rules.Source.NATIVE,
        issued_at=row.issued_at, applied_at=row.applied_at, voided_at=row.voided_at,
        void_reason=row.void_reason, created_at=row.created_at, updated_at=row.updated_at,
        refunded_amount=Money(row.refunded_minor or 0, cur),
    )


class PaymentFigures(Protocol):
    """What an invoice's view shows of a payment (a row, or the figures read for it)."""

    @property
    def id(self) -> str: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def paid_at(self) -> datetime: ...


class CreditFigures(Protocol):
    """What an invoice's view shows of a credit applied to it."""

    @property
    def credit_memo_id(self) -> str: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def applied_at(self) -> datetime: ...


def invoice_view(row: models.Invoice, payments: Sequence[PaymentFigures],
                 credits: Sequence[tuple[CreditFigures, str]]) -> InvoiceView:
    """``credits`` pairs each application with its memo's number."""
    cur = row.currency
    return InvoiceView(
        id=row.id, number=row.number, customer_id=row.customer_id, currency=cur,
        status=row.status, issue_date=row.issue_date, due_date=row.due_date,
        lines=[line_view(li, cur) for li in row.lines], total=Money(row.total_minor, cur),
        amount_paid=Money(row.paid_minor, cur), credit_applied=Money(row.credited_minor, cur),
        balance_due=application_rules.balance_due(
            total_minor=row.total_minor, paid_minor=row.paid_minor,
            credited_minor=row.credited_minor, currency=cur),
        payments=[PaymentView(p.id, Money(p.amount_minor, cur), p.paid_at) for p in payments],
        credits_applied=[CreditAppliedView(a.credit_memo_id, number, Money(a.amount_minor, cur),
                                           a.applied_at) for a, number in credits],
        notes=row.notes, issued_at=row.issued_at, voided_at=row.voided_at,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def application_view(row: models.CreditApplication, currency: str) -> ApplicationView:
    return ApplicationView(row.id, row.credit_memo_id, row.invoice_id,
                           Money(row.amount_minor, currency), row.applied_at, row.applied_by)
