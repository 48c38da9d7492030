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
from creditdesk.services import credit, customer_sources, customers
from tests import factories
from tests.concurrency import assert_books, new_actor, race, settle
from tests.sync_helpers import land

pytestmark = pytest.mark.slow


def _rows(db: Database, model: type[models.Base], partner_id: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(
            model.partner_id == partner_id)) or 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("rounds", [8])
def test_y10_merges_of_one_pair_in_both_directions_never_deadlock(
        pg_db: Database, rounds: int) -> None:
    """A into B and B into A at once (and a third customer merged into A meanwhile): one of
    the pair wins, the other is answered "no such customer"; nothing is lost."""
    from tests.services.test_customer_sources import remote

    for _ in range(rounds):
        actor = new_actor(pg_db)
        land(pg_db, actor, "quickbooks_online", [remote("q1", "61"), remote("q2", "62")])
        land(pg_db, actor, "xero", [remote("x1", "g-61")])
        memos = _rows(pg_db, models.CreditMemo, actor.partner_id)
        a, b, c = sorted(m.id for m in customers.list_customers(pg_db, actor=actor).data)
        outcomes = race([
            ("a<-b", lambda: customer_sources.merge(pg_db, actor=actor, customer_id=a,
                                                    merged_customer_id=b)),
            ("b<-a", lambda: customer_sources.merge(pg_db, actor=actor, customer_id=b,
                                                    merged_customer_id=a)),
            ("a<-c", lambda: customer_sources.merge(pg_db, actor=actor, customer_id=a,
                                                    merged_customer_id=c)),
        ])
        ok, refused = settle(outcomes, {"a<-b": (errors.NotFound,),
                                        "b<-a": (errors.NotFound,),
                                        "a<-c": (errors.NotFound,)})
        assert len(ok.get("a<-b", [])) + len(ok.get("b<-a", [])) == 1
        left = customers.list_customers(pg_db, actor=actor).data
        assert len(left) == 3 - len([o for group in ok.values() for o in group])
        assert _rows(pg_db, models.CreditMemo, actor.partner_id) == memos
        assert _rows(pg_db, models.CustomerReference, actor.partner_id) == 3
        with pg_db.read() as s:
            owners = set(s.scalars(select(models.CustomerReference.customer_id).where(
                models.CustomerReference.partner_id == actor.partner_id)))
        assert owners <= {x.id for x in left}


def test_y10_merge_racing_applications_on_the_merged_customer_keeps_the_books(
        pg_db: Database) -> None:
    """Credit applied on the merged customer's memo while it is merged: every application
    either lands before the merge (and moves with it) or is refused as a missing customer's;
    A2, C7 and the journal hold after the race."""
    for _ in range(6):
        actor = new_actor(pg_db)
        survivor = factories.customer(pg_db, actor, "Survivor")
        merged = factories.customer(pg_db, actor, "Merged")
        memo_id = factories.memo(pg_db, actor, merged, "100.00")
        invoice_ids = [factories.invoice(pg_db, actor, merged, "30.00") for _ in range(3)]
        calls = [(f"apply-{i}", lambda inv=inv: credit.apply_credit(
            pg_db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="30.00"))
            for i, inv in enumerate(invoice_ids)]
        calls.append(("merge", lambda: customer_sources.merge(
            pg_db, actor=actor, customer_id=survivor, merged_customer_id=merged)))
        outcomes = race(calls)
        settle(outcomes, {f"apply-{i}": (errors.NotFound,) for i in range(3)})
        assert_books(pg_db, actor)
        with pg_db.read() as s:
            owners = set(s.scalars(select(models.CreditMemo.customer_id).where(
                models.CreditMemo.partner_id == actor.partner_id))) | set(s.scalars(
                    select(models.Invoice.customer_id).where(
                        models.Invoice.partner_id == actor.partner_id)))
        assert owners == {survivor}
        summary = customers.credit_summary(pg_db, actor=actor, customer_id=survivor)
        with pg_db.read() as s:
            applied = s.scalar(select(func.coalesce(func.sum(
                models.CreditApplication.amount_minor), 0)).where(
                    models.CreditApplication.partner_id == actor.partner_id))
        assert [b.minor for b in summary.balances] == [10000 - applied]
