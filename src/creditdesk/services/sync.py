"""The sync engine, provider-agnostic (Y2-Y6, Y8): runs fetch pages from a connector and
land each page in one transaction together with the cursor that follows it.

No HTTP happens inside a transaction: a connector yields a fetched page, then the page is
written. A run killed mid-way leaves the last committed cursor behind, so the next run
resumes there; upserts by (partner, source, external_id) make any re-read harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import memo as rules
from creditdesk.services import audit, sync_upsert, vault
from creditdesk.services.context import Actor, clock, new_id

STALE_AFTER = timedelta(minutes=10)  # a running run without a heartbeat for this long died
MAX_ERRORS = 200  # per run; the counts still say how many


@dataclass(frozen=True)
class Snapshot:
    """What a connector needs to know about its integration (read outside any transaction)."""

    id: str
    partner_id: str
    provider: str
    status: str
    realm_id: str | None
    region: str | None
    tokens: dict[str, Any]
    cursor: dict[str, Any]


ConnectorFactory = Callable[[Snapshot, base.TokenSaver], base.Connector]


def request_run(db: Database, *, integration_id: str, trigger: str,
                partner_id: str | None = None) -> str:
    """Queue a run (or return the one already queued): the id "Sync now" answers with."""
    now = clock.now()
    with db.write() as session:
        stmt = select(models.Integration).where(models.Integration.id == integration_id)
        if partner_id is not None:
            stmt = stmt.where(models.Integration.partner_id == partner_id)
        integ = session.scalars(stmt).one()
        queued = session.scalar(select(models.SyncRun.id).where(
            models.SyncRun.integration_id == integ.id, models.SyncRun.status == "queued"))
        if queued:
            return queued
        run = models.SyncRun(id=new_id("run"), partner_id=integ.partner_id,
                             integration_id=integ.id, trigger=trigger, status="queued",
                             queued_at=now, fetched=0, created=0, updated=0, voided=0, errors=[])
        session.add(run)
        return run.id


def queue_due(db: Database, *, now: datetime | None = None) -> list[str]:
    """Queue a scheduled run for every connected integration whose next sync is due."""
    now = now or clock.now()
    with db.read() as session:
        due = session.scalars(select(models.Integration.id).where(
            models.Integration.status == "connected",
            models.Integration.next_sync_at <= now)).all()
    return [request_run(db, integration_id=i, trigger="schedule") for i in due]


def claim_next(db: Database, *, now: datetime | None = None,
               integration_id: str | None = None) -> str | None:
    """Mark the oldest claimable queued run (of ``integration_id`` when given) ``running``;
    None when there is nothing to do.

    The unique index on running runs is the queueing lock: a connection never syncs twice
    at once, whichever worker or machine tries.
    """
    now = now or clock.now()
    with db.write() as session:
        session.execute(update(models.SyncRun).where(
            models.SyncRun.status == "running", models.SyncRun.heartbeat_at < now - STALE_AFTER,
        ).values(status="failed", finished_at=now, errors=[
            {"external_id": None, "message": "the worker stopped mid-run; the next run resumes "
                                             "from the last saved page"}]))
    stmt = select(models.SyncRun.id).where(models.SyncRun.status == "queued")
    if integration_id is not None:
        stmt = stmt.where(models.SyncRun.integration_id == integration_id)
    with db.read() as session:
        candidates = session.scalars(stmt.order_by(models.SyncRun.queued_at).limit(20)).all()
    for run_id in candidates:
        try:
            with db.write() as session:
                claimed = session.execute(update(models.SyncRun).where(
                    models.SyncRun.id == run_id, models.SyncRun.status == "queued",
                ).values(status="running", started_at=now, heartbeat_at=now)).rowcount
        except IntegrityError:
            continue  # that connection is syncing already; its queued run waits
        if claimed:
            return run_id
    return None


def snapshot(db: Database, integration_id: str) -> Snapshot:
    with db.read() as session:
        i = session.get_one(models.Integration, integration_id)
        return Snapshot(i.id, i.partner_id, i.provider, i.status, i.realm_id, i.region,
                        vault.open_sealed(i.credentials_encrypted), dict(i.cursor or {}))


def save_tokens(db: Database, integration_id: str) -> base.TokenSaver:
    def save(tokens: dict[str, Any]) -> None:
        with db.write() as session:
            session.execute(update(models.Integration).where(
                models.Integration.id == integration_id).values(
                credentials_encrypted=vault.seal(tokens), updated_at=clock.now()))
    return save


def execute(db: Database, run_id: str, connector_for: ConnectorFactory, *,
            interval: timedelta = timedelta(minutes=15)) -> base.ConnectorError | None:
    """Run a claimed (``running``) run to its end, recording everything (Y8); returns the
    error that failed it, if any (a job runner retries ``base.Transient`` ones)."""
    with db.read() as session:
        integration_id = session.get_one(models.SyncRun, run_id).integration_id
    snap = snapshot(db, integration_id)
    try:
        if snap.status != "connected":
            raise base.ConnectorError(f"the integration is {snap.status.replace('_', ' ')}")
        connector = connector_for(snap, save_tokens(db, integration_id))
        for batch in connector.fetch(snap.cursor):
            _land(db, run_id, snap, batch)
    except base.NeedsReconnection as exc:
        _finish(db, run_id, snap, error=str(exc), reconnect=True, interval=interval)
        return exc
    except base.ConnectorError as exc:
        _finish(db, run_id, snap, error=str(exc), interval=interval)
        return exc
    except vault.VaultError as exc:
        _finish(db, run_id, snap, error=str(exc), interval=interval)
        return base.ConnectorError(str(exc))
    except Exception as exc:  # recorded, never lost: the run must not stay "running"
        _finish(db, run_id, snap, error=f"unexpected error: {exc.__class__.__name__}: {exc}",
                interval=interval)
        raise
    _finish(db, run_id, snap, error=None, interval=interval)
    return None


def _land(db: Database, run_id: str, snap: Snapshot, batch: base.Batch) -> None:
    with db.write() as session:
        land_page(session, run_id, snap, batch)


def land_page(session: Session, run_id: str, snap: Snapshot, batch: base.Batch) -> None:
    """Land one page and store the cursor after it, in the caller's transaction (the Web
    Connector's conversation commits its own state in the same one)."""
    source = rules.Source(snap.provider)
    actor = Actor(snap.partner_id, f"sync:{snap.provider}")
    now = clock.now()
    run = session.get_one(models.SyncRun, run_id, with_for_update=True)
    counts = sync_upsert.Counts()
    sync_upsert.prefetch(session, snap.partner_id, source, batch.records, counts)
    for record in batch.records:
        sync_upsert.land(session, actor, source, record, counts, now)
    run.fetched += len(batch.records)
    run.created += counts.created
    run.updated += counts.updated
    run.voided += counts.voided
    if counts.errors:
        run.errors = (list(run.errors) + counts.errors)[:MAX_ERRORS]
    run.heartbeat_at = now
    session.execute(update(models.Integration).where(
        models.Integration.id == snap.id).values(cursor=batch.cursor, updated_at=now))


def _finish(db: Database, run_id: str, snap: Snapshot, *, error: str | None,
            interval: timedelta | None, reconnect: bool = False) -> None:
    """End a run (Y8). ``interval`` None: the integration has no schedule here (the
    QuickBooks Web Connector calls in on its own), so no next sync is planned."""
    now = clock.now()
    with db.write() as session:
        run = session.get_one(models.SyncRun, run_id, with_for_update=True)
        integ = session.get_one(models.Integration, snap.id, with_for_update=True)
        run.finished_at = now
        if error is None:
            run.status = "partial" if run.errors else "succeeded"
            integ.last_synced_at, integ.consecutive_failures = now, 0
            integ.last_error = (f"{len(run.errors)} record(s) could not be read in the last run"
                                if run.errors else None)
            integ.next_sync_at = now + interval if interval is not None else None
        else:
            run.status = "failed"
            run.errors = [*run.errors, {"external_id": None, "message": error}][:MAX_ERRORS + 1]
            integ.last_error = error
            integ.consecutive_failures += 1
            if reconnect:  # never retried forever: the partner must reconnect
                integ.status, integ.next_sync_at = "needs_reconnection", None
            elif integ.status == "connected" and interval is not None:
                # back-off: 1, 2, 4 ... minutes, up to interval
                backoff = timedelta(minutes=2 ** min(integ.consecutive_failures - 1, 10))
                integ.next_sync_at = now + min(backoff, interval)
        integ.updated_at = now
        audit.record(session, Actor(snap.partner_id, f"sync:{snap.provider}"), "integration.sync",
                     "integration", snap.id,
                     {"run_id": run_id, "status": run.status, "fetched": run.fetched,
                      "created": run.created, "updated": run.updated, "voided": run.voided,
                      "errors": len(run.errors)})


finish = _finish  # public name for the Web Connector conversation (services.qbwc)
