"""The one-document reads (a memo, an invoice with its lines) as SQLAlchemy Core
statements built once.

``GET`` of one memo or one invoice is the most frequent read there is. Through the ORM it
cost several times the database's own work: a session and its transaction, the joined
load's instances in the identity map, then the view copied from them. Here the document's
columns and its lines come back in one prebuilt statement (the document LEFT JOIN its
lines), as plain rows that the views take as they are (``services/read_models/views.py``
reads rows structurally). The scoping is ``db/locks.py``'s: the partner's rows only, and
another partner's id is answered like a missing one (P4) — by the caller, from None.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, Select, bindparam, select

from creditdesk.db import models

_MEMO_COLUMNS = ("id", "number", "customer_id", "currency", "reason", "status", "issue_date",
                 "invoice_id", "total_minor", "applied_minor", "refunded_minor", "notes",
                 "source", "external_id", "issued_at", "applied_at", "voided_at",
                 "void_reason", "created_at", "updated_at")
_INVOICE_COLUMNS = ("id", "number", "customer_id", "currency", "status", "issue_date",
                    "due_date", "total_minor", "paid_minor", "credited_minor", "notes",
                    "issued_at", "voided_at", "created_at", "updated_at")


class InvoiceLineRow(NamedTuple):
    """An invoice's line as its view shows it (``views.LineFigures``)."""

    id: str
    description: str
    quantity: int
    unit_price_minor: int
    amount_minor: int
    variant_id: str | None


class MemoLineRow(NamedTuple):
    """A memo's line as its view shows it (``views.MemoLineFigures``)."""

    id: str
    description: str
    quantity: int | None
    unit_price_minor: int | None
    amount_minor: int
    variant_id: str | None
    synced: bool
    reported_quantity: str | None
    invoice_line_id: str | None


def _with_lines(document: Any, columns: tuple[str, ...], line: Any,
                line_columns: tuple[str, ...], foreign_key: Any) -> Select[Any]:
    """One of the partner's documents by id, LEFT JOIN its lines in their order: the
    document's columns under their own names, then the line's as ``line_<name>`` (NULL
    when it has none)."""
    doc, ln = document.__table__, line.__table__
    return (select(*(doc.c[n] for n in columns),
                   *(ln.c[n].label(f"line_{n}") for n in line_columns))
            .select_from(doc.outerjoin(ln, foreign_key == doc.c.id))
            .where(doc.c.id == bindparam("row_id"), doc.c.partner_id == bindparam("partner_id"))
            .order_by(ln.c.position))


_MEMO_WITH_LINES = _with_lines(models.CreditMemo, _MEMO_COLUMNS, models.CreditMemoLine,
                               MemoLineRow._fields,
                               models.CreditMemoLine.__table__.c.credit_memo_id)
_INVOICE_WITH_LINES = _with_lines(models.Invoice, _INVOICE_COLUMNS, models.InvoiceLine,
                                  InvoiceLineRow._fields,
                                  models.InvoiceLine.__table__.c.invoice_id)


def memo_with_lines(conn: Connection, partner_id: str,
                    memo_id: str) -> tuple[Row[Any], list[MemoLineRow]] | None:
    """The partner's memo (a row of ``views.MemoFigures``) and its lines; None if it has
    no memo with this id."""
    rows = conn.execute(_MEMO_WITH_LINES, {"row_id": memo_id, "partner_id": partner_id}).all()
    if not rows:
        return None
    k = len(_MEMO_COLUMNS)
    return rows[0], [MemoLineRow(*r[k:]) for r in rows if r[k] is not None]


def invoice_with_lines(conn: Connection, partner_id: str,
                       invoice_id: str) -> tuple[Row[Any], list[InvoiceLineRow]] | None:
    """The partner's invoice (a row of ``views.InvoiceFigures``) and its lines; None if it
    has no invoice with this id."""
    rows = conn.execute(_INVOICE_WITH_LINES,
                        {"row_id": invoice_id, "partner_id": partner_id}).all()
    if not rows:
        return None
    k = len(_INVOICE_COLUMNS)
    return rows[0], [InvoiceLineRow(*r[k:]) for r in rows if r[k] is not None]
