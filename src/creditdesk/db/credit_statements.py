"""The SQL of applying and removing credit, as SQLAlchemy Core statements built once.

Applying credit is the hottest write path (every invoice a customer pays with credit, and
every webhook-driven payment run). Through the ORM, each of its statements cost about as
much Python as the database's own work many times over: building and cache-keying the
``select()``, loading instances into the identity map, then the unit of work's flush. These
statements are built once at import, with bind parameters, so a call only binds values and
SQLAlchemy reuses the compiled form; rows come back as plain tuples. The rules and the lock
order are unchanged (see ``db/locks.py``): on PostgreSQL the owner customer is locked first
(``locks.lock_owner``), then the memo and the invoice together, ``FOR NO KEY UPDATE`` in
that order (PostgreSQL locks a join's rows in the order of its FROM list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, func, insert, or_, select, update

from creditdesk.db import models

_memo = models.CreditMemo.__table__
_invoice = models.Invoice.__table__
_application = models.CreditApplication.__table__

_MEMO_COLUMNS = ("id", "customer_id", "number", "currency", "status", "source",
                 "total_minor", "applied_minor", "external_id", "customer_reference_id",
                 "refunded_minor")
_INVOICE_COLUMNS = ("id", "customer_id", "number", "currency", "status", "total_minor",
                    "paid_minor", "credited_minor", "source", "external_id")


@dataclass(frozen=True, slots=True)
class MemoRow:
    """The memo columns a credit change reads."""

    id: str
    customer_id: str
    number: str
    currency: str
    status: str
    source: str
    total_minor: int
    applied_minor: int
    external_id: str | None
    customer_reference_id: str | None
    refunded_minor: int  # R1: the refunded part of applied_minor (the credit used)


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """The invoice columns a credit change reads."""

    id: str
    customer_id: str
    number: str
    currency: str
    status: str
    total_minor: int
    paid_minor: int
    credited_minor: int
    source: str
    external_id: str | None


# The memo and its customer's invoice, both the partner's, in one statement. No row: a
# missing id, another partner's id, or an invoice of another customer; the caller then
# finds out which with the ORM (the error path need not be fast).
_PAIR = (
    select(*(_memo.c[n] for n in _MEMO_COLUMNS),
           *(_invoice.c[n].label(f"invoice_{n}") for n in _INVOICE_COLUMNS))
    .where(_memo.c.id == bindparam("memo_id"), _memo.c.partner_id == bindparam("partner_id"),
           _invoice.c.id == bindparam("invoice_id"),
           _invoice.c.partner_id == bindparam("partner_id"),
           _invoice.c.customer_id == _memo.c.customer_id)
)
_PAIR_LOCKED = _PAIR.with_for_update(key_share=True)

_SET_MEMO = (update(_memo).where(_memo.c.id == bindparam("b_id"))
             .values(applied_minor=bindparam("b_applied_minor"), status=bindparam("b_status"),
                     applied_at=bindparam("b_applied_at"), updated_at=bindparam("b_now")))
_SET_INVOICE = (update(_invoice).where(_invoice.c.id == bindparam("b_id"))
                .values(credited_minor=bindparam("b_credited_minor"),
                        status=bindparam("b_status"), updated_at=bindparam("b_now")))
_ADD_APPLICATION = insert(_application)
_APPLICATIONS_OF_PAIR = (
    select(_application.c.amount_minor)
    .where(_application.c.credit_memo_id == bindparam("memo_id"),
           _application.c.invoice_id == bindparam("invoice_id")))
_DELETE_APPLICATIONS_OF_PAIR = (
    delete(_application)
    .where(_application.c.credit_memo_id == bindparam("memo_id"),
           _application.c.invoice_id == bindparam("invoice_id")))


def lock_pair(conn: Connection, *, partner_id: str, memo_id: str,
              invoice_id: str) -> tuple[MemoRow, InvoiceRow] | None:
    """The memo and the invoice, locked on PostgreSQL; None unless both are the partner's
    and the invoice is the memo's customer's."""
    stmt = _PAIR if conn.dialect.name == "sqlite" else _PAIR_LOCKED
    row = conn.execute(stmt, {"memo_id": memo_id, "invoice_id": invoice_id,
                              "partner_id": partner_id}).one_or_none()
    if row is None:
        return None
    k = len(_MEMO_COLUMNS)
    return MemoRow(*row[:k]), InvoiceRow(*row[k:])


def set_memo(conn: Connection, memo_id: str, *, applied_minor: int, status: str,
             applied_at: datetime | None, now: datetime) -> None:
    conn.execute(_SET_MEMO, {"b_id": memo_id, "b_applied_minor": applied_minor,
                             "b_status": status, "b_applied_at": applied_at, "b_now": now})


def set_invoice(conn: Connection, invoice_id: str, *, credited_minor: int, status: str,
                now: datetime) -> None:
    conn.execute(_SET_INVOICE, {"b_id": invoice_id, "b_credited_minor": credited_minor,
                                "b_status": status, "b_now": now})


def add_application(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(_ADD_APPLICATION, dict(values))


def applications_of_pair(conn: Connection, memo_id: str, invoice_id: str) -> list[int]:
    """The amounts of every application of the memo to the invoice."""
    return list(conn.scalars(_APPLICATIONS_OF_PAIR,
                             {"memo_id": memo_id, "invoice_id": invoice_id}))


# Y11: the credit held by unanswered write-backs that apply it, on the memo and on the
# invoice (the system's figures don't count it yet, so A2's caps subtract it).
_HELD = (
    select(func.coalesce(func.sum(case((_application.c.credit_memo_id == bindparam("memo_id"),
                                        _application.c.amount_minor), else_=0)), 0),
           func.coalesce(func.sum(case((_application.c.invoice_id == bindparam("invoice_id"),
                                        _application.c.amount_minor), else_=0)), 0))
    .where(_application.c.status == "pending", _application.c.write_back_action == "apply",
           or_(_application.c.credit_memo_id == bindparam("memo_id"),
               _application.c.invoice_id == bindparam("invoice_id"))))


def held_by_write_backs(conn: Connection, memo_id: str, invoice_id: str) -> tuple[int, int]:
    """(on the memo, on the invoice): the amounts of pending write-backs that apply credit."""
    memo_held, invoice_held = conn.execute(
        _HELD, {"memo_id": memo_id, "invoice_id": invoice_id}).one()
    return int(memo_held), int(invoice_held)


def delete_applications_of_pair(conn: Connection, memo_id: str, invoice_id: str) -> None:
    conn.execute(_DELETE_APPLICATIONS_OF_PAIR, {"memo_id": memo_id, "invoice_id": invoice_id})


# AU1: the customer's native credit of one currency that can still be applied, each memo
# with its issue date; locked (PostgreSQL) in id order, after the customer and before the
# invoice (db/locks.py).
_AVAILABLE_CREDIT = (
    select(*(_memo.c[n] for n in _MEMO_COLUMNS), _memo.c.issue_date)
    .where(_memo.c.partner_id == bindparam("partner_id"),
           _memo.c.customer_id == bindparam("customer_id"),
           _memo.c.currency == bindparam("currency"), _memo.c.source == "native",
           _memo.c.status.in_(("issued", "partially_applied")),
           _memo.c.applied_minor < _memo.c.total_minor)
    .order_by(_memo.c.id))
_AVAILABLE_CREDIT_LOCKED = _AVAILABLE_CREDIT.with_for_update(key_share=True)


def lock_available_credit(conn: Connection, *, partner_id: str, customer_id: str,
                          currency: str) -> list[tuple[MemoRow, date | None]]:
    """Every native memo of the customer in ``currency`` with credit left (issued or
    partially applied), with its issue date; locked on PostgreSQL, in id order."""
    stmt = _AVAILABLE_CREDIT if conn.dialect.name == "sqlite" else _AVAILABLE_CREDIT_LOCKED
    k = len(_MEMO_COLUMNS)
    return [(MemoRow(*row[:k]), row[k]) for row in conn.execute(
        stmt, {"partner_id": partner_id, "customer_id": customer_id, "currency": currency})]
