"""Row locks, always taken in one order: customer, then memo, then invoice, then variants.

Every credit change for a customer first locks that customer's row (the per-customer
serialisation that lago-api added after race bugs); the rows it then changes are locked
in the order above, so two use cases can never wait on each other in a cycle.
SQLite ignores ``FOR UPDATE``; there the IMMEDIATE write transaction already serialises.

On PostgreSQL the locks are ``FOR NO KEY UPDATE`` (``key_share=True``): the use cases
change amounts and statuses, never keys, and this lock does not conflict with the
``FOR KEY SHARE`` lock that inserting a row with a foreign key takes on its parent. A plain
``FOR UPDATE`` would, and a memo line referencing a variant could then deadlock against
an issue restocking that variant.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.orm import Session, joinedload

from creditdesk.db import models
from creditdesk.domain import errors

T = TypeVar("T", bound=models.Base)

_LABELS = {
    models.Customer: "customer", models.CreditMemo: "credit memo", models.Invoice: "invoice",
    models.Variant: "variant", models.Product: "product",
}


def get_scoped(session: Session, model: type[T], partner_id: str, row_id: object,
               *, lock: bool = False, label: str | None = None) -> T:
    """Load one of the partner's rows by id, optionally ``FOR UPDATE``; else NotFound.

    Another partner's id is answered exactly like a missing one (P4).
    """
    return _get(session, _scoped_select(model, lock), model, partner_id, row_id, label)


def get_scoped_with_lines(session: Session, model: type[T], partner_id: str,
                          row_id: object) -> T:
    """``get_scoped`` of a memo or an invoice with its lines loaded in the same statement
    (a join), for the one-document reads: one query instead of the row's, then a lazy
    load of its lines through the ORM's slower path."""
    return _get(session, _with_lines_select(model), model, partner_id, row_id, None)


def _get(session: Session, stmt: Select[tuple[T]], model: type[T], partner_id: str,
         row_id: object, label: str | None) -> T:
    row = session.scalars(stmt, {"row_id": checked_id(model, row_id, label),
                                 "partner_id": partner_id}).unique() \
        .one_or_none()  # unique(): a joined load repeats the row once per line
    if row is None:
        raise not_found(model, row_id, label)
    return row


def checked_id(model: type[models.Base], row_id: object, label: str | None = None) -> str:
    """``row_id`` if it can be an id at all; else ``get_scoped``'s NotFound, without a
    query (for lookups written in Core statements, e.g. ``db/document_statements.py``)."""
    if not isinstance(row_id, str) or not row_id:
        raise errors.NotFound(f"No {_label(model, label)} with id {row_id!r}.")
    return row_id


def not_found(model: type[models.Base], row_id: object,
              label: str | None = None) -> errors.NotFound:
    """``get_scoped``'s answer when the partner has no such row."""
    return errors.NotFound(f"No {_label(model, label)} with id {row_id}.")


def _label(model: type[models.Base], label: str | None) -> str:
    return label or _LABELS.get(model, model.__tablename__)


@functools.cache
def _with_lines_select(model: type[models.Base]):
    return _scoped_select(model, False).options(joinedload(model.lines))  # type: ignore[attr-defined]


@functools.cache
def _scoped_select(model: type[models.Base], lock: bool):
    """Built once per model: every use case reads its rows through here, and building and
    cache-keying a fresh ``select()`` each time cost more than running it."""
    stmt = select(model).where(model.id == bindparam("row_id"),  # type: ignore[attr-defined]
                               model.partner_id == bindparam("partner_id"))  # type: ignore[attr-defined]
    if lock:
        # populate_existing: a row read earlier in this session is overwritten with the
        # values seen once the lock is granted.
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    return stmt


def _owner_lock(model: type[models.CreditMemo] | type[models.Invoice]):
    owner = (select(model.customer_id)
             .where(model.id == bindparam("row_id"), model.partner_id == bindparam("partner_id"))
             .scalar_subquery())
    return (select(models.Customer.id)
            .where(models.Customer.partner_id == bindparam("partner_id"),
                   models.Customer.id == owner)
            .with_for_update(key_share=True))


# Built once: this runs first in every credit change (see db/credit_statements.py for why).
_OWNER_LOCKS = {model: _owner_lock(model) for model in (models.CreditMemo, models.Invoice)}


def lock_owner(target: Session | Connection, partner_id: str,
               model: type[models.CreditMemo] | type[models.Invoice], row_id: object) -> None:
    """First lock of every change to a memo or an invoice: the row of the customer that
    owns it, found through the document in the same statement (one round trip).

    Nothing to do on SQLite, where the IMMEDIATE write transaction already holds the
    database's write lock. A missing document locks nothing; the caller's locked read of
    it then answers NotFound.
    """
    conn = target if isinstance(target, Connection) else target.connection()
    if conn.dialect.name == "sqlite" or not isinstance(row_id, str):
        return
    conn.execute(_OWNER_LOCKS[model], {"row_id": row_id, "partner_id": partner_id})


def lock_customer(session: Session, partner_id: str, customer_id: str) -> models.Customer:
    """First lock of every credit change: the customer's row."""
    return get_scoped(session, models.Customer, partner_id, customer_id, lock=True)


def lock_variants(session: Session, partner_id: str,
                  variant_ids: set[str]) -> dict[str, models.Variant]:
    """Lock variants in id order (the fixed order) and return them by id."""
    if not variant_ids:
        return {}
    rows = session.scalars(
        select(models.Variant)
        .where(models.Variant.partner_id == partner_id, models.Variant.id.in_(sorted(variant_ids)))
        .order_by(models.Variant.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}


_VARIANT_IDS = bindparam("variant_ids", expanding=True)
# Built once, for the use cases written in Core statements (issuing a document).
_VARIANT_STOCKS = (
    select(models.Variant.id, models.Variant.stock_on_hand)
    .where(models.Variant.partner_id == bindparam("partner_id"),
           models.Variant.id.in_(_VARIANT_IDS))
    .order_by(models.Variant.id)
    .with_for_update(key_share=True))


def lock_variant_stocks(conn: Connection, partner_id: str,
                        variant_ids: set[str]) -> dict[str, int]:
    """``lock_variants`` on a Core connection: the same locks in the same order, and each
    locked variant's stock on hand by id."""
    if not variant_ids:
        return {}
    return {v: stock for v, stock in conn.execute(
        _VARIANT_STOCKS, {"partner_id": partner_id, "variant_ids": sorted(variant_ids)})}
