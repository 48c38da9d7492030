"""AU1 under concurrency: issuing an invoice with automatic application racing manual
applications of the same memo (and other issues that want it), with real threads on
PostgreSQL, never over-applies (A2, A6, C7) and never deadlocks; SQLite serialises the same
race without "database is locked". The racing helpers are in ``tests/concurrency.py``.
"""

from __future__ import annotations

import pytest

from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.credit_memos import auto_apply, credit
from creditdesk.services.customer_accounts import auto_apply_setting
from tests import factories
from tests.concurrency import (
    SQLITE,
    applications_sum,
    assert_books,
    count,
    invoice_row,
    memo_row,
    new_actor,
    race,
    settle,
)

pytestmark = pytest.mark.slow

# A manual application that loses the race finds the memo used up (invalid_state, A1) or
# with less left than it asks (exceeds_memo_remaining, A2); nothing else is acceptable.
LOSER = (errors.InvalidState, errors.ExceedsMemoRemaining)


def _issue_vs_manual_apply(db: Database, rounds: int) -> None:
    actor = new_actor(db)
    auto_apply_setting.set_enabled(db, actor=actor, flag=True)
    for _ in range(rounds):
        cus = factories.customer(db, actor)
        memo_id = factories.memo(db, actor, cus, "100.00")
        draft = factories.invoice(db, actor, cus, "100.00", issue=False)
        other = factories.invoice(db, actor, cus, "100.00")  # open: the manual one's target

        outcomes = race([
            ("issue", lambda d=draft: auto_apply.issue_invoice(db, actor=actor, invoice_id=d)),
            ("apply", lambda m=memo_id, o=other: credit.apply_credit(
                db, actor=actor, memo_id=m, invoice_id=o, amount="100.00")),
        ])

        ok, refused = settle(outcomes, {"apply": LOSER})
        assert count(ok, "issue") == 1  # the issue itself never fails
        memo = memo_row(db, memo_id)
        assert memo.applied_minor == 10000 and memo.status == "applied"
        auto, manual = (applications_sum(db, invoice_id=i) for i in (draft, other))
        if count(ok, "apply"):  # the manual one first: the issue found nothing left
            assert (auto, manual) == (0, 10000)
            assert invoice_row(db, draft).status == "open"
        else:  # the issue first: all of it applied automatically
            assert (auto, manual) == (10000, 0)
            assert invoice_row(db, draft).status == "paid"
            assert count(refused, "apply") == 1
    assert_books(db, actor)


def _many_issues_and_applies_on_one_memo(db: Database, threads: int) -> None:
    """Several issues (each wanting $30) and manual applications ($20 each) of one $100 memo
    at once: whatever the interleaving, never more than $100 leaves it."""
    actor = new_actor(db)
    auto_apply_setting.set_enabled(db, actor=actor, flag=True)
    cus = factories.customer(db, actor)
    memo_id = factories.memo(db, actor, cus, "100.00")
    drafts = [factories.invoice(db, actor, cus, "30.00", issue=False) for _ in range(threads)]
    opens = [factories.invoice(db, actor, cus, "20.00") for _ in range(threads)]
    outcomes = race(
        [("issue", lambda d=d: auto_apply.issue_invoice(db, actor=actor, invoice_id=d))
         for d in drafts]
        + [("apply", lambda o=o: credit.apply_credit(db, actor=actor, memo_id=memo_id,
                                                     invoice_id=o, amount="20.00"))
           for o in opens])
    ok, _ = settle(outcomes, {"apply": LOSER})
    assert count(ok, "issue") == threads
    memo = memo_row(db, memo_id)
    assert memo.applied_minor == applications_sum(db, memo_id=memo_id)
    assert memo.applied_minor == 10000  # more was wanted than there was: all of it used
    assert_books(db, actor)


def test_au1_issue_vs_manual_apply_of_the_same_memo_postgres(pg_db: Database) -> None:
    _issue_vs_manual_apply(pg_db, rounds=15)


def test_au1_many_issues_and_applies_on_one_memo_postgres(pg_db: Database) -> None:
    _many_issues_and_applies_on_one_memo(pg_db, threads=8)


@SQLITE
def test_au1_issue_vs_manual_apply_of_the_same_memo_sqlite(db: Database) -> None:
    _issue_vs_manual_apply(db, rounds=3)


@SQLITE
def test_au1_many_issues_and_applies_on_one_memo_sqlite(db: Database) -> None:
    _many_issues_and_applies_on_one_memo(db, threads=3)
