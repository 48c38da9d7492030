"""The one-invoice read as a SQLAlchemy Core statement built once (a memo's is
``db/document_statements.memo_with_lines``, the statement issuing a memo reads it with).

``GET`` of one memo or one invoice is the most frequent read there is. Through the ORM it
cost several times the database's own work: a session and its transaction, the joined
load's instances in the identity map, then the view copied from them. Here a document
comes back whole in one prebuilt statement, as plain rows that the views take as they are
(``services/read_models/views.py`` reads rows structurally): a memo LEFT JOIN its lines;
here, an invoice with its lines, its payments and the credits applied to it (a UNION ALL,
one row per item). One statement sees one snapshot at any isolation level.

The scoping is ``db/locks.py``'s: the partner's documents only. None answers both a
missing id and another partner's; the caller raises the same NotFound for both (P4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    bindparam,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)

from creditdesk.db import models
from creditdesk.db.document_statements import InvoiceLineRow

_memo = models.CreditMemo.__table__
_invoice = models.Invoice.__table__
_invoice_line = models.InvoiceLine.__table__
_payment = models.Payment.__table__
_application = models.CreditApplication.__table__

_INVOICE_COLUMNS = ("id", "number", "customer_id", "currency", "status", "issue_date",
                    "due_date", "total_minor", "paid_minor", "credited_minor", "tax_minor",
                    "notes", "source", "external_id", "issued_at", "voided_at", "created_at",
                    "updated_at", "tax_inclusive", "tax_reported")


class PaymentRow(NamedTuple):
    """What an invoice's view shows of a payment (``views.PaymentFigures``)."""

    id: str
    amount_minor: int
    paid_at: datetime


class CreditRow(NamedTuple):
    """What an invoice's view shows of a credit applied to it (``views.CreditFigures``)."""

    credit_memo_id: str
    amount_minor: int
    applied_at: datetime


class InvoiceRead(NamedTuple):
    """An invoice (a row of ``views.InvoiceFigures``), its lines, its payments, and the
    credits applied to it each with its memo's number: ``views.invoice_view_of``'s
    arguments."""

    invoice: Row[Any]
    lines: list[InvoiceLineRow]
    payments: list[PaymentRow]
    credits: list[tuple[CreditRow, str]]


# An invoice: one row per line, per payment and per credit applied, each with the invoice's
# columns and then the item's. ``kind`` says which; an item column that kind has not is
# NULL (typed as the column named here, so that every kind's values are read alike).
_ITEM_COLUMNS = {
    "item_id": _invoice_line.c.id, "position": _invoice_line.c.position,
    "description": _invoice_line.c.description, "quantity": _invoice_line.c.quantity,
    "unit_price_minor": _invoice_line.c.unit_price_minor,
    "amount_minor": _invoice_line.c.amount_minor, "variant_id": _invoice_line.c.variant_id,
    "synced": _invoice_line.c.synced, "reported_quantity": _invoice_line.c.reported_quantity,
    "line_tax_rate_id": _invoice_line.c.tax_rate_id,
    "line_tax_rate_name": _invoice_line.c.tax_rate_name,
    "line_tax_minor": _invoice_line.c.tax_minor,  # the invoice's tax_minor is its own
    "at": _payment.c.paid_at, "credit_memo_id": _application.c.credit_memo_id,
    "memo_number": _memo.c.number,
}


def _item(kind: str, **given: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    return [_invoice.c[n] for n in _INVOICE_COLUMNS] + [literal(kind).label("kind")] + [
        (given[n] if n in given else type_coerce(null(), column.type)).label(n)
        for n, column in _ITEM_COLUMNS.items()]


_ln, _pay, _app = _invoice_line.c, _payment.c, _application.c


def credit_in_force(application: Any) -> Any:
    """The applications that are credit on their invoice: all but those whose write-back
    to apply them has not been accepted (Y11: pending or refused); one being removed is
    still in force until its system has removed it."""
    return or_(application.c.status == "applied",
               application.c.write_back_action == "remove")
_the_invoice = (_invoice.c.id == bindparam("row_id")) & \
    (_invoice.c.partner_id == bindparam("partner_id"))
_INVOICE_WHOLE = union_all(
    # LEFT JOIN: the invoice's row even if it had no line
    select(*_item("line", item_id=_ln.id, position=_ln.position, description=_ln.description,
                  quantity=_ln.quantity, unit_price_minor=_ln.unit_price_minor,
                  amount_minor=_ln.amount_minor, variant_id=_ln.variant_id,
                  synced=_ln.synced, reported_quantity=_ln.reported_quantity,
                  line_tax_rate_id=_ln.tax_rate_id, line_tax_rate_name=_ln.tax_rate_name,
                  line_tax_minor=_ln.tax_minor))
    .select_from(_invoice.outerjoin(_invoice_line, _ln.invoice_id == _invoice.c.id))
    .where(_the_invoice),
    select(*_item("payment", item_id=_pay.id, amount_minor=_pay.amount_minor, at=_pay.paid_at))
    .select_from(_invoice.join(_payment, _pay.invoice_id == _invoice.c.id))
    .where(_the_invoice),
    select(*_item("credit", item_id=_app.id, amount_minor=_app.amount_minor,
                  at=_app.applied_at, credit_memo_id=_app.credit_memo_id,
                  memo_number=_memo.c.number))
    .select_from(_invoice.join(_application, _app.invoice_id == _invoice.c.id)
                 .join(_memo, _memo.c.id == _app.credit_memo_id))
    .where(_the_invoice, credit_in_force(_application)),
).order_by("kind", "position", "item_id")  # lines in their order, payments and credits by id


def invoice_whole(conn: Connection, partner_id: str, invoice_id: str) -> InvoiceRead | None:
    """The partner's invoice with its lines, payments and credits applied; None if it has
    no invoice with this id."""
    rows = conn.execute(_INVOICE_WHOLE, {"row_id": invoice_id, "partner_id": partner_id}).all()
    if not rows:
        return None
    got = InvoiceRead(rows[0], [], [], [])
    for r in rows:
        if r.kind == "line":
            if r.item_id is not None:
                got.lines.append(InvoiceLineRow(r.item_id, r.description, r.quantity,
                                                r.unit_price_minor, r.amount_minor,
                                                r.variant_id, bool(r.synced),
                                                r.reported_quantity, r.line_tax_rate_id,
                                                r.line_tax_rate_name, r.line_tax_minor or 0))
        elif r.kind == "payment":
            got.payments.append(PaymentRow(r.item_id, r.amount_minor, r.at))
        else:
            got.credits.append((CreditRow(r.credit_memo_id, r.amount_minor, r.at),
                                r.memo_number))
    return got
