"""Synced memo lines: landed as the system reports them (exact minor units), replaced on
update, kept on void, read-only like the memo (Y3), and loaded in bulk per page (B6). That
every system's lines land as it reports them runs in test_sync_contract.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

import pytest
from sqlalchemy import event, select

from creditdesk.db import bulk, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import memo_lifecycle, memos
from tests.qbo_fixtures import REALM, FakeQbo
from tests.sync_helpers import run, synced_memos


def lines_of(db: Database, memo_id: str) -> list[tuple]:
    line = models.CreditMemoLine
    with db.read() as s:
        return [tuple(r) for r in s.execute(
            select(line.position, line.description, line.reported_quantity,
                   line.unit_price_minor, line.amount_minor, line.synced)
            .where(line.credit_memo_id == memo_id).order_by(line.position))]


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (an executemany counts once; on
    PostgreSQL ``bulk.insert_rows`` COPYs through the driver, unseen by SQLAlchemy's events,
    so each of its calls is recorded as ``COPY <table>``)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    real_insert_rows = bulk.insert_rows

    def insert_rows(conn, table, rows) -> None:
        if rows and conn.dialect.name == "postgresql":
            seen.append(f"COPY {table.name}")
        real_insert_rows(conn, table, rows)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with patch.object(bulk, "insert_rows", insert_rows):
            yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_y3_qbo_lines_land_exactly_and_show_in_the_memo_view(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    m = fake_qbo.state.add_memo(REALM, total="130.00", lines=[
        ("Consulting", "1.5", "80.00", "120.00"), ("Rounding", "3", "3.33333", "10.00")])
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    memo = synced_memos(db, "quickbooks_online")[m]
    assert lines_of(db, memo.id) == [(0, "Consulting", "1.5", 8000, 12000, True),
                                     (1, "Rounding", "3", None, 1000, True)]
    view = memos.get_memo(db, actor=actor, memo_id=memo.id)
    assert [(li.description, li.quantity, li.unit_price, li.amount, li.synced)
            for li in view.lines] == [
        ("Consulting", "1.5", Money(8000, "USD"), Money(12000, "USD"), True),
        ("Rounding", 3, None, Money(1000, "USD"), True)]
    listed = memos.list_memos(db, actor=actor, source="quickbooks_online").data
    assert [len(v.lines) for v in listed] == [2]
    with pytest.raises(errors.ReadOnly, match="QuickBooks Online"):  # Y3, lines included
        memos.update_memo(db, actor=actor, memo_id=memo.id, changes={"lines": []})
    with pytest.raises(errors.ReadOnly):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=memo.id, reason="x")


def one_synced_memo(db: Database, actor: Actor, fake: FakeQbo) -> tuple[str, str, str]:
    """A memo of 30.00 with one line "A", synced: (its QBO id, the integration, its id here)."""
    m = fake.state.add_memo(REALM, total="30.00", lines=[("A", "1", "30.00", "30.00")])
    iid = fake.connect(db, actor)
    fake.sync(db, iid)
    return m, iid, synced_memos(db, "quickbooks_online")[m].id


def test_lines_are_replaced_on_update_unchanged_ones_are_left_and_a_void_keeps_them(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    m, iid, memo_id = one_synced_memo(db, actor, fake_qbo)
    first_ids = _line_ids(db, memo_id)
    again = run(db, fake_qbo.sync(db, iid))
    assert again.updated == 0 and _line_ids(db, memo_id) == first_ids  # nothing rewritten
    st.update_memo(REALM, m, Line=[("B", "2", "10.00", "20.00"), ("C", None, None, "10.00")])
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.updated) == ("succeeded", 1)  # only the lines changed
    assert lines_of(db, memo_id) == [(0, "B", "2", 1000, 2000, True),
                                     (1, "C", None, None, 1000, True)]
    with db.read() as s:
        changed = s.scalars(select(models.AuditEvent.data).where(
            models.AuditEvent.action == "credit_memo.sync_update")).all()
    assert changed == [{"source": "quickbooks_online", "changed": ["lines"]}]
    st.void_memo(REALM, m)  # QBO zeroes the amounts; the lines here stay as they were
    st.update_memo(REALM, m, Line=[("B", "2", "0", "0")])
    r = run(db, fake_qbo.sync(db, iid))
    assert r.voided == 1 and synced_memos(db, "quickbooks_online")[m].status == "void"
    assert [li[1] for li in lines_of(db, memo_id)] == ["B", "C"]


def _line_ids(db: Database, memo_id: str) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(models.CreditMemoLine.id).where(
            models.CreditMemoLine.credit_memo_id == memo_id)
            .order_by(models.CreditMemoLine.position)))


def test_y6_unreadable_lines_keep_the_stored_ones_the_memo_still_lands(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    st = fake_qbo.state
    m, iid, memo_id = one_synced_memo(db, actor, fake_qbo)
    st.update_memo(REALM, m, RemainingCredit="10.00", Line=[("B", "1", "30.00", "30.00")])
    st.companies[REALM].memos[m]["Line"][0]["Amount"] = "thirty"
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.updated) == ("partial", 1)
    assert [e["external_id"] for e in r.errors] == [m] and "lines" in r.errors[0]["message"]
    assert synced_memos(db, "quickbooks_online")[m].applied_minor == 2000  # balance: right
    assert [li[1] for li in lines_of(db, memo_id)] == ["A"]


def test_b6_lines_are_loaded_and_written_per_page_not_per_memo(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    """Statements touching credit_memo_lines in an incremental sync: the same for 2 memos
    as for 12 (one SELECT of the stored lines, one DELETE, one INSERT per page)."""
    st = fake_qbo.state
    counts = []
    for n in (2, 12):
        ids = [st.add_memo(REALM, total="10.00", customer_id=f"c{n}-{i}")
               for i in range(n)]
        iid = fake_qbo.connect(db, actor)
        fake_qbo.sync(db, iid)
        for memo_id in ids:
            st.update_memo(REALM, memo_id, Line=[("X", "2", "5.00", "10.00")])
        with statements(db) as seen:
            r = run(db, fake_qbo.sync(db, iid))
        assert r.updated == n
        counts.append([s.split()[0] for s in seen if "credit_memo_lines" in s])
        st.companies[REALM].memos.clear()
    insert = "COPY" if db.engine.dialect.name == "postgresql" else "INSERT"
    assert counts[0] == counts[1] == ["SELECT", "DELETE", insert]

