"""One page of a sync while it lands (B6): what ``prefetch`` loaded and locked, what landing
decides in memory, and what ``flush`` writes, the same way for every kind of synced document
(credit memos, invoices: Y3, Y9).

Rows the page creates are plain values (``NewRow``) written with one ``bulk.insert_rows``
per table (COPY on PostgreSQL, an executemany elsewhere): building an ORM object and
flushing it through the unit of work cost more than the rest of landing a first sync. Only
documents that exist are ORM objects, changed in place and flushed as updates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, delete, select
from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import bulk, models
from creditdesk.domain import memo as rules
from creditdesk.services.common import dml
from creditdesk.services.common.context import new_id

MAX_NUMBER = 60  # credit_memos.number, invoices.number
MAX_EXTERNAL_ID = 255  # external_id columns (PostgreSQL refuses more)


class NewRow(dict[str, Any]):
    """The column values of a row the page inserts, read and changed as attributes (like the
    ORM objects of existing documents), so a document created and then changed in one page
    is handled by the same code as any other."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


LineKey = tuple[str, str | None, int | None, int]  # description, quantity, unit price, amount


def line_key(line: base.RemoteLine) -> LineKey:
    return (line.description, line.quantity, line.unit_price_minor, line.amount_minor)


@dataclass(frozen=True)
class Kind:
    """Where one kind of synced document and its lines are stored."""

    model: type[models.CreditMemo] | type[models.Invoice]
    line_model: type[models.CreditMemoLine] | type[models.InvoiceLine]
    line_fk: str  # the lines' column naming their document
    line_prefix: str  # of the lines' ids


MEMOS = Kind(models.CreditMemo, models.CreditMemoLine, "credit_memo_id", "cml")
INVOICES = Kind(models.Invoice, models.InvoiceLine, "invoice_id", "il")

Doc = TypeVar("Doc", models.CreditMemo | NewRow, models.Invoice | NewRow)


@dataclass
class Documents(Generic[Doc]):
    """One kind of document in a page: the run's counts for it, the stored rows by external
    id (loaded and locked by ``prefetch``; rows created while landing the page are added as
    they are made), the stored lines by document id (as comparable tuples), and the page's
    pending writes: new rows, documents whose stored lines go, and the lines replacing them."""

    kind: Kind
    created: int = 0
    updated: int = 0
    voided: int = 0
    rows: dict[str, Doc] = field(default_factory=dict)
    lines: dict[str, tuple[LineKey, ...]] = field(default_factory=dict)
    new_rows: list[NewRow] = field(default_factory=list)
    drop_lines: set[str] = field(default_factory=set)
    new_lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Counts:
    """Everything one page holds while it lands (its name is older than the rest)."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    # The page's customers (their ids) and their references (ids) by the system's customer
    # id, and the customers a new reference may join by email (Y10: (lower-case email,
    # currency) → customer id).
    customers: dict[str, str] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    by_email: dict[tuple[str, str], str] = field(default_factory=dict)
    memos: Documents[models.CreditMemo | NewRow] = field(
        default_factory=lambda: Documents(MEMOS))
    invoices: Documents[models.Invoice | NewRow] = field(
        default_factory=lambda: Documents(INVOICES))
    # Rows to insert, customers before the documents that name them.
    new_customers: list[dict[str, Any]] = field(default_factory=list)
    new_references: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def prefetch_documents(session: Session, partner_id: str, source: rules.Source,
                       docs: Documents[Any], external_ids: Sequence[str],
                       with_lines: set[str]) -> None:
    """Load and lock the page's stored documents of one kind in one query, in external-id
    order: the order of the unique index (partner, source, external_id) that finds them (in
    id order SQLite walked every document of the partner and source on each page instead,
    which made a first sync of 100,000 memos quadratic: B6). Then the stored lines of those
    among ``with_lines`` (their records report lines) in one query."""
    if not external_ids:
        return
    model = docs.kind.model
    docs.rows.update((ext or "", row) for row, ext in session.execute(
        select(model, model.external_id).where(
            model.partner_id == partner_id, model.source == source.value,
            model.external_id.in_(sorted(external_ids)))
        .order_by(model.external_id).with_for_update()))
    known = sorted(d.id for ext, d in docs.rows.items() if ext in with_lines)
    if not known:
        return
    line = docs.kind.line_model
    fk = getattr(line, docs.kind.line_fk)
    stored: dict[str, list[LineKey]] = {}
    for row in session.execute(
            select(fk, line.description, line.reported_quantity, line.unit_price_minor,
                   line.amount_minor).where(fk.in_(known)).order_by(fk, line.position)):
        stored.setdefault(row[0], []).append((row[1], row[2], row[3], row[4]))
    docs.lines.update((doc_id, tuple(stored.get(doc_id, ()))) for doc_id in known)


def replace_lines(docs: Documents[Any], doc: Any, lines: tuple[base.RemoteLine, ...] | None
                  ) -> bool:
    """Queue the document's lines to become the ones the system reports; False when it
    reports none (``lines`` None) or the same ones (compared with the prefetched ones)."""
    if lines is None:
        return False
    wanted = tuple(line_key(li) for li in lines)
    if docs.lines.get(doc.id, ()) == wanted:
        return False
    if docs.lines.get(doc.id):
        docs.drop_lines.add(doc.id)
    docs.lines[doc.id] = wanted
    # keyed by document: one landed twice in a page keeps only its last lines
    docs.new_lines[doc.id] = [
        {"id": new_id(docs.kind.line_prefix), "partner_id": doc.partner_id,
         docs.kind.line_fk: doc.id, "position": i, "description": li.description,
         "reported_quantity": li.quantity, "unit_price_minor": li.unit_price_minor,
         "amount_minor": li.amount_minor,
         "synced": True}  # quantity and variant_id: NULL, as a synced line has them
        for i, li in enumerate(lines)]
    return True


def flush_documents(session: Session, conn: Connection, docs: Documents[Any]) -> None:
    """Write one kind's new rows, one DELETE of the replaced lines, and the lines replacing
    them (after the unit of work has flushed the changes to existing rows)."""
    bulk.insert_rows(conn, dml.table(docs.kind.model), docs.new_rows)
    if docs.drop_lines:
        fk = getattr(docs.kind.line_model, docs.kind.line_fk)
        session.execute(delete(docs.kind.line_model).where(fk.in_(sorted(docs.drop_lines)))
                        .execution_options(synchronize_session=False))
    bulk.insert_rows(conn, dml.table(docs.kind.line_model),
                     [row for doc_rows in docs.new_lines.values() for row in doc_rows])
    docs.new_rows.clear()
    docs.drop_lines.clear()
    docs.new_lines.clear()


