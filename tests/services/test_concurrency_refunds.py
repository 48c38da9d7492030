"""Refunds racing applications and voids on one memo (R1, R2, A2, A6, C7), with real threads.

PostgreSQL (``pg_db``) is where row locks matter; SQLite serialises the same races through
its IMMEDIATE write transactions (smaller variants). Helpers: ``tests/concurrency.py``.
"""

from __future__ import annotations

import pytest

from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.credit_memos import credit, memo_lifecycle, refunds
from tests import factories
from tests.concurrency import (
    MS,
    SQLITE,
    applications_sum,
    assert_books,
    count,
    memo_row,
    new_actor,
    race,
    settle,
)

pytestmark = pytest.mark.slow

# A memo used up refuses more as invalid_state (A1, R1); one with too little left refuses
# as exceeds_memo_remaining (A2).
REFUSALS = (errors.InvalidState, errors.ExceedsMemoRemaining)


def _whole_remaining(db: Database, rounds: int) -> None:
    """A refund and an application, each for the memo's whole remaining credit: exactly one
    wins, whatever the interleaving; the memo is never over-consumed."""
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    for _ in range(rounds):
        memo_id = factories.memo(db, actor, cus, "100.00")
        inv = factories.invoice(db, actor, cus, "1000.00")
        outcomes = race([
            ("refund", lambda m=memo_id: refunds.refund_memo(
                db, actor=actor, memo_id=m, amount="100.00", method="card")),
            ("apply", lambda m=memo_id, i=inv: credit.apply_credit(
                db, actor=actor, memo_id=m, invoice_id=i, amount="100.00")),
        ])
        ok, _ = settle(outcomes, {"refund": REFUSALS, "apply": REFUSALS})
        assert count(ok, "refund") + count(ok, "apply") == 1
        row = memo_row(db, memo_id)
        assert (row.status, row.applied_minor) == (MS.APPLIED, 10000)
        assert row.refunded_minor == 10000 * count(ok, "refund")
        assert applications_sum(db, memo_id=memo_id) == 10000 * count(ok, "apply")
    assert_books(db, actor)


def test_r1_a6_refund_and_apply_of_the_whole_remaining_one_wins(pg_db):
    _whole_remaining(pg_db, rounds=8)


@SQLITE
def test_r1_a6_refund_and_apply_of_the_whole_remaining_one_wins_sqlite(db):
    _whole_remaining(db, rounds=3)


def _many(db: Database, *, threads: int) -> None:
    """Refunds and applications of 10.00 racing on a 95.00 memo: nine fit, whichever they
    are; both kinds together never take more than the memo's total."""
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    memo_id = factories.memo(db, actor, cus, "95.00")
    inv = factories.invoice(db, actor, cus, "1000.00")
    calls = []
    for n in range(threads):
        if n % 2:
            calls.append(("refund", lambda: refunds.refund_memo(
                db, actor=actor, memo_id=memo_id, amount="10.00", method="cash")))
        else:
            calls.append(("apply", lambda: credit.apply_credit(
                db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="10.00")))
    ok, _ = settle(race(calls), {"refund": REFUSALS, "apply": REFUSALS})
    assert count(ok, "refund") + count(ok, "apply") == 9
    row = memo_row(db, memo_id)
    assert (row.status, row.applied_minor, row.refunded_minor) == (
        MS.PARTIALLY_APPLIED, 9000, 1000 * count(ok, "refund"))
    assert_books(db, actor)


def test_a6_32_refunds_and_applications_never_over_consume(pg_db):
    _many(pg_db, threads=32)


@SQLITE
def test_a6_refunds_and_applications_never_over_consume_sqlite(db):
    _many(db, threads=12)


def _refund_vs_void(db: Database, rounds: int) -> None:
    """R2: a refund racing the memo's void: either the refund is recorded and the void
    refused (memo_has_refunds), or the memo is void and the refund refused (invalid_state)."""
    actor = new_actor(db)
    cus = factories.customer(db, actor)
    for _ in range(rounds):
        memo_id = factories.memo(db, actor, cus, "50.00")
        outcomes = race([
            ("refund", lambda m=memo_id: refunds.refund_memo(
                db, actor=actor, memo_id=m, amount="20.00", method="check")),
            ("void", lambda m=memo_id: memo_lifecycle.void_memo(
                db, actor=actor, memo_id=m, reason="entered twice")),
        ])
        ok, _ = settle(outcomes, {"refund": (errors.InvalidState,),
                                  "void": (errors.MemoHasRefunds,)})
        assert count(ok, "refund") + count(ok, "void") == 1
        row = memo_row(db, memo_id)
        if count(ok, "void"):
            assert (row.status, row.applied_minor, row.refunded_minor) == (MS.VOID, 0, 0)
        else:
            assert (row.status, row.refunded_minor) == (MS.PARTIALLY_APPLIED, 2000)
    assert_books(db, actor)


def test_r2_refund_and_memo_void_race_one_wins(pg_db):
    _refund_vs_void(pg_db, rounds=8)


@SQLITE
def test_r2_refund_and_memo_void_race_one_wins_sqlite(db):
    _refund_vs_void(db, rounds=3)
