"""CSV exports (D3): the memo list with its filters, the applications and the refunds,
read in keyset pages so that any number of rows streams in bounded memory.

Each export is a header and an iterator of pages (lists of row tuples: text, dates,
``Amount``); ``web/csv_export.py`` writes them as CSV. Filters are checked when the export
is made, before the first page is read, so a bad one is a 422 and never half a file.

Why keyset pages, each its own one-statement read, and not one server-side cursor: a
download runs as fast as the client reads, and a cursor would hold a pooled connection
and an open transaction (on PostgreSQL, the snapshot that holds back vacuum) for all
that time. Pages of ``PAGE_SIZE`` rows, newest first by id (``WHERE id < last``), hold a
connection only while a page is read. The file is therefore not one snapshot: a row
changed during the download shows as it was when its page was read; ids never change,
so no row is written twice or skipped, and rows created after the export began (newer
ids) are not in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import money
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import memos

PAGE_SIZE = 1000

MEMO_HEADER = ("number", "customer", "customer_id", "currency", "reason", "status",
               "issue_date", "total", "applied_amount", "refunded_amount", "remaining_amount",
               "source", "external_id", "invoice_number")
APPLICATION_HEADER = ("id", "credit_memo_number", "credit_memo_id", "invoice_number",
                      "invoice_id", "customer", "customer_id", "currency", "amount", "status",
                      "origin", "applied_at", "applied_by")
REFUND_HEADER = ("id", "credit_memo_number", "credit_memo_id", "customer", "customer_id",
                 "currency", "amount", "method", "refunded_at", "reference", "status",
                 "created_at", "created_by", "voided_at")

Row = tuple[Any, ...]


class Amount(str):
    """A plain decimal amount with its currency's digits (``1234.50``), exact from the
    minor units: text we wrote, which the CSV's formula guard leaves alone."""

    __slots__ = ()


def amount(minor: int, currency: str) -> Amount:
    return Amount(money.minor_text(minor, currency))


@dataclass(frozen=True)
class Export:
    """A CSV to be written: its header, its pages (read as they are consumed) and the
    name the download suggests."""

    filename: str
    header: tuple[str, ...]
    pages: Iterator[list[Row]]


def _pages(db: Database, stmt: Select[*tuple[Any, ...]], id_column: Any,
           page_size: int | None) -> Iterator[list[Row]]:
    """``stmt``'s rows newest first, a page at a time, each page one read; the id is the
    first column of every row (the key of the next page) and is dropped by the caller."""
    size = page_size or PAGE_SIZE
    last: str | None = None
    while True:
        page_stmt = stmt if last is None else stmt.where(id_column < last)
        with db.lookup() as conn:
            rows = conn.execute(page_stmt.order_by(id_column.desc()).limit(size)).all()
        if not rows:
            return
        yield [tuple(r) for r in rows]
        if len(rows) < size:
            return
        last = rows[-1][0]


def memo_export(db: Database, *, actor: Actor, statuses: list[str] | None = None,
                customer_id: str | None = None, source: str | None = None,
                has_remaining: bool | None = None, q: str | None = None,
                page_size: int | None = None) -> Export:
    """D3: the memos the list (S2) shows with the same filters, newest first, as CSV rows
    of ``MEMO_HEADER``. The filters are checked here, at once."""
    where = memos.memo_conditions(actor=actor, statuses=statuses, customer_id=customer_id,
                                  source=source, has_remaining=has_remaining, q=q)
    cm, cu, inv = models.CreditMemo, models.Customer, models.Invoice
    stmt = (select(cm.id, cm.number, cu.name, cm.customer_id, cm.currency, cm.reason,
                   cm.status, cm.issue_date, cm.total_minor, cm.applied_minor,
                   cm.refunded_minor, cm.source, cm.external_id, inv.number)
            .join(cu, cu.id == cm.customer_id)
            .outerjoin(inv, inv.id == cm.invoice_id)
            .where(*where))

    def rows() -> Iterator[list[Row]]:
        for page in _pages(db, stmt, cm.id, page_size):
            yield [_memo_row(r) for r in page]

    return Export("credit-memos.csv", MEMO_HEADER, rows())


def _memo_row(r: Row) -> Row:
    (_id, number, customer, customer_id, cur, reason, status, issue_date, total, applied,
     refunded, source, external_id, invoice_number) = r
    remaining = memo_rules.remaining_minor(status=memo_rules.MemoStatus(status),
                                           total_minor=total, applied_minor=applied)
    return (number, customer, customer_id, cur, reason, status, issue_date,
            amount(total, cur), amount(applied, cur), amount(refunded or 0, cur),
            amount(remaining, cur), source, external_id, invoice_number)


def application_export(db: Database, *, actor: Actor, customer_id: str | None = None,
                       page_size: int | None = None) -> Export:
    """D3: the partner's credit applications (one customer's, with ``customer_id``),
    newest first, as CSV rows of ``APPLICATION_HEADER``."""
    ca, cm, cu = models.CreditApplication, models.CreditMemo, models.Customer
    inv = models.Invoice
    stmt = (select(ca.id, cm.number, ca.credit_memo_id, inv.number, ca.invoice_id, cu.name,
                   cm.customer_id, cm.currency, ca.amount_minor, ca.status, ca.origin,
                   ca.applied_at, ca.applied_by)
            .join(cm, cm.id == ca.credit_memo_id)
            .join(inv, inv.id == ca.invoice_id)
            .join(cu, cu.id == cm.customer_id)
            .where(ca.partner_id == actor.partner_id))
    if customer_id:
        stmt = stmt.where(cm.customer_id == customer_id)

    def rows() -> Iterator[list[Row]]:
        for page in _pages(db, stmt, ca.id, page_size):
            yield [(*r[:8], amount(r[8], r[7]), *r[9:]) for r in page]

    return Export("credit-applications.csv", APPLICATION_HEADER, rows())


def refund_export(db: Database, *, actor: Actor, customer_id: str | None = None,
                  page_size: int | None = None) -> Export:
    """D3: the partner's refunds, voided ones included (``status`` says which), newest
    first, as CSV rows of ``REFUND_HEADER``."""
    rf, cm, cu = models.Refund, models.CreditMemo, models.Customer
    stmt = (select(rf.id, cm.number, rf.credit_memo_id, cu.name, cm.customer_id, rf.currency,
                   rf.amount_minor, rf.method, rf.refunded_at, rf.reference, rf.voided_at,
                   rf.created_at, rf.created_by)
            .join(cm, cm.id == rf.credit_memo_id)
            .join(cu, cu.id == cm.customer_id)
            .where(rf.partner_id == actor.partner_id))
    if customer_id:
        stmt = stmt.where(cm.customer_id == customer_id)

    def rows() -> Iterator[list[Row]]:
        for page in _pages(db, stmt, rf.id, page_size):
            yield [(*r[:6], amount(r[6], r[5]), r[7], r[8], r[9],
                    "voided" if r[10] is not None else "refunded", r[11], r[12], r[10])
                   for r in page]

    return Export("refunds.csv", REFUND_HEADER, rows())
