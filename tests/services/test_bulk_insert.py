"""``bulk.insert_rows``: many rows in one go (COPY on PostgreSQL, an executemany elsewhere)
land exactly as the same rows inserted one by one through SQLAlchemy would (B6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select

from creditdesk.db import bulk, models
from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor, new_id


def memo_rows(actor: Actor, customer_id: str, n: int) -> list[dict[str, Any]]:
    """Awkward values on purpose: text needing COPY escapes, NULLs, a date, an aware
    datetime in another zone, money at the bounds."""
    at = datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-8)))
    return [{"id": new_id("cm"), "partner_id": actor.partner_id, "customer_id": customer_id,
             "number": f"CM\t{i}\\N\n\"ü\",'x'", "currency": "USD", "reason": "other",
             "status": "issued" if i % 2 else "applied",
             "issue_date": date(2026, 2, 28) if i else None,
             "total_minor": 99_999_999_999_999 if i == 1 else i + 1,
             "applied_minor": 0 if i % 2 else i + 1, "source": "xero", "external_id": f"x-{i}",
             "issued_at": at, "applied_at": None if i % 2 else at, "voided_at": None,
             "void_reason": None, "created_at": at, "updated_at": at} for i in range(n)]


def stored(db: Database, table: Any) -> list[tuple[Any, ...]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(select(table).order_by(table.c.id))]


@pytest.mark.parametrize("n", [1, 7])
def test_b6_insert_rows_stores_what_a_plain_insert_stores(db: Database, actor: Actor,
                                                          n: int) -> None:
    cm, evt = models.CreditMemo.__table__, models.AuditEvent.__table__
    with db.write() as s:
        customer_id = new_id("cus")
        s.add(models.Customer(id=customer_id, partner_id=actor.partner_id, name="C",
                              currency="USD", created_at=datetime.now(UTC),
                              updated_at=datetime.now(UTC)))
    rows = memo_rows(actor, customer_id, n)
    events = [{"id": new_id("evt"), "partner_id": actor.partner_id, "at": rows[0]["issued_at"],
               "actor": "sync:xero", "action": "credit_memo.sync_create",
               "entity_type": "credit_memo", "entity_id": r["id"],
               "data": {"external_id": r["external_id"], "nested": [1, "ü\t\\", None]}}
              for r in rows]
    with db.write() as s:
        bulk.insert_rows(s.connection(), cm, rows)
        bulk.insert_rows(s.connection(), evt, events)
        bulk.insert_rows(s.connection(), evt, [])  # nothing to do
    copied = (stored(db, cm), stored(db, evt))
    with db.write() as s:
        s.execute(cm.delete().where(cm.c.partner_id == actor.partner_id))
        s.execute(evt.delete().where(evt.c.entity_type == "credit_memo"))
        for row in rows:
            s.execute(insert(cm), row)
        for row in events:
            s.execute(insert(evt), row)
    assert copied == (stored(db, cm), stored(db, evt))
    memo = copied[0][0]
    assert memo[cm.c.keys().index("number")] == "CM\t0\\N\n\"ü\",'x'"
    assert memo[cm.c.keys().index("issued_at")] == datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def test_b6_inserted_rows_belong_to_the_callers_transaction(db: Database,
                                                            actor: Actor) -> None:
    """A page that fails after its rows were written leaves none of them behind."""
    evt = models.AuditEvent.__table__
    rows = [{"id": new_id("evt"), "partner_id": actor.partner_id, "at": datetime.now(UTC),
             "actor": "sync:xero", "action": "x", "entity_type": "bulk", "entity_id": "e",
             "data": {}}]
    with pytest.raises(RuntimeError), db.write() as s:
        bulk.insert_rows(s.connection(), evt, rows)
        raise RuntimeError("the page failed after its inserts")
    with db.read() as s:
        assert s.scalars(select(evt.c.id).where(evt.c.entity_type == "bulk")).all() == []
    with db.write() as s:
        bulk.insert_rows(s.connection(), evt, rows)
    with db.read() as s:
        assert s.scalars(select(evt.c.id).where(evt.c.entity_type == "bulk")).all() == [
            rows[0]["id"]]
