"""The SQL of creating and issuing invoices and memos, as SQLAlchemy Core statements built
once (as ``db/credit_statements.py`` does for applying credit, and for the same reason).

Creating a document and issuing it are the everyday writes: through the ORM, the unit of
work's flushes (the document, its lines, the audit event, the journal entry), the lazy load
of the lines on issue and the identity map cost several times what the database takes to
run the statements. Here each is built once at import, with bind parameters, so a call only
binds values and SQLAlchemy reuses the compiled form; rows come back as plain values, read
into the small frozen rows below (which the views take: ``views.MemoFigures`` …).

The lock order is unchanged (see ``db/locks.py``): a memo's or an invoice's owner customer
first (``locks.lock_owner``), then the document ``FOR NO KEY UPDATE`` (``OF`` the document:
its lines, read in the same statement, are not locked, as before), then variants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, select, update

from creditdesk.db import models

_customer = models.Customer.__table__
_invoice = models.Invoice.__table__
_invoice_line = models.InvoiceLine.__table__
_memo = models.CreditMemo.__table__
_memo_line = models.CreditMemoLine.__table__


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """The customer columns a new document reads."""

    id: str
    currency: str


@dataclass(frozen=True, slots=True)
class InvoiceLineRow:
    """An invoice line's columns, as its view and issue read them. A native line always
    has its quantity and unit price; a synced one (Y9) has the system's quantity text
    (``reported_quantity``) and maybe no unit price."""

    id: str
    description: str
    quantity: int | None
    unit_price_minor: int | None
    amount_minor: int
    variant_id: str | None
    synced: bool = False
    reported_quantity: str | None = None
    tax_rate_id: str | None = None  # T1, T2: the line's rate, its name and stored tax
    tax_rate_name: str | None = None
    tax_minor: int = 0


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """An invoice's columns, as its view and issue read them."""

    id: str
    customer_id: str
    number: str
    currency: str
    status: str
    issue_date: date | None
    due_date: date | None
    total_minor: int
    paid_minor: int
    credited_minor: int
    notes: str | None
    issued_at: datetime | None
    voided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    tax_minor: int = 0
    source: str = "native"
    external_id: str | None = None
    tax_inclusive: bool = False
    tax_reported: bool = True  # T5: False when a synced invoice's system reported no tax


@dataclass(frozen=True, slots=True)
class MemoLineRow:
    """A memo line's columns, as its view, issue and C5's recheck read them."""

    id: str
    description: str
    quantity: int | None
    unit_price_minor: int | None
    amount_minor: int
    variant_id: str | None
    synced: bool
    reported_quantity: str | None
    invoice_line_id: str | None
    tax_rate_id: str | None = None  # T1-T3: the line's rate, its name and stored tax
    tax_rate_name: str | None = None
    tax_minor: int = 0


@dataclass(frozen=True, slots=True)
class MemoRow:
    """A memo's columns, as its view and issue read them."""

    id: str
    customer_id: str
    number: str
    currency: str
    reason: str
    status: str
    issue_date: date | None
    invoice_id: str | None
    total_minor: int
    applied_minor: int
    refunded_minor: int
    notes: str | None
    source: str
    external_id: str | None
    issued_at: datetime | None
    applied_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    created_at: datetime
    updated_at: datetime
    tax_minor: int = 0  # T2: the tax in total_minor
    tax_inclusive: bool = False
    tax_reported: bool = True  # T5: False when a synced memo's system reported no tax
    customer_note: str | None = None  # D1: the note the customer sees


def _names(row_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row_type))


_INVOICE_COLUMNS = _names(InvoiceRow)
_INVOICE_LINE_COLUMNS = _names(InvoiceLineRow)
_MEMO_COLUMNS = _names(MemoRow)
_MEMO_LINE_COLUMNS = _names(MemoLineRow)

_CUSTOMER = select(_customer.c.id, _customer.c.currency).where(
    _customer.c.id == bindparam("row_id"), _customer.c.partner_id == bindparam("partner_id"))
_CUSTOMER_LOCKED = _CUSTOMER.with_for_update(key_share=True)


def _with_lines(doc: Any, line: Any, fk: Any, doc_columns: Sequence[str],
                line_columns: Sequence[str]) -> tuple[Select[Any], Select[Any]]:
    """A document of the partner with its lines in position order (one row per line, or
    one row of NULL line columns), and the same locking the document row on PostgreSQL."""
    stmt = (select(*(doc.c[n] for n in doc_columns),
                   *(line.c[n].label(f"line_{n}") for n in line_columns))
            .select_from(doc.outerjoin(line, fk == doc.c.id))
            .where(doc.c.id == bindparam("row_id"), doc.c.partner_id == bindparam("partner_id"))
            .order_by(line.c.position))
    return stmt, stmt.with_for_update(of=doc, key_share=True)


_INVOICE_WITH_LINES, _INVOICE_WITH_LINES_LOCKED = _with_lines(
    _invoice, _invoice_line, _invoice_line.c.invoice_id, _INVOICE_COLUMNS,
    _INVOICE_LINE_COLUMNS)
_MEMO_WITH_LINES, _MEMO_WITH_LINES_LOCKED = _with_lines(
    _memo, _memo_line, _memo_line.c.credit_memo_id, _MEMO_COLUMNS, _MEMO_LINE_COLUMNS)

_ADD_INVOICE = insert(_invoice)
_ADD_INVOICE_LINES = insert(_invoice_line)
_ADD_MEMO = insert(_memo)
_ADD_MEMO_LINES = insert(_memo_line)
_SET_INVOICE_ISSUED = (
    update(_invoice).where(_invoice.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), issued_at=bindparam("b_issued_at"),
            issue_date=bindparam("b_issue_date"), updated_at=bindparam("b_now")))
_SET_MEMO_ISSUED = (
    update(_memo).where(_memo.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), issued_at=bindparam("b_issued_at"),
            issue_date=bindparam("b_issue_date"), updated_at=bindparam("b_now")))


def customer(conn: Connection, partner_id: str, customer_id: str, *,
             lock: bool = False) -> CustomerRow | None:
    """The partner's customer (locked on PostgreSQL if ``lock``); None if it has none such."""
    row = conn.execute(_CUSTOMER_LOCKED if lock else _CUSTOMER,
                       {"row_id": customer_id, "partner_id": partner_id}).one_or_none()
    return None if row is None else CustomerRow(*row)


def _read_with_lines(conn: Connection, stmt: Select[Any], partner_id: str, row_id: str,
                     doc_type: Any, line_type: Any) -> tuple[Any, list[Any]] | None:
    rows = conn.execute(stmt, {"row_id": row_id, "partner_id": partner_id}).all()
    if not rows:
        return None
    k = len(fields(doc_type))
    lines = [line_type(*r[k:]) for r in rows if r[k] is not None]
    return doc_type(*rows[0][:k]), lines


def invoice_with_lines(conn: Connection, partner_id: str, invoice_id: str, *,
                       lock: bool = False) -> tuple[InvoiceRow, list[InvoiceLineRow]] | None:
    """The partner's invoice and its lines (the invoice locked on PostgreSQL if ``lock``)."""
    return _read_with_lines(conn, _INVOICE_WITH_LINES_LOCKED if lock else _INVOICE_WITH_LINES,
                            partner_id, invoice_id, InvoiceRow, InvoiceLineRow)


def memo_with_lines(conn: Connection, partner_id: str, memo_id: str, *,
                    lock: bool = False) -> tuple[MemoRow, list[MemoLineRow]] | None:
    """The partner's memo and its lines (the memo locked on PostgreSQL if ``lock``)."""
    return _read_with_lines(conn, _MEMO_WITH_LINES_LOCKED if lock else _MEMO_WITH_LINES,
                            partner_id, memo_id, MemoRow, MemoLineRow)


def add_invoice(conn: Connection, values: Mapping[str, Any],
                lines: Sequence[Mapping[str, Any]]) -> None:
    """A new invoice row, then its lines (one ``executemany``)."""
    conn.execute(_ADD_INVOICE, dict(values))
    if lines:
        conn.execute(_ADD_INVOICE_LINES, [dict(li) for li in lines])


def add_memo(conn: Connection, values: Mapping[str, Any],
             lines: Sequence[Mapping[str, Any]]) -> None:
    """A new memo row, then its lines (one ``executemany``)."""
    conn.execute(_ADD_MEMO, dict(values))
    if lines:
        conn.execute(_ADD_MEMO_LINES, [dict(li) for li in lines])


def set_invoice_issued(conn: Connection, invoice_id: str, *, status: str, issued_at: datetime,
                       issue_date: date, now: datetime) -> None:
    conn.execute(_SET_INVOICE_ISSUED, {"b_id": invoice_id, "b_status": status,
                                       "b_issued_at": issued_at, "b_issue_date": issue_date,
                                       "b_now": now})


def set_memo_issued(conn: Connection, memo_id: str, *, status: str, issued_at: datetime,
                    issue_date: date, now: datetime) -> None:
    conn.execute(_SET_MEMO_ISSUED, {"b_id": memo_id, "b_status": status,
                                    "b_issued_at": issued_at, "b_issue_date": issue_date,
                                    "b_now": now})


_refund = models.Refund.__table__
_MEMO_REFUNDS = (select(_refund).where(_refund.c.credit_memo_id == bindparam("memo_id"))
                 .order_by(_refund.c.id))


def memo_refunds(conn: Connection, memo_id: str) -> list[Any]:
    """A memo's refunds (R1), voided ones included, oldest first, as Core rows."""
    return list(conn.execute(_MEMO_REFUNDS, {"memo_id": memo_id}).all())
