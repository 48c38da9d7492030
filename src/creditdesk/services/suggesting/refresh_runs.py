"""A partner-wide refresh of suggestions on the job system (issue 16), with progress.

``start`` records a queued run (or answers the partner's active one: requests meet in it);
a worker ``claim``s it and ``execute``s it in batches of customers (``suggestions.refresh_batch``),
each batch's progress (customers done, the last customer id, the counts) committed in the
batch's own transaction, so what the page shows is what is saved. A run whose worker died
(no heartbeat for ``STALE_AFTER``) is claimed again and resumes after its last batch: no
customer is refreshed twice for the run's counts, none is skipped.

Runners: on PostgreSQL the Procrastinate task ``creditdesk.refresh_suggestions``
(``jobs.queue``), deferred after ``start`` commits and by a sweep every minute; on SQLite the
in-process runner (``jobs.sync``) calls ``run_pending`` on its ticks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from creditdesk import faults
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common import audit, dml, pagination
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.suggesting import suggestions

log = logging.getLogger("creditdesk.jobs")

STALE_AFTER = timedelta(minutes=2)  # a batch takes well under a second; a minute is dead
ACTIVE = ("queued", "running")
FAILED_MESSAGE = ("The refresh stopped on an unexpected error after {done} of {total} "
                  "customers; their suggestions are saved. Start it again to finish.")


@dataclass(frozen=True)
class RunView:
    id: str
    status: str
    requested_by: str
    customers_total: int | None
    customers_done: int
    created: int
    updated: int
    removed: int
    open: int
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def percent(self) -> int:
        """Whole percent done (0 until the total is known; 100 only when done)."""
        if self.status == "done":
            return 100
        if not self.customers_total:
            return 0
        return min(99, self.customers_done * 100 // self.customers_total)


def view(row: models.SuggestionRun) -> RunView:
    return RunView(row.id, row.status, row.requested_by, row.customers_total,
                   row.customers_done, row.created, row.updated, row.removed, row.open,
                   row.error, row.queued_at, row.started_at, row.finished_at)


def start(db: Database, *, actor: Actor) -> tuple[RunView, bool]:
    """Queue a refresh of every customer's suggestions; the run and whether it is new (an
    active run of the partner is answered instead of a second one)."""
    with db.write() as session:
        if session.get(models.Partner, actor.partner_id) is None:
            raise errors.NotFound(f"No partner with id {actor.partner_id}.")
        running = _active(session, actor.partner_id)
        if running is not None:
            return view(running), False
        row = models.SuggestionRun(
            id=new_id("srun"), partner_id=actor.partner_id, status="queued",
            requested_by=actor.name, customers_total=None, customers_done=0, cursor=None,
            attempts=0, created=0, updated=0, removed=0, open=0, queued_at=clock.now())
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            # Another request queued one between our read and our insert (the unique index
            # on active runs): answer that one.
            found = _active(session, actor.partner_id)
            if found is None:
                raise
            return view(found), False
        audit.record(session, actor, "suggestions.refresh_run", "suggestion_run", row.id,
                     {"scope": "every customer"})
        return view(row), True


def _active(session: Session, partner_id: str) -> models.SuggestionRun | None:
    return session.scalars(select(models.SuggestionRun).where(
        models.SuggestionRun.partner_id == partner_id,
        models.SuggestionRun.status.in_(ACTIVE))).first()


def get_run(db: Database, *, actor: Actor, run_id: str) -> RunView:
    with db.read() as session:
        return view(locks.get_scoped(session, models.SuggestionRun, actor.partner_id, run_id,
                                     label="suggestion refresh run"))


def latest(db: Database, *, actor: Actor) -> RunView | None:
    """The partner's newest run, if any (what the suggestions page shows)."""
    with db.read() as session:
        row = session.scalars(select(models.SuggestionRun).where(
            models.SuggestionRun.partner_id == actor.partner_id)
            .order_by(models.SuggestionRun.id.desc()).limit(1)).first()
        return view(row) if row is not None else None


def list_runs(db: Database, *, actor: Actor, limit: int = 50,
              cursor: str | None = None) -> pagination.Page[RunView]:
    run = models.SuggestionRun
    with db.read() as session:
        return pagination.newest_first(session, select(run).where(
            run.partner_id == actor.partner_id), run.id, limit=limit, cursor=cursor, view=view)


# the worker's side --------------------------------------------------------------------
def claimable_ids(db: Database, *, now: datetime | None = None) -> list[str]:
    """Runs a worker should take: queued ones, and running ones whose worker died."""
    now = now or clock.now()
    run = models.SuggestionRun
    with db.read() as session:
        return list(session.scalars(select(run.id).where(or_(
            run.status == "queued",
            (run.status == "running") & (run.heartbeat_at < now - STALE_AFTER)))
            .order_by(run.queued_at, run.id).limit(100)))


def claim(db: Database, run_id: str, *, now: datetime | None = None) -> int | None:
    """Take the run (queued, or running without a heartbeat for ``STALE_AFTER``); the
    claim's number, or None when it is done, failed or another worker has it."""
    now = now or clock.now()
    run = models.SuggestionRun
    with db.write() as session:
        row = session.scalars(select(run).where(run.id == run_id).with_for_update()).first()
        if row is None or not (row.status == "queued" or (
                row.status == "running" and row.heartbeat_at is not None
                and row.heartbeat_at < now - STALE_AFTER)):
            return None
        if row.status == "running":
            log.warning("resuming suggestion run %s after %s of %s customers (its worker "
                        "stopped)", row.id, row.customers_done, row.customers_total)
        row.status, row.attempts, row.heartbeat_at = "running", row.attempts + 1, now
        row.started_at = row.started_at or now
        return row.attempts


class Overtaken(Exception):
    """Another worker claimed this run (this one stalled past ``STALE_AFTER``)."""


def execute(db: Database, run_id: str, claimed: int) -> RunView:
    """Refresh the run's remaining customers, batch by batch; the run as it ended."""
    with db.read() as session:
        row = session.get_one(models.SuggestionRun, run_id)
        actor = Actor(row.partner_id, row.requested_by)
        after, done_before = row.cursor, row.customers_done
    try:
        ids = suggestions.customer_ids(db, actor=actor, after=after)
        _set_total(db, run_id, claimed, done_before + len(ids))
        evidence = suggestions.load_evidence(db, actor=actor)
        for start_at in range(0, len(ids), suggestions.BATCH):
            suggestions.refresh_batch(db, actor, ids[start_at:start_at + suggestions.BATCH],
                                      evidence, on_done=_progress(run_id, claimed))
            faults.point("suggestion_run.batch_committed")
        return _finish(db, run_id, claimed, actor)
    except Overtaken:
        log.warning("suggestion run %s was taken over by another worker", run_id)
        return _view(db, run_id)
    except Exception:
        log.exception("suggestion run %s failed", run_id)
        return _fail(db, run_id, claimed)


def run_pending(db: Database, *, limit: int = 10) -> list[str]:
    """The in-process runner's job (SQLite): claim and execute what is claimable."""
    done = []
    for run_id in claimable_ids(db)[:limit]:
        claimed = claim(db, run_id)
        if claimed is not None:
            execute(db, run_id, claimed)
            done.append(run_id)
    return done


def _mine(session: Session, run_id: str, claimed: int) -> models.SuggestionRun:
    row = session.scalars(select(models.SuggestionRun).where(
        models.SuggestionRun.id == run_id).with_for_update()).first()
    if row is None or row.status != "running" or row.attempts != claimed:
        raise Overtaken(run_id)
    return row


def _set_total(db: Database, run_id: str, claimed: int, total: int) -> None:
    with db.write() as session:
        row = _mine(session, run_id, claimed)
        row.customers_total, row.heartbeat_at = total, clock.now()


def _progress(run_id: str, claimed: int) -> suggestions.BatchHook:
    def record(session: Session, ids: list[str], counts: list[int]) -> None:
        # In the batch's transaction, after its customers: the batch and its count commit
        # (or roll back) together.
        row = _mine(session, run_id, claimed)
        row.customers_done += len(ids)
        row.cursor = ids[-1]
        row.created += counts[0]
        row.updated += counts[1]
        row.removed += counts[2]
        row.open += counts[3]
        row.heartbeat_at = clock.now()
    return record


def _finish(db: Database, run_id: str, claimed: int, actor: Actor) -> RunView:
    with db.write() as session:
        row = _mine(session, run_id, claimed)
        row.status, row.finished_at = "done", clock.now()
        row.customers_total = row.customers_done
        suggestions.record_refresh(session, actor, suggestions.RefreshResult(
            row.customers_done, row.created, row.updated, row.removed, row.open))
        return view(row)


def _fail(db: Database, run_id: str, claimed: int) -> RunView:
    with db.write() as session:
        done = dml.rowcount(session.execute(update(models.SuggestionRun).where(
            models.SuggestionRun.id == run_id, models.SuggestionRun.attempts == claimed,
            models.SuggestionRun.status == "running").values(status="failed",
                                                              finished_at=clock.now())))
        row = session.get_one(models.SuggestionRun, run_id)
        if done:
            row.error = FAILED_MESSAGE.format(done=row.customers_done,
                                              total=row.customers_total or 0)
        return view(row)


def _view(db: Database, run_id: str) -> RunView:
    with db.read() as session:
        return view(session.get_one(models.SuggestionRun, run_id))
