"""Concurrency of documents: numbers, linked memos, issue and void, and the lock order of
ARCHITECTURE.md across every use case at once (C3, C5, I2, L2, L4).

PostgreSQL (``pg_db``) is where row locks matter: every scenario runs there at full size.
SQLite has no row locks; its write transactions begin IMMEDIATE and so must serialise the
same races, without a single "database is locked": each rule has a smaller SQLite variant.
The racing helpers are in ``tests/concurrency.py``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain.journal import EntryKind
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.invoicing import invoices
from tests import factories
from tests.concurrency import (
    MS,
    SQLITE,
    Calls,
    activities,
    assert_books,
    count,
    journal_count,
    memo_row,
    new_actor,
    race,
    settle,
)

pytestmark = pytest.mark.slow

# --- C3 (and I2): numbers stay unique under concurrent creation ---------------------------

def _c3_numbers(db: Database, *, memo_threads: int, invoice_threads: int) -> None:
    actor = new_actor(db)
    customer_ids = [factories.customer(db, actor, f"Customer {i}") for i in range(4)]
    line = [{"description": "Support", "quantity": 1, "unit_price": "50.00"}]
    calls: Calls = [
        ("memo", lambda i=i: memos.create_memo(db, actor=actor, customer_id=customer_ids[i % 4],
                                               reason="goodwill", amount="5.00"))
        for i in range(memo_threads)]
    calls += [("invoice", lambda i=i: invoices.create_invoice(
        db, actor=actor, customer_id=customer_ids[i % 4], lines=line))
        for i in range(invoice_threads)]

    ok, _ = settle(race(calls), {})
    memo_numbers = sorted(o.value.number for o in ok.get("memo", []))  # type: ignore[attr-defined]
    assert memo_numbers == [f"CM-{n:04d}" for n in range(1, memo_threads + 1)]
    invoice_numbers = sorted(o.value.number for o in ok.get("invoice", []))  # type: ignore[attr-defined]
    assert invoice_numbers == [f"INV-{n:04d}" for n in range(1, invoice_threads + 1)]
    with db.read() as s:
        stored = s.scalars(select(models.CreditMemo.number).where(
            models.CreditMemo.partner_id == actor.partner_id)).all()
    assert sorted(stored) == memo_numbers


def test_c3_concurrent_creation_yields_unique_numbers(pg_db):
    _c3_numbers(pg_db, memo_threads=40, invoice_threads=0)


def test_c3_i2_concurrent_memo_and_invoice_creation_yields_unique_numbers(pg_db):
    _c3_numbers(pg_db, memo_threads=20, invoice_threads=20)


@SQLITE
def test_c3_concurrent_creation_yields_unique_numbers_sqlite(db):
    _c3_numbers(db, memo_threads=16, invoice_threads=8)


# --- C5: concurrent linked memos never credit more than the invoice -----------------------

def _c5_linked_cap(db: Database, *, threads: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cus, "100.00")
    outcomes = race([("create", lambda: memos.create_memo(
        db, actor=actor, customer_id=cus, reason="billing_adjustment", amount="30.00",
        invoice_id=inv)) for _ in range(threads)])
    ok, refused = settle(outcomes, {"create": (errors.ExceedsInvoiceTotal,)})
    assert count(ok, "create") == 3
    assert count(refused, "create") == threads - 3
    with db.read() as s:
        linked = s.scalar(select(func.sum(models.CreditMemo.total_minor)).where(
            models.CreditMemo.invoice_id == inv))
    assert linked == 9000


def test_c5_concurrent_linked_memos_never_exceed_invoice_total(pg_db):
    _c5_linked_cap(pg_db, threads=24)


@SQLITE
def test_c5_concurrent_linked_memos_never_exceed_invoice_total_sqlite(db):
    _c5_linked_cap(db, threads=10)


# --- L2 / L4: issuing (and voiding) twice never restocks or posts twice -------------------

def _variant_memo(db: Database, actor: Actor, cus: str, variant_id: str) -> str:
    return memos.create_memo(db, actor=actor, customer_id=cus, reason="returned_goods", lines=[
        {"description": "Router returned", "quantity": 3, "unit_price": "25.00",
         "variant_id": variant_id},
        {"description": "Restocking fee waived", "quantity": 1, "unit_price": "10.00"},
    ]).id


def _l2_issue_once(db: Database, *, threads: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    variant_id = factories.variant(db, actor, "RTR-1", stock=10)
    memo_id = _variant_memo(db, actor, cus, variant_id)

    outcomes = race([("issue", lambda: memo_lifecycle.issue_memo(db, actor=actor,
                                                                 memo_id=memo_id))] * threads)

    ok, refused = settle(outcomes, {"issue": (errors.InvalidState,)})
    assert count(ok, "issue") == 1
    assert count(refused, "issue") == threads - 1
    assert memo_row(db, memo_id).status == MS.ISSUED
    assert journal_count(db, memo_id, EntryKind.MEMO_ISSUE) == 1
    restocks = activities(db, memo_id)
    assert [(a.variant_id, a.quantity, a.kind) for a in restocks] == [
        (variant_id, 3, "credit_memo_restock")]  # the service line restocks nothing
    with db.read() as s:
        assert s.get(models.Variant, variant_id).stock_on_hand == 13  # type: ignore[union-attr]
    assert_books(db, actor)


def test_l2_concurrent_issue_restocks_and_posts_once(pg_db):
    _l2_issue_once(pg_db, threads=32)


@SQLITE
def test_l2_concurrent_issue_restocks_and_posts_once_sqlite(db):
    _l2_issue_once(db, threads=12)


def _l4_void_once(db: Database, *, threads: int) -> None:
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    variant_id = factories.variant(db, actor, "RTR-1", stock=10)
    memo_id = _variant_memo(db, actor, cus, variant_id)
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=memo_id)

    outcomes = race([("void", lambda: memo_lifecycle.void_memo(
        db, actor=actor, memo_id=memo_id, reason="entered twice"))] * threads)

    ok, refused = settle(outcomes, {"void": (errors.InvalidState,)})
    assert count(ok, "void") == 1
    assert count(refused, "void") == threads - 1
    assert journal_count(db, memo_id, EntryKind.MEMO_ISSUE) == 1
    assert journal_count(db, memo_id, EntryKind.MEMO_VOID) == 1
    assert sorted(a.quantity for a in activities(db, memo_id)) == [-3, 3]
    with db.read() as s:
        assert s.get(models.Variant, variant_id).stock_on_hand == 10  # type: ignore[union-attr]
    assert_books(db, actor)


def test_l4_concurrent_void_reverses_once(pg_db):
    _l4_void_once(pg_db, threads=24)


@SQLITE
def test_l4_concurrent_void_reverses_once_sqlite(db):
    _l4_void_once(db, threads=10)


# --- the lock order: every use case at once, across customers sharing variants ------------

def _lock_order(db: Database, *, rounds: int) -> None:
    """Use cases that touch different rows but share customers and variants, all at once:
    with one lock order (customer, memo, invoice, variants by id) none waits in a cycle, so
    every one of them succeeds; PostgreSQL would abort one of a cycle as a deadlock."""
    actor = new_actor(db)
    v1 = factories.variant(db, actor, "SKU-A", stock=100)
    v2 = factories.variant(db, actor, "SKU-B", stock=100)
    customers_ = [factories.customer(db, actor, f"Customer {c}") for c in "AB"]

    def lines(first: str, second: str) -> list[dict]:
        return [{"description": "x", "quantity": 1, "unit_price": "5.00", "variant_id": first},
                {"description": "y", "quantity": 2, "unit_price": "5.00", "variant_id": second}]

    for r in range(rounds):
        calls: Calls = []
        for c, cus in enumerate(customers_):
            # opposite line orders for the two customers, and for memos against invoices
            fwd, back = ((v1, v2), (v2, v1)) if (c + r) % 2 == 0 else ((v2, v1), (v1, v2))
            draft_memo = memos.create_memo(db, actor=actor, customer_id=cus,
                                           reason="returned_goods", lines=lines(*fwd)).id
            draft_inv = invoices.create_invoice(db, actor=actor, customer_id=cus,
                                                lines=lines(*back)).id
            void_me = memos.create_memo(db, actor=actor, customer_id=cus,
                                        reason="returned_goods", lines=lines(*back)).id
            memo_lifecycle.issue_memo(db, actor=actor, memo_id=void_me)
            open_inv = factories.invoice(db, actor, cus, "500.00")
            applied = factories.memo(db, actor, cus, "50.00")
            credit.apply_credit(db, actor=actor, memo_id=applied, invoice_id=open_inv,
                                amount="20.00")
            fresh = factories.memo(db, actor, cus, "50.00")
            calls += [
                ("issue memo", lambda m=draft_memo: memo_lifecycle.issue_memo(
                    db, actor=actor, memo_id=m)),
                ("issue invoice", lambda i=draft_inv: invoices.issue_invoice(
                    db, actor=actor, invoice_id=i)),
                ("void memo", lambda m=void_me: memo_lifecycle.void_memo(
                    db, actor=actor, memo_id=m, reason="wrong items")),
                ("apply", lambda m=fresh, i=open_inv: credit.apply_credit(
                    db, actor=actor, memo_id=m, invoice_id=i, amount="15.00")),
                ("remove", lambda m=applied, i=open_inv: credit.remove_credit(
                    db, actor=actor, memo_id=m, invoice_id=i)),
                ("pay", lambda i=open_inv: invoices.record_payment(
                    db, actor=actor, invoice_id=i, amount="25.00")),
                ("create memo", lambda cus=cus, fwd=fwd: memos.create_memo(
                    db, actor=actor, customer_id=cus, reason="damaged_goods", lines=lines(*fwd))),
                ("create invoice", lambda cus=cus, back=back: invoices.create_invoice(
                    db, actor=actor, customer_id=cus, lines=lines(*back))),
            ]
        outcomes = race(calls)
        settle(outcomes, {})  # nothing here may be refused, least of all as a deadlock
        assert_books(db, actor)


def test_lock_order_concurrent_use_cases_never_deadlock(pg_db):
    _lock_order(pg_db, rounds=8)


@SQLITE
def test_lock_order_concurrent_use_cases_never_deadlock_sqlite(db):
    _lock_order(db, rounds=2)
