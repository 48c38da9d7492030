"""Concurrency of merges and unlinks (Y10) on PostgreSQL, with real threads: both customers
are locked in id order, so racing merges of one pair never deadlock and never lose a row,
and a merge racing credit on the merged customer's memo leaves the books whole.
The racing helpers are in ``tests/concurrency.py``."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.credit_memos import credit
from creditdesk.services.customer_accounts import customer_sources, customers
from tests import factories
from tests.concurrency import assert_books, new_actor, race, settle
from tests.sync_helpers import land

pytestmark = pytest.mark.slow


def _rows(db: Database, model: type[models.Base], partner_id: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(
            model.partner_id == partner_id)) or 0  # type: ignore[attr-defined]


def _pair_round(db: Database) -> None:
    from tests.services.test_customer_sources import remote

    actor = new_actor(db)
    land(db, actor, "quickbooks_online", [remote("q1", "61"), remote("q2", "62")])
    land(db, actor, "xero", [remote("x1", "g-61")])
    memos = _rows(db, models.CreditMemo, actor.partner_id)
    a, b, c = sorted(m.id for m in customers.list_customers(db, actor=actor).data)

    def merging(into: str, merged: str):
        return lambda: customer_sources.merge(db, actor=actor, customer_id=into,
                                              merged_customer_id=merged)

    outcomes = race([("a<-b", merging(a, b)), ("b<-a", merging(b, a)), ("a<-c", merging(a, c))])
    ok, _ = settle(outcomes, {"a<-b": (errors.NotFound,), "b<-a": (errors.NotFound,),
                              "a<-c": (errors.NotFound,)})
    assert len(ok.get("a<-b", [])) + len(ok.get("b<-a", [])) == 1
    left = customers.list_customers(db, actor=actor).data
    assert len(left) == 3 - sum(len(group) for group in ok.values())
    assert _rows(db, models.CreditMemo, actor.partner_id) == memos
    assert _rows(db, models.CustomerReference, actor.partner_id) == 3
    with db.read() as s:
        owners = set(s.scalars(select(models.CustomerReference.customer_id).where(
            models.CustomerReference.partner_id == actor.partner_id)))
        owners |= set(s.scalars(select(models.CreditMemo.customer_id).where(
            models.CreditMemo.partner_id == actor.partner_id)))
    assert owners <= {x.id for x in left}


def test_y10_merges_of_one_pair_in_both_directions_never_deadlock(pg_db: Database) -> None:
    """A into B and B into A at once (and a third customer merged into A meanwhile): one of
    the pair wins, the other is answered "no such customer"; nothing is lost."""
    for _ in range(8):
        _pair_round(pg_db)


def _apply_round(db: Database) -> None:
    actor = new_actor(db)
    survivor = factories.customer(db, actor, "Survivor")
    merged = factories.customer(db, actor, "Merged")
    memo_id = factories.memo(db, actor, merged, "100.00")
    invoice_ids = [factories.invoice(db, actor, merged, "30.00") for _ in range(3)]

    def applying(invoice_id: str):
        return lambda: credit.apply_credit(db, actor=actor, memo_id=memo_id,
                                           invoice_id=invoice_id, amount="30.00")

    calls = [(f"apply-{i}", applying(inv)) for i, inv in enumerate(invoice_ids)]
    calls.append(("merge", lambda: customer_sources.merge(
        db, actor=actor, customer_id=survivor, merged_customer_id=merged)))
    settle(race(calls), {f"apply-{i}": (errors.NotFound,) for i in range(3)})
    assert_books(db, actor)
    with db.read() as s:
        owners = set(s.scalars(select(models.CreditMemo.customer_id).where(
            models.CreditMemo.partner_id == actor.partner_id))) | set(s.scalars(
                select(models.Invoice.customer_id).where(
                    models.Invoice.partner_id == actor.partner_id)))
        applied = s.scalar(select(func.coalesce(func.sum(
            models.CreditApplication.amount_minor), 0)).where(
                models.CreditApplication.partner_id == actor.partner_id))
    assert owners == {survivor}
    summary = customers.credit_summary(db, actor=actor, customer_id=survivor)
    assert [b.minor for b in summary.balances] == [10000 - applied]


def test_y10_merge_racing_applications_on_the_merged_customer_keeps_the_books(
        pg_db: Database) -> None:
    """Credit applied on the merged customer's memo while it is merged: the merge waits for
    the applications holding the customer's row or runs first, and every application then
    lands on the survivor's rows; A2, C7 and the journal hold after the race."""
    for _ in range(6):
        _apply_round(pg_db)


def _sync_round(db: Database, n: int) -> None:
    from tests.services.test_customer_sources import remote
    from tests.sync_helpers import synced_memos

    actor = new_actor(db)
    land(db, actor, "quickbooks_online", [remote(f"q{n}", "61")])
    land(db, actor, "xero", [remote(f"x{n}", "g-61")])
    survivor = synced_memos(db, "quickbooks_online")[f"q{n}"].customer_id
    merged = synced_memos(db, "xero")[f"x{n}"].customer_id
    outcomes = race([
        ("merge", lambda: customer_sources.merge(db, actor=actor, customer_id=survivor,
                                                 merged_customer_id=merged)),
        ("sync", lambda: land(db, actor, "xero", [remote(f"x{n}-more", "g-61", total=700)])),
    ])
    settle(outcomes, {})
    assert synced_memos(db, "xero")[f"x{n}-more"].customer_id == survivor


def test_y10_a_sync_racing_a_merge_lands_on_the_survivor(pg_db: Database) -> None:
    """A page naming the merged customer's record lands while the merge runs: it either
    commits first (and its memo moves with the merge) or finds the reference moved once it
    holds the customer locks (sync_upsert reads the references again under them)."""
    for n in range(10):
        _sync_round(pg_db, n)
