"""db/units.py: a keyed request's writes join one transaction that its owner commits (E2).

The use cases can't tell: each write is a savepoint that rolls back alone when refused,
reads after a write see it, nothing is visible elsewhere before the commit, and callbacks
deferred with ``after_commit`` run only once it is committed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from creditdesk.db import models, units
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.customer_accounts import customers


def _count_elsewhere(db: Database) -> int:
    """Customers as another connection sees them (committed rows only)."""
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(models.Customer))


def _claims(seen: list[str]):
    def on_begin(conn) -> None:
        seen.append("claimed")
    return on_begin


def test_e2_writes_join_one_transaction_committed_by_the_owner(db: Database,
                                                               actor: Actor) -> None:
    seen: list[str] = []
    with units.opened(db) as unit:
        unit.bind(_claims(seen))
        a = customers.create_customer(db, actor=actor, name="A")
        b = customers.create_customer(db, actor=actor, name="B")
        assert seen == ["claimed"]  # once, as the first statement of the one transaction
        assert _count_elsewhere(db) == 0  # nothing is visible before the commit
        # reads after the writes see them (the same connection)
        assert customers.get_customer(db, actor=actor, customer_id=a.id).name == "A"
        db.after_commit(lambda: seen.append(f"after:{_count_elsewhere(db)}"))
        assert seen == ["claimed"]
        unit.commit(lambda conn: seen.append("answer"))
    assert seen == ["claimed", "answer", "after:2"]
    assert customers.get_customer(db, actor=actor, customer_id=b.id).name == "B"


def test_e2_a_refused_use_case_rolls_back_alone(db: Database, actor: Actor) -> None:
    with units.opened(db) as unit:
        unit.bind(lambda conn: None)
        customers.create_customer(db, actor=actor, name="Kept")
        with pytest.raises(errors.ValidationError):
            customers.create_customer(db, actor=actor, name="Bad", currency="XYZ")
        with pytest.raises(errors.Conflict), db.write() as session:
            session.add(models.Customer(id="cus_half", partner_id=actor.partner_id,
                                        name="Half", currency="USD", created_at=clock.now(),
                                        updated_at=clock.now()))
            session.flush()  # written, then refused: only this savepoint rolls back
            raise errors.Conflict("refused after writing")
        unit.commit(lambda conn: None)
    names = [c.name for c in customers.list_customers(db, actor=actor).data]
    assert names == ["Kept"]


def test_e2_closing_without_commit_keeps_nothing(db: Database, actor: Actor) -> None:
    ran: list[str] = []
    with units.opened(db) as unit:
        unit.bind(lambda conn: None)
        customers.create_customer(db, actor=actor, name="Gone")
        db.after_commit(lambda: ran.append("never"))
        unit.close()
        # after the unit ends, writes run on their own again
        customers.create_customer(db, actor=actor, name="Own")
    assert [c.name for c in customers.list_customers(db, actor=actor).data] == ["Own"]
    assert ran == []


def test_an_unbound_unit_or_another_database_changes_nothing(db: Database,
                                                            actor: Actor) -> None:
    with units.opened(db):
        customers.create_customer(db, actor=actor, name="Direct")  # not bound: commits
        assert _count_elsewhere(db) == 1
    assert units.current() is None
