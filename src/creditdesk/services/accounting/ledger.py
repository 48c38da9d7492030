"""Journal postings, inventory movements and the reports over them (I3, L2, L4, J1-J3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import journal
from creditdesk.domain.inventory import ActivityKind, StockMove
from creditdesk.domain.money import Money
from creditdesk.services.common import dml, pagination
from creditdesk.services.common.context import Actor, clock, new_id


def post(session: Session, partner_id: str, posting: journal.Posting, *, entry_date: date,
         source_type: str, source_id: str) -> None:
    """Write one posting; the unique (kind, source) index refuses a second one (L2)."""
    session.add(models.JournalEntry(**_entry(partner_id, posting, entry_date=entry_date,
                                             source_type=source_type, source_id=source_id)))


def _entry(partner_id: str, posting: journal.Posting, *, entry_date: date, source_type: str,
           source_id: str) -> dict[str, Any]:
    """A posting's journal row, as column values."""
    return {"id": new_id("je"), "partner_id": partner_id, "entry_date": entry_date,
            "description": posting.description, "kind": posting.kind.value,
            "source_type": source_type, "source_id": source_id,
            "debit_account": posting.debit.value, "credit_account": posting.credit.value,
            "amount_minor": posting.amount.minor, "currency": posting.amount.currency,
            "created_at": clock.now()}


def move_stock(session: Session, partner_id: str, variant: models.Variant, quantity: int, *,
               kind: ActivityKind, source_type: str, source_id: str,
               source_line_id: str | None) -> None:
    """Change a (locked) variant's stock and record the activity in one go (J3)."""
    variant.stock_on_hand += quantity
    session.add(models.InventoryActivity(**_activity(
        partner_id, variant.id, quantity, kind=kind, source_type=source_type,
        source_id=source_id, source_line_id=source_line_id)))


def _activity(partner_id: str, variant_id: str, quantity: int, *, kind: ActivityKind,
              source_type: str, source_id: str, source_line_id: str | None) -> dict[str, Any]:
    """A stock movement's row, as column values."""
    return {"id": new_id("ia"), "partner_id": partner_id, "variant_id": variant_id,
            "quantity": quantity, "kind": kind.value, "source_type": source_type,
            "source_id": source_id, "source_line_id": source_line_id,
            "created_at": clock.now()}


def move_stocks(session: Session, partner_id: str, moves: list[StockMove], *,
                kind: ActivityKind, source_type: str, source_id: str) -> None:
    """Lock the moves' variants (in the fixed order), then ``move_stock`` each (J3)."""
    variants = locks.lock_variants(session, partner_id, {m.variant_id for m in moves})
    for m in moves:
        move_stock(session, partner_id, variants[m.variant_id], m.quantity, kind=kind,
                   source_type=source_type, source_id=source_id,
                   source_line_id=m.source_line_id)


# The same two writes as prebuilt Core statements, for use cases written on a Core
# connection (creating and issuing documents: ``db/document_statements.py``).
_variant = dml.table(models.Variant)
_ADD_ENTRY = insert(dml.table(models.JournalEntry))
_ADD_ACTIVITIES = insert(dml.table(models.InventoryActivity))
_SET_STOCK = (update(_variant).where(_variant.c.id == bindparam("b_id"))
              .values(stock_on_hand=bindparam("b_stock")))


def post_on(conn: Connection, partner_id: str, posting: journal.Posting, *, entry_date: date,
            source_type: str, source_id: str) -> None:
    """``post`` on a Core connection."""
    conn.execute(_ADD_ENTRY, _entry(partner_id, posting, entry_date=entry_date,
                                    source_type=source_type, source_id=source_id))


def move_stocks_on(conn: Connection, partner_id: str, moves: list[StockMove], *,
                   kind: ActivityKind, source_type: str, source_id: str) -> None:
    """``move_stocks`` on a Core connection: the variants locked in the fixed order, each
    one's stock changed by its moves, an activity per move (J3)."""
    if not moves:
        return
    stock = locks.lock_variant_stocks(conn, partner_id, {m.variant_id for m in moves})
    activities = []
    for m in moves:
        stock[m.variant_id] += m.quantity
        activities.append(_activity(partner_id, m.variant_id, m.quantity, kind=kind,
                                    source_type=source_type, source_id=source_id,
                                    source_line_id=m.source_line_id))
    conn.execute(_SET_STOCK, [{"b_id": v, "b_stock": q} for v, q in stock.items()])
    conn.execute(_ADD_ACTIVITIES, activities)


# --- read models -------------------------------------------------------------

@dataclass(frozen=True)
class JournalLineView:
    account_code: str
    account_name: str
    debit: Money
    credit: Money


@dataclass(frozen=True)
class JournalEntryView:
    id: str
    date: date
    description: str
    source_type: str
    source_id: str
    currency: str
    lines: list[JournalLineView]


def entry_view(row: models.JournalEntry) -> JournalEntryView:
    zero = Money.zero(row.currency)
    amount = Money(row.amount_minor, row.currency)
    dr, cr = journal.Account(row.debit_account), journal.Account(row.credit_account)
    return JournalEntryView(row.id, row.entry_date, row.description, row.source_type,
                            row.source_id, row.currency, [
        JournalLineView(dr.value, journal.ACCOUNT_NAMES[dr], amount, zero),
        JournalLineView(cr.value, journal.ACCOUNT_NAMES[cr], zero, amount),
    ])


def list_entries(db: Database, *, actor: Actor, source_type: str | None = None,
                 source_id: str | None = None, limit: int = 50,
                 cursor: str | None = None) -> pagination.Page[JournalEntryView]:
    stmt = select(models.JournalEntry).where(models.JournalEntry.partner_id == actor.partner_id)
    if source_type:
        stmt = stmt.where(models.JournalEntry.source_type == source_type)
    if source_id:
        stmt = stmt.where(models.JournalEntry.source_id == source_id)
    with db.read() as session:
        return pagination.newest_first(session, stmt, models.JournalEntry.id, limit=limit,
                                       cursor=cursor, view=entry_view)


@dataclass(frozen=True)
class AccountBalance:
    code: str
    name: str
    debit: Money
    credit: Money
    balance: Money  # debit - credit


@dataclass(frozen=True)
class TrialBalance:
    currency: str
    accounts: list[AccountBalance]
    total_debit: Money
    total_credit: Money


def trial_balance(db: Database, *, actor: Actor, currency: str = "USD") -> TrialBalance:
    """Debits and credits per account for one currency; the totals always agree (J1)."""
    je = models.JournalEntry
    scope = (je.partner_id == actor.partner_id, je.currency == currency)
    with db.read() as session:
        debits = dict(session.execute(select(je.debit_account, func.sum(je.amount_minor))
                                      .where(*scope).group_by(je.debit_account)).all())
        credits = dict(session.execute(select(je.credit_account, func.sum(je.amount_minor))
                                       .where(*scope).group_by(je.credit_account)).all())
    accounts = []
    for account in journal.Account:
        dr, cr = int(debits.get(account.value, 0)), int(credits.get(account.value, 0))
        accounts.append(AccountBalance(account.value, journal.ACCOUNT_NAMES[account],
                                       Money(dr, currency), Money(cr, currency),
                                       Money(dr - cr, currency)))
    return TrialBalance(currency, accounts,
                        Money(sum(a.debit.minor for a in accounts), currency),
                        Money(sum(a.credit.minor for a in accounts), currency))


@dataclass(frozen=True)
class ActivityView:
    id: str
    variant_id: str
    quantity: int
    kind: str
    source_type: str
    source_id: str
    created_at: datetime


def list_activities(db: Database, *, actor: Actor, variant_id: str | None = None,
                    source_id: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> pagination.Page[ActivityView]:
    ia = models.InventoryActivity
    stmt = select(ia).where(ia.partner_id == actor.partner_id)
    if variant_id:
        stmt = stmt.where(ia.variant_id == variant_id)
    if source_id:
        stmt = stmt.where(ia.source_id == source_id)
    with db.read() as session:
        return pagination.newest_first(
            session, stmt, ia.id, limit=limit, cursor=cursor,
            view=lambda r: ActivityView(r.id, r.variant_id, r.quantity, r.kind, r.source_type,
                                        r.source_id, r.created_at))
