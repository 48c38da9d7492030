"""The sync engine against the fake QuickBooks Online over real HTTP (Y4, Y6): how pages
are grouped into transactions, change data capture's 30 days and 1,000-object cap, more than
one company, the run's heartbeat, PostgreSQL statistics. What every system's sync does runs
against QuickBooks Online in test_sync_contract.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import integrations, sync
from creditdesk.services.common.context import Actor, clock
from tests.qbo_fixtures import REALM, FakeQbo
from tests.sync_helpers import (
    Killed,
    dying_after_first_page,
    integration,
    run,
    synced_memos,
)


def memos(db: Database) -> dict[str, models.CreditMemo]:
    return synced_memos(db, "quickbooks_online")


def position(cursor: dict[str, Any] | None) -> tuple[Any, Any]:
    """Where a QuickBooks Online cursor stands in the listing (its CDC time aside)."""
    return (cursor or {}).get("since"), (cursor or {}).get("skip")


def landed_pages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, tuple[Any, Any]]]:
    """Record each transaction ``land_page`` writes: (records, the cursor stored)."""
    real, seen = sync.land_page, []

    def spy(session, run_id, snap, batch):  # type: ignore[no-untyped-def]
        seen.append((len(batch.records), position(batch.cursor)))
        real(session, run_id, snap, batch)

    monkeypatch.setattr(sync, "land_page", spy)
    return seen


def pages(db: Database, iid: str, fake: FakeQbo, page_size: int
          ) -> list[tuple[int, tuple[Any, Any]]]:
    """What the connector alone reads: (records, cursor) per page."""
    connector = fake.factory(page_size=page_size)(sync.snapshot(db, iid), lambda tokens: None)
    return [(len(b.records), position(b.cursor)) for b in connector.fetch({})]


def five_memos_connected(db: Database, actor: Actor, fake: FakeQbo,
                         monkeypatch: pytest.MonkeyPatch, *, land_at_least: int) -> str:
    """Five memos at the source (three pages of 2), connected; returns the integration id."""
    for _ in range(5):
        fake.state.add_memo(REALM, total="5.00")
    monkeypatch.setattr(sync, "LAND_AT_LEAST", land_at_least)
    return fake.connect(db, actor)


def test_y6_small_pages_land_together_with_the_cursor_after_the_last(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = five_memos_connected(db, actor, fake_qbo, monkeypatch, land_at_least=4)
    seen = landed_pages(monkeypatch)
    rid = fake_qbo.sync(db, iid, page_size=2)
    # pages of 2, 2, 1 (and QBO's CDC read, none): two transactions of 4 and 1 records,
    # each storing the cursor of its last page
    assert [n for n, _ in seen] == [4, 1]
    assert [c for _, c in seen] == [c for _, c in pages(db, iid, fake_qbo, 2)][1:]
    assert seen[-1][1] == position(integration(db, iid).cursor)
    assert (run(db, rid).fetched, run(db, rid).created, len(memos(db))) == (5, 5, 5)


def test_y6_a_page_waiting_longer_than_land_within_lands_without_the_rest(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = five_memos_connected(db, actor, fake_qbo, monkeypatch, land_at_least=1000)
    monkeypatch.setattr(sync, "LAND_WITHIN", 0.0)  # every page has waited long enough
    seen = landed_pages(monkeypatch)
    fake_qbo.sync(db, iid, page_size=2)
    assert [n for n, _ in seen] == [2, 2, 1]


@pytest.mark.reliability
def test_y6_a_worker_killed_before_a_group_lands_commits_none_of_it_and_loses_nothing(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = five_memos_connected(db, actor, fake_qbo, monkeypatch, land_at_least=4)
    ids = list(fake_qbo.state.companies[REALM].memos)
    build = fake_qbo.factory(page_size=2)
    first = sync.request_run(db, integration_id=iid, trigger="manual")
    sync.claim_next(db)
    with pytest.raises(Killed):  # dies reading the second page: the first is still pending
        sync.execute(db, first, dying_after_first_page(build))
    assert memos(db) == {} and integration(db, iid).cursor == {}
    second = sync.request_run(db, integration_id=iid, trigger="manual")
    assert sync.claim_next(db, now=clock.now() + timedelta(minutes=11)) == second
    sync.execute(db, second, build)
    assert sorted(memos(db)) == sorted(ids) and run(db, second).created == 5


def test_y6_pages_read_before_a_connector_error_still_land(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = five_memos_connected(db, actor, fake_qbo, monkeypatch, land_at_least=1000)
    build = fake_qbo.factory(page_size=2)

    def failing(snap, save):  # type: ignore[no-untyped-def]
        connector = build(snap, save)

        def fetch(cursor):  # type: ignore[no-untyped-def]
            for n, batch in enumerate(connector.fetch(cursor)):
                if n == 2:
                    raise base.ConnectorError("QuickBooks Online answered 500 five times")
                yield batch
        return type("Failing", (), {"provider": connector.provider,
                                    "fetch": staticmethod(fetch)})()

    seen = landed_pages(monkeypatch)
    rid = sync.request_run(db, integration_id=iid, trigger="manual")
    sync.claim_next(db)
    assert isinstance(sync.execute(db, rid, failing), base.ConnectorError)
    after_two = pages(db, iid, fake_qbo, 2)[1][1]
    assert seen == [(4, after_two)] and position(integration(db, iid).cursor) == after_two
    assert (run(db, rid).status, run(db, rid).created, len(memos(db))) == ("failed", 4, 4)


# deletions older than CDC's 30 days ----------------------------------------------------------
def idle(monkeypatch: pytest.MonkeyPatch, fake: FakeQbo, days: int) -> None:
    """The connection sleeps ``days`` (disconnected, paused, a revoked grant): QuickBooks and
    CreditDesk both move on."""
    fake.state.travel(days=days)
    later = clock.now() + timedelta(days=days)
    monkeypatch.setattr(clock, "now", lambda: later)


def listings(fake: FakeQbo) -> list[str]:
    return [r for r in fake.state.requests if "SELECT+Id+FROM" in r]


def test_y4_memo_deleted_40_days_ago_while_idle_lands_void_on_the_next_sync(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    st = fake_qbo.state
    keep, gone, voided = (st.add_memo(REALM, total="50.00") for _ in range(3))
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    st.void_memo(REALM, voided)
    fake_qbo.sync(db, iid)
    assert memos(db)[voided].void_reason == "Voided in QuickBooks Online"
    fake_qbo.state.travel(days=5)
    st.delete_memo(REALM, gone)
    st.delete_memo(REALM, voided)  # already void here: it stays as it is
    idle(monkeypatch, fake_qbo, 40)  # CDC no longer reaches back to either deletion
    st.requests.clear()
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.created, r.updated, r.voided, r.errors) == (
        "succeeded", 0, 0, 1, [])
    assert r.fetched >= 1  # the deletion (and whatever the read's 5 s overlap re-read)
    got = memos(db)
    assert (got[gone].status, got[gone].void_reason, got[gone].applied_minor) == (
        "void", "Deleted in QuickBooks Online", 0)
    assert got[keep].status == "issued"
    assert got[voided].void_reason == "Voided in QuickBooks Online"
    assert len(listings(fake_qbo)) == 2  # one page of ids, one IN query
    # the checkpoint restarted from the run: CDC answers again, no more listings
    cursor = integration(db, iid).cursor
    assert datetime.fromisoformat(cursor["cdc_since"]) > datetime.now(UTC) + timedelta(days=44)
    st.requests.clear()
    again = run(db, fake_qbo.sync(db, iid))
    assert (again.status, again.voided) == ("succeeded", 0)
    assert listings(fake_qbo) == [] and any("/cdc?" in q for q in st.requests)
    with db.read() as s:
        events = s.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "credit_memo.sync_void",
            models.AuditEvent.entity_id == got[gone].id)).all()
    assert [e.data["reason"] for e in events] == ["Deleted in QuickBooks Online"]


def test_y4_cdc_refusing_the_checkpoint_anyway_lists_ids_in_the_same_run(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    """CreditDesk's clock says CDC still reaches back; QuickBooks' says it does not (clock
    skew): the refusal turns into a listing, and the run still succeeds."""
    st = fake_qbo.state
    keep, gone = st.add_memo(REALM, total="5.00"), st.add_memo(REALM, total="6.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    st.delete_memo(REALM, gone)
    st.travel(days=31)
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.voided) == ("succeeded", 1)
    assert memos(db)[gone].void_reason == "Deleted in QuickBooks Online"
    assert memos(db)[keep].status == "issued"


def test_y4_a_deletion_past_cdcs_1000_object_cap_is_found_by_listing_ids(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    """CDC answers at most 1,000 objects: with more changes since the last run, the
    deletions it leaves out are found by listing every id (in the same run)."""
    st = fake_qbo.state
    gone = st.add_memo(REALM, total="6.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    new = [st.add_memo(REALM, total="1.00") for _ in range(1000)]
    st.delete_memo(REALM, gone)  # the newest of 1,001 changes: not in the capped answer
    # The next sync comes later (QuickBooks' times are to the second: CDC from the listing's
    # start must not see the same second's 1,001 changes again)
    st.travel(seconds=2)
    r = run(db, fake_qbo.sync(db, iid))
    assert (r.status, r.created, r.voided) == ("succeeded", 1000, 1), r.errors
    assert memos(db)[gone].void_reason == "Deleted in QuickBooks Online"
    assert len(listings(fake_qbo)) >= 1 and all(memos(db)[m].status == "issued" for m in new)


def test_y4_a_new_connection_over_memos_synced_before_finds_what_was_deleted_since(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    """Reconnecting creates a new connection with no CDC checkpoint; the memos the earlier
    one synced are still here, so its first run lists ids."""
    st = fake_qbo.state
    keep, gone = st.add_memo(REALM, total="5.00"), st.add_memo(REALM, total="6.00")
    fake_qbo.sync(db, fake_qbo.connect(db, actor))
    st.delete_memo(REALM, gone)  # while the old grant was revoked
    r = run(db, fake_qbo.sync(db, fake_qbo.connect(db, actor)))
    assert (r.status, r.created, r.voided) == ("succeeded", 0, 1)
    assert memos(db)[gone].void_reason == "Deleted in QuickBooks Online"
    assert memos(db)[keep].status == "issued"


def test_memos_of_another_company_are_never_voided_by_a_listing(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memos carry their system, not their company: with two companies of one system (which
    connecting now refuses, but a database from before may hold), a listing of one can't
    tell the other's memos from deleted ones, so nothing is compared and the run says why."""
    fake_qbo.state.add_company("4620816365", "Other Books", "US")
    theirs = fake_qbo.state.add_memo(REALM, total="5.00")
    fake_qbo.sync(db, fake_qbo.connect(db, actor))
    with monkeypatch.context() as before_the_check:
        before_the_check.setattr(integrations, "_other_company", lambda *args: None)
        other = fake_qbo.connect(db, actor, realm="4620816365")
    fake_qbo.state.requests.clear()
    r = run(db, fake_qbo.sync(db, other))
    assert (r.status, r.voided) == ("partial", 0)
    assert "more than one QuickBooks Online company" in r.errors[0]["message"]
    assert memos(db)[theirs].status == "issued" and listings(fake_qbo) == []


def test_a_long_listing_keeps_its_run_alive(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing lands while ids are listed: the connector's progress calls keep the heartbeat
    fresh (once a minute at most), so no runner takes the live run for a dead one."""
    iid = fake_qbo.connect(db, actor)
    run_id = sync.request_run(db, integration_id=iid, trigger="manual")
    start = clock.now()
    assert sync.claim_next(db, now=start) == run_id
    monkeypatch.setattr(clock, "now", lambda: start)
    beat = sync._heartbeat(db, run_id)
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=30))
    beat()
    assert run(db, run_id).heartbeat_at == start  # not yet a minute
    for minutes in range(1, 13):
        monkeypatch.setattr(clock, "now", lambda m=minutes: start + timedelta(minutes=m))
        beat()
    assert run(db, run_id).heartbeat_at == start + timedelta(minutes=12)
    assert sync.claim_next(db, now=start + timedelta(minutes=13)) is None
    assert run(db, run_id).status == "running"


def test_a_first_sync_refreshes_postgresql_statistics_as_it_grows(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch: pytest.MonkeyPatch) -> None:
    """B6 on PostgreSQL: without statistics the planner reads every memo of the partner to
    find a page's ids, so a first sync ANALYZEs the tables it fills as they pass 1,000,
    10,000… memos (here from 2, then 20); SQLite needs none (its IN uses the index)."""
    from sqlalchemy import event

    monkeypatch.setattr(sync, "ANALYZE_AT", 2)
    monkeypatch.setattr(sync, "LAND_AT_LEAST", 5)  # each page of 5 in a transaction of its own
    for _ in range(25):
        fake_qbo.state.add_memo(REALM, total="10.00")
    analyzed: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("ANALYZE"):
            analyzed.append(statement)
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        iid = fake_qbo.connect(db, actor)
        assert run(db, fake_qbo.sync(db, iid, page_size=5)).created == 25
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    expected = 2 if db.engine.dialect.name == "postgresql" else 0  # at 2 and at 20 memos
    assert analyzed == ["ANALYZE customers, credit_memos, credit_memo_lines"] * expected
