"""Read models returned by the use cases: plain frozen dataclasses built inside the
transaction, so nothing lazy escapes a closed session."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from creditdesk.db import models
from creditdesk.domain import application as application_rules
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money


@dataclass(frozen=True)
class LineView:
    """A line. Native lines always have a whole ``quantity`` and a ``unit_price``; a synced
    memo's or invoice's lines (``synced``) show what the accounting system reports: its
    quantity (an int when whole, else exact decimal text such as "1.5"; None when it has
    none) and a unit price only when it has one in whole minor units."""

    id: str
    description: str
    quantity: int | str | None
    unit_price: Money | None
    amount: Money
    variant_id: str | None
    synced: bool = False
    invoice_line_id: str | None = None  # a memo line started from an invoice line (C6)
    tax_rate_id: str | None = None  # T1: the line's rate (its name as stored) and its tax
    tax_rate_name: str | None = None
    tax: Money | None = None


@dataclass(frozen=True)
class TaxAmountView:
    """T2: a document's tax of one rate. A synced document's tax (T5) is one amount its
    system reports, with no rate of ours: ``tax_rate_id`` None, named "Tax"."""

    tax_rate_id: str | None
    name: str
    amount: Money


SYNCED_TAX_NAME = "Tax"


def taxes_of(lines: Sequence[LineView], tax_total: Money | None, *,
             synced: bool) -> list[TaxAmountView]:
    """The tax per rate of a document's lines, in the order the rates first appear; a
    synced document's as one amount (its system reports no rates we know), none when its
    system reported no tax figure (``tax_total`` None, T5)."""
    if synced:
        return ([TaxAmountView(None, SYNCED_TAX_NAME, tax_total)]
                if tax_total is not None and tax_total.minor else [])
    per_rate: dict[str, TaxAmountView] = {}
    for li in lines:
        if li.tax_rate_id is None or li.tax is None:
            continue
        seen = per_rate.get(li.tax_rate_id)
        per_rate[li.tax_rate_id] = TaxAmountView(
            li.tax_rate_id, li.tax_rate_name or "", li.tax + seen.amount if seen else li.tax)
    return list(per_rate.values())


@dataclass(frozen=True)
class ApprovalView:
    """An approval request as answered: the memo and the total it was asked for, who asked
    and who decided, with their comments."""

    id: str
    credit_memo_id: str
    credit_memo_number: str
    status: str
    total: Money
    currency: str
    requested_by: str
    request_comment: str | None
    requested_at: datetime
    decided_by: str | None
    decision_comment: str | None
    decided_at: datetime | None
    requested_by_user_id: str | None


@dataclass(frozen=True)
class RefundView:
    """R1/R2: one refund of a memo's credit; ``voided_at`` set once it was taken back."""

    id: str
    credit_memo_id: str
    amount: Money
    method: str
    refunded_at: date
    reference: str | None
    refunded_by: str
    created_at: datetime
    voided_at: datetime | None
    voided_by: str | None


class RefundFigures(Protocol):
    """A refund's columns (an ORM row, or a Core row of them)."""

    @property
    def id(self) -> str: ...
    @property
    def credit_memo_id(self) -> str: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def refunded_at(self) -> date: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def created_by(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def voided_at(self) -> datetime | None: ...
    @property
    def voided_by(self) -> str | None: ...


def refund_view(row: RefundFigures) -> RefundView:
    return RefundView(row.id, row.credit_memo_id, Money(row.amount_minor, row.currency),
                      row.method, row.refunded_at, row.reference, row.created_by,
                      row.created_at, row.voided_at, row.voided_by)


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
    # R1: of a native memo's used credit (``applied_amount``), the part refunded here
    # (refunds not voided); its refunds, voided ones included, oldest first.
    refunded_amount: Money | None = None
    # AP1: a draft's open approval request (pending or approved); None when it has none
    approval: ApprovalView | None = None
    refunds: tuple[RefundView, ...] = field(default=())
    # T2: the total before tax, the tax in it (per rate in ``taxes``), whether the prices
    # include it; a synced memo whose system reported no tax figure has neither (T5: None)
    subtotal: Money | None = None
    tax_total: Money | None = None
    taxes: list[TaxAmountView] | None = None
    tax_inclusive: bool = False
    # D1: the note the customer sees (the PDF, the portal); ``notes`` stays internal
    customer_note: str | None = None

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
    # Y9: native, or the system a synced (read-only) invoice comes from, with its id there
    source: str
    external_id: str | None
    read_only: bool
    # the tax in the total (a synced invoice's is the system's), and the total before it;
    # both None when the invoice's system reported no tax figure (T5: unknown, not 0)
    subtotal: Money | None
    tax_total: Money | None
    taxes: list[TaxAmountView] | None = None  # T2: per rate
    tax_inclusive: bool = False


@dataclass(frozen=True)
class WriteBackView:
    """Y11: the accounting system an application is written to, the id of the record it
    made there (once made), and the system's words when it refused."""

    system: str
    external_id: str | None
    error: str | None


@dataclass(frozen=True)
class ApplicationView:
    id: str
    credit_memo_id: str
    invoice_id: str
    amount: Money
    applied_at: datetime
    applied_by: str
    status: str = "applied"
    origin: str = "user"
    write_back: WriteBackView | None = None


class LineFigures(Protocol):
    """What a view shows of an invoice's line: an ORM row, or a Core row of its columns."""

    @property
    def id(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def quantity(self) -> int | None: ...
    @property
    def unit_price_minor(self) -> int | None: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def variant_id(self) -> str | None: ...
    @property
    def tax_rate_id(self) -> str | None: ...
    @property
    def tax_rate_name(self) -> str | None: ...
    @property
    def tax_minor(self) -> int: ...


class SyncableLineFigures(LineFigures, Protocol):
    """A line that may be synced (an invoice's, Y9; a memo's, Y1): whether it is, and
    then the quantity text its system reported."""

    @property
    def synced(self) -> bool: ...
    @property
    def reported_quantity(self) -> str | None: ...


class MemoLineFigures(SyncableLineFigures, Protocol):
    """A memo's line: an invoice line's columns and the invoice line it credits (C6)."""

    @property
    def invoice_line_id(self) -> str | None: ...


def line_view(row: SyncableLineFigures, currency: str, *,
              invoice_line_id: str | None = None) -> LineView:
    """An invoice's line (or a memo's, with the invoice line it credits): native, or
    synced (told by its ``synced`` column) as its system reported it."""
    unit = Money(row.unit_price_minor, currency) if row.unit_price_minor is not None else None
    if row.synced:
        return LineView(row.id, row.description, reported_quantity(row.reported_quantity), unit,
                        Money(row.amount_minor, currency), None, synced=True)
    return LineView(row.id, row.description, row.quantity, unit,
                    Money(row.amount_minor, currency), row.variant_id,
                    invoice_line_id=invoice_line_id, tax_rate_id=row.tax_rate_id,
                    tax_rate_name=row.tax_rate_name,
                    tax=Money(row.tax_minor or 0, currency) if row.tax_rate_id else None)


def memo_line_view(row: MemoLineFigures, currency: str) -> LineView:
    """A memo's line: native, or synced (told by its ``synced`` column)."""
    return line_view(row, currency, invoice_line_id=row.invoice_line_id)


def reported_quantity(text: str | None) -> int | str | None:
    """A synced line's stored quantity text: a whole one as an int (shown like a native
    quantity), a fractional one as its exact text."""
    if text is None:
        return None
    whole = text.lstrip("-")
    return int(text) if whole.isdigit() else text


class MemoFigures(Protocol):
    """A memo's columns that its view shows: an ORM row, or a Core row of them."""

    @property
    def id(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def issue_date(self) -> date | None: ...
    @property
    def invoice_id(self) -> str | None: ...
    @property
    def total_minor(self) -> int: ...
    @property
    def applied_minor(self) -> int: ...
    @property
    def refunded_minor(self) -> int: ...
    @property
    def tax_minor(self) -> int: ...
    @property
    def tax_inclusive(self) -> bool: ...
    @property
    def tax_reported(self) -> bool: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def customer_note(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def issued_at(self) -> datetime | None: ...
    @property
    def applied_at(self) -> datetime | None: ...
    @property
    def voided_at(self) -> datetime | None: ...
    @property
    def void_reason(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class MemoWithLines(MemoFigures, Protocol):
    """A memo with its lines (and refunds) loaded (an ORM row)."""

    @property
    def lines(self) -> Sequence[MemoLineFigures]: ...
    @property
    def refunds(self) -> Sequence[RefundFigures]: ...


def memo_view(row: MemoWithLines, *, with_lines: bool = True) -> MemoView:
    """The view of a memo read with its lines (an ORM row); ``with_lines=False`` leaves
    them out (and unread)."""
    return memo_view_of(row, row.lines if with_lines else (),
                        refunds=row.refunds if with_lines else ())


def memo_view_of(row: MemoFigures, lines: Iterable[MemoLineFigures], *,
                 refunds: Iterable[RefundFigures] = ()) -> MemoView:
    """The view of a memo from its columns and its lines, read apart (e.g. Core rows)."""
    cur = row.currency
    status = memo_rules.MemoStatus(row.status)
    remaining = memo_rules.remaining_minor(status=status, total_minor=row.total_minor,
                                           applied_minor=row.applied_minor)
    line_views = [memo_line_view(li, cur) for li in lines]
    # T5: None when the memo's system reported no tax figure (unknown, never a false 0)
    tax_total = Money(row.tax_minor or 0, cur) if _tax_known(row) else None
    return MemoView(
        id=row.id, number=row.number, customer_id=row.customer_id, currency=cur,
        reason=row.reason, status=row.status, issue_date=row.issue_date,
        invoice_id=row.invoice_id, lines=line_views,
        total=Money(row.total_minor, cur), applied_amount=Money(row.applied_minor, cur),
        remaining_amount=Money(remaining, cur), notes=row.notes, source=row.source,
        external_id=row.external_id, read_only=row.source != memo_rules.Source.NATIVE,
        issued_at=row.issued_at, applied_at=row.applied_at, voided_at=row.voided_at,
        void_reason=row.void_reason, created_at=row.created_at, updated_at=row.updated_at,
        refunded_amount=Money(row.refunded_minor or 0, cur),
        refunds=tuple(refund_view(r) for r in refunds),
        subtotal=Money(row.total_minor - tax_total.minor, cur) if tax_total else None,
        tax_total=tax_total,
        taxes=taxes_of(line_views, tax_total, synced=row.source != memo_rules.Source.NATIVE),
        tax_inclusive=bool(row.tax_inclusive), customer_note=row.customer_note,
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


class InvoiceFigures(Protocol):
    """An invoice's columns that its view shows: an ORM row, or a Core row of them."""

    @property
    def id(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def issue_date(self) -> date | None: ...
    @property
    def due_date(self) -> date | None: ...
    @property
    def total_minor(self) -> int: ...
    @property
    def paid_minor(self) -> int: ...
    @property
    def credited_minor(self) -> int: ...
    @property
    def tax_minor(self) -> int: ...
    @property
    def tax_inclusive(self) -> bool: ...
    @property
    def tax_reported(self) -> bool: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def issued_at(self) -> datetime | None: ...
    @property
    def voided_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class InvoiceWithLines(InvoiceFigures, Protocol):
    """An invoice with its lines loaded (an ORM row)."""

    @property
    def lines(self) -> Sequence[SyncableLineFigures]: ...


def invoice_view(row: InvoiceWithLines, payments: Sequence[PaymentFigures],
                 credits: Sequence[tuple[CreditFigures, str]]) -> InvoiceView:
    """``credits`` pairs each application with its memo's number."""
    return invoice_view_of(row, row.lines, payments, credits)


def invoice_view_of(row: InvoiceFigures, lines: Iterable[SyncableLineFigures],
                    payments: Iterable[PaymentFigures],
                    credits: Iterable[tuple[CreditFigures, str]]) -> InvoiceView:
    """``invoice_view`` from an invoice's columns and its lines, read apart (e.g. Core
    rows)."""
    cur = row.currency
    line_views = [line_view(li, cur) for li in lines]
    tax_total = Money(row.tax_minor, cur) if _tax_known(row) else None  # T5
    return InvoiceView(
        id=row.id, number=row.number, customer_id=row.customer_id, currency=cur,
        status=row.status, issue_date=row.issue_date, due_date=row.due_date,
        lines=line_views, total=Money(row.total_minor, cur),
        amount_paid=Money(row.paid_minor, cur), credit_applied=Money(row.credited_minor, cur),
        balance_due=application_rules.balance_due(
            total_minor=row.total_minor, paid_minor=row.paid_minor,
            credited_minor=row.credited_minor, currency=cur),
        payments=[PaymentView(p.id, Money(p.amount_minor, cur), p.paid_at) for p in payments],
        credits_applied=[CreditAppliedView(a.credit_memo_id, number, Money(a.amount_minor, cur),
                                           a.applied_at) for a, number in credits],
        notes=row.notes, issued_at=row.issued_at, voided_at=row.voided_at,
        created_at=row.created_at, updated_at=row.updated_at,
        source=row.source, external_id=row.external_id,
        read_only=row.source != memo_rules.Source.NATIVE,
        subtotal=Money(row.total_minor - tax_total.minor, cur) if tax_total else None,
        tax_total=tax_total,
        taxes=taxes_of(line_views, tax_total, synced=row.source != memo_rules.Source.NATIVE),
        tax_inclusive=bool(row.tax_inclusive),
    )


def _tax_known(row: MemoFigures | InvoiceFigures) -> bool:
    """T5: whether the document's tax is known: always for a native one; for a synced one,
    when its system reported a tax figure."""
    return row.source == memo_rules.Source.NATIVE or row.tax_reported is not False


def application_view(row: models.CreditApplication, currency: str) -> ApplicationView:
    write_back = (WriteBackView(row.write_back_system, row.write_back_external_id,
                                row.write_back_error)
                  if row.write_back_system is not None else None)
    return ApplicationView(row.id, row.credit_memo_id, row.invoice_id,
                           Money(row.amount_minor, currency), row.applied_at, row.applied_by,
                           row.status, row.origin, write_back)
