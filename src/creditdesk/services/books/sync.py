"""The sync engine, provider-agnostic (Y2-Y6, Y8): runs fetch pages from a connector and
land each page in one transaction together with the cursor that follows it.

No HTTP happens inside a transaction: a connector yields a fetched page, then the page is
written. A run killed mid-way leaves the last committed cursor behind, so the next run
resumes there; upserts by (partner, source, external_id) make any re-read harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from creditdesk.connectors import base
from creditdesk.db import models, read_statements
from creditdesk.db.engine import Database
from creditdesk.domain import memo as rules
from creditdesk.domain import write_back as wb
from creditdesk.domain.application import InvoiceStatus
from creditdesk.services.books import sync_applications, sync_upsert
from creditdesk.services.common import audit, dml, vault
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.events import outbox
from creditdesk.services.read_models import views

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


MAX_TARGETS = 100  # records a targeted run reads one by one; beyond, incremental is cheaper


def request_run(db: Database, *, integration_id: str, trigger: str,
                partner_id: str | None = None, targets: base.Targets | None = None) -> str:
    """Queue a run (or return the one already queued): the id "Sync now" answers with.

    ``targets`` (a webhook named these records: memos by their id, invoices by
    ``base.invoice_key``; the keys are opaque here) asks for a targeted run that reads
    exactly them. One connection has at most one queued run, so requests meet in it: named
    records are merged into a queued targeted run; a queued incremental run already covers
    them (it reads every change since its cursor); an incremental request turns a queued
    targeted run into an incremental one. A running run is never touched: the request
    queues a run behind it. Past MAX_TARGETS records the run becomes incremental.

    Two requests racing to queue (PostgreSQL) meet in the unique index on queued runs: the
    second waits for the first to commit, fails, and merges into its run on the retry.
    """
    try:
        return _request_run(db, integration_id, trigger, partner_id, targets)
    except IntegrityError:
        return _request_run(db, integration_id, trigger, partner_id, targets)


def _request_run(db: Database, integration_id: str, trigger: str, partner_id: str | None,
                 targets: base.Targets | None) -> str:
    now = clock.now()
    with db.write() as session:
        stmt = select(models.Integration).where(models.Integration.id == integration_id)
        if partner_id is not None:
            stmt = stmt.where(models.Integration.partner_id == partner_id)
        integ = session.scalars(stmt).one()
        # FOR UPDATE: a worker claiming this run waits until the merge is committed, then
        # reads the merged targets (claim_next only takes a run still ``queued``).
        queued = session.scalars(select(models.SyncRun).where(
            models.SyncRun.integration_id == integ.id, models.SyncRun.status == "queued")
            .order_by(models.SyncRun.queued_at).limit(1).with_for_update()).first()
        if queued is not None:
            if queued.targets is not None:
                merged = base.merge_targets(queued.targets, targets) if targets else None
                if merged is None or len(merged) > MAX_TARGETS:
                    queued.targets, queued.trigger = None, trigger
                else:
                    queued.targets = merged
            return queued.id
        if targets is not None and len(targets) > MAX_TARGETS:
            targets = None
        run = models.SyncRun(id=new_id("run"), partner_id=integ.partner_id,
                             integration_id=integ.id, trigger=trigger, status="queued",
                             queued_at=now, fetched=0, created=0, updated=0, voided=0, errors=[],
                             targets=dict(targets) if targets else None)
        session.add(run)
        return run.id


def ensure_queued(db: Database, *, integration_id: str, trigger: str) -> str:
    """The connection's queued run, whatever kind it is, or a new incremental one: what a
    job runner claims (unlike ``request_run``, it never widens a targeted run)."""
    with db.read() as session:
        queued = session.scalar(select(models.SyncRun.id).where(
            models.SyncRun.integration_id == integration_id, models.SyncRun.status == "queued"))
    return queued or request_run(db, integration_id=integration_id, trigger=trigger)


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
                claimed = dml.rowcount(session.execute(update(models.SyncRun).where(
                    models.SyncRun.id == run_id, models.SyncRun.status == "queued",
                ).values(status="running", started_at=now, heartbeat_at=now)))
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
        claimed = session.get_one(models.SyncRun, run_id)
        integration_id, targets = claimed.integration_id, claimed.targets
    snap = snapshot(db, integration_id)
    try:
        if snap.status != "connected":
            raise base.ConnectorError(f"the integration is {snap.status.replace('_', ' ')}")
        connector = connector_for(snap, save_tokens(db, integration_id))
        fetch_targets = getattr(connector, "fetch_targets", None)
        # A targeted run reads exactly the named records (the cursor stays where it is); a
        # connector without targeted reads runs incrementally, which picks them up too.
        if targets and fetch_targets is not None:
            for batch in fetch_targets(targets):
                _land(db, run_id, snap, batch)
        else:
            _incremental(db, run_id, snap, connector)
            if fetch_targets is not None:
                _read_unanswered(db, run_id, snap, fetch_targets)
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


def _incremental(db: Database, run_id: str, snap: Snapshot, connector: base.Connector) -> None:
    """Every change since the cursor, after a full listing when the connector says its
    incremental read can't see every deletion (``_reconcile``); a connector that finds out
    only while reading (``base.ReconcileNeeded``) gets the listing, then reads again."""
    cursor = _reconcile(db, run_id, snap, connector, snap.cursor)
    try:
        _land_all(db, run_id, snap, connector.fetch(cursor))
    except base.ReconcileNeeded:
        if getattr(connector, "reconcile", None) is None:
            raise
        with db.read() as session:  # pages landed before the refusal moved the cursor
            stored = dict(session.get_one(models.Integration, snap.id).cursor or {})
        cursor = _reconcile(db, run_id, snap, connector, stored, force=True)
        _land_all(db, run_id, snap, connector.fetch(cursor))  # a second refusal fails the run


def _read_unanswered(db: Database, run_id: str, snap: Snapshot,
                     fetch_targets: Callable[[base.Targets], Iterable[base.Batch]]) -> None:
    """Y14: the memos of write-backs sent long ago and never answered are read again, so
    their landing finds out whether the system has them (``sync_applications``) even when
    nothing changed there to bring them into the incremental read."""
    app, memo = models.CreditApplication, models.CreditMemo
    with db.read() as session:
        stale = list(session.scalars(
            select(memo.external_id).join(app, app.credit_memo_id == memo.id).where(
                app.partner_id == snap.partner_id, app.write_back_system == snap.provider,
                app.status == wb.Status.PENDING.value, app.write_back_action == "apply",
                app.write_back_sent_at < clock.now() - wb.NEVER_RECEIVED_AFTER,
                memo.external_id.is_not(None))
            .distinct().order_by(memo.external_id).limit(MAX_TARGETS)))
    if stale:
        for batch in fetch_targets(dict.fromkeys((e for e in stale if e), base.CHANGED)):
            _land(db, run_id, snap, batch)


LAND_AT_LEAST = 1000  # records: smaller pages (Xero's 100) land several to a transaction…
LAND_WITHIN = 2.0  # …unless the first of them was fetched this many seconds ago


def _land_all(db: Database, run_id: str, snap: Snapshot, batches: Iterable[base.Batch]) -> None:
    """Land fetched pages, each transaction with the cursor after its last page.

    Small pages are landed together, at least ``LAND_AT_LEAST`` records to a transaction
    (or what was fetched within ``LAND_WITHIN`` seconds, checked as each page arrives): a
    transaction costs the same fixed work whatever its size (locking the run, two prefetch
    queries, four inserts, the run's counts and cursor, a durable commit), which at Xero's
    100 a page was a third of a first sync (B6). Pages fetched before a connector error
    still land; a worker killed before landing them loses nothing but the reading, since
    the stored cursor is still the one before them."""
    pending: list[base.Batch] = []
    first_at = 0.0

    def land_pending() -> None:
        if pending:
            _land(db, run_id, snap, _joined(pending))
            pending.clear()

    try:
        for batch in batches:
            if not pending:
                first_at = time.monotonic()
            pending.append(batch)
            if (sum(len(b.records) for b in pending) >= LAND_AT_LEAST
                    or time.monotonic() - first_at >= LAND_WITHIN):
                land_pending()
    except Exception:
        land_pending()
        raise
    land_pending()


def _joined(batches: list[base.Batch]) -> base.Batch:
    """Consecutive pages as one: their records in order, the cursor after the last page
    that moved it."""
    if len(batches) == 1:
        return batches[0]
    cursors = [b.cursor for b in batches if b.cursor is not None]
    return base.Batch([r for b in batches for r in b.records], cursors[-1] if cursors else None,
                      {k: v for b in batches for k, v in b.meta.items()})


RECONCILE_PAGE = 1000  # memos and invoices landed as deleted per transaction


def _reconcile(db: Database, run_id: str, snap: Snapshot, connector: base.Connector,
               cursor: dict[str, Any], *, force: bool = False) -> dict[str, Any]:
    """Deletions the incremental read can't see (Y4, Y9): when the connector says a full
    listing is due, it lists every id of the system (HTTP, outside any transaction, complete
    or not at all: a failure fails the run and voids nothing) and confirms which held memos
    and invoices (``base.invoice_key``) are gone; those land as ``Deleted`` /
    ``DeletedInvoice`` — void, "Deleted in …", counted and audited like any deletion —
    ``RECONCILE_PAGE`` to a transaction, the last one with the connector's new cursor. A run
    killed before that lists again next time (records already void are left as they are).
    Returns the cursor the incremental read starts from."""
    due = getattr(connector, "reconcile_due", None)
    reconcile = getattr(connector, "reconcile", None)
    if due is None or reconcile is None:
        return cursor
    now = clock.now()
    live = _live(snap)
    with db.read() as session:
        held = (session.scalar(select(models.CreditMemo.id).where(*live[0]).limit(1))
                or session.scalar(select(models.Invoice.id).where(*live[1]).limit(1))
                ) is not None
    if not force and not due(cursor, now=now, has_memos=held):
        return cursor
    known, problem = _held_ids(db, snap, live) if held else (set(), None)
    outcome: base.Reconciliation = reconcile(cursor, known, now=now,
                                             progress=_heartbeat(db, run_id))
    gone = sorted(outcome.gone & known)  # never anything it was not asked about
    pages = [gone[i:i + RECONCILE_PAGE] for i in range(0, len(gone), RECONCILE_PAGE)] or [[]]
    for n, page in enumerate(pages):
        last = n == len(pages) - 1
        memos, invoices = base.split_targets(dict.fromkeys(page, base.DELETED))
        records: list[base.Record] = [base.Deleted(ext) for ext in memos]
        records += [base.DeletedInvoice(ext) for ext in invoices]
        with db.write() as session:
            land_page(session, run_id, snap,
                      base.Batch(records, outcome.cursor if last else None))
            if last and problem:
                run = session.get_one(models.SyncRun, run_id, with_for_update=True)
                run.errors = [*run.errors, {"external_id": None, "message": problem}][
                    :MAX_ERRORS]
    return outcome.cursor


Conditions = tuple[Any, ...]


def _live(snap: Snapshot) -> tuple[Conditions, Conditions]:
    """The conditions selecting this connection's system's memos, and its invoices, that are
    not void (what a full listing is compared with)."""
    cm, inv = models.CreditMemo, models.Invoice
    return ((cm.partner_id == snap.partner_id, cm.source == snap.provider,
             cm.status != rules.MemoStatus.VOID.value, cm.external_id.is_not(None)),
            (inv.partner_id == snap.partner_id, inv.source == snap.provider,
             inv.status != InvoiceStatus.VOID.value, inv.external_id.is_not(None)))


HEARTBEAT_EVERY = timedelta(minutes=1)


def _heartbeat(db: Database, run_id: str) -> Callable[[], None]:
    """Called by a connector after each page of a long listing: keeps the run's heartbeat
    fresh (at most once a minute, in its own short transaction) so no runner takes a live run
    for a dead one (``STALE_AFTER``) while nothing lands."""
    last = clock.now()

    def beat() -> None:
        nonlocal last
        now = clock.now()
        if now - last >= HEARTBEAT_EVERY:
            with db.write() as session:
                session.execute(update(models.SyncRun).where(
                    models.SyncRun.id == run_id, models.SyncRun.status == "running",
                ).values(heartbeat_at=now))
            last = now
    return beat


def _held_ids(db: Database, snap: Snapshot, live: tuple[Conditions, Conditions]
              ) -> tuple[set[str], str | None]:
    """The external ids of this connection's memos that are not void, and its invoices' as
    ``base.invoice_key``, in one query each. Records carry their source but not their
    connection, so when the partner has (or had) a connection of the same system to another
    company, none can be told apart: nothing is compared (an empty set) and the run says so,
    rather than voiding another company's records."""
    integ = models.Integration
    with db.read() as session:
        realms = set(session.scalars(select(integ.realm_id).where(
            integ.partner_id == snap.partner_id, integ.provider == snap.provider,
            integ.id != snap.id, integ.realm_id.is_not(None)).distinct()))
        if realms - {snap.realm_id}:
            name = rules.SOURCE_NAMES[rules.Source(snap.provider)]
            return set(), (f"deletions in {name} could not be checked: memos and invoices of "
                           f"more than one {name} company are held here and can't be told "
                           f"apart; a record deleted there stays here until {name} reports "
                           f"it")
        memos = session.scalars(select(models.CreditMemo.external_id).where(*live[0]))
        invoices = session.scalars(select(models.Invoice.external_id).where(*live[1]))
        return ({ext for ext in memos if ext is not None}
                | {base.invoice_key(ext) for ext in invoices if ext is not None}), None


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
        sync_upsert.land(actor, source, record, counts, now)
    touched = [e["entity_id"] for e in counts.events if e["entity_type"] == "invoice"]
    sync_upsert.flush(session, counts)
    sync_applications.reconcile(session, actor, source, _reported(batch, counts), now)
    _emit_synced(session, snap.partner_id, touched)
    run.fetched += len(batch.records)
    memos, invoices = counts.memos, counts.invoices
    # each kind's tables as that kind grows: a first sync reads every memo, then every
    # invoice, so invoices must not land on the statistics of an empty table (B6)
    _analyze_on_growth(session, MEMO_TABLES, before=run.created,
                       after=run.created + memos.created)
    _analyze_on_growth(session, INVOICE_TABLES, before=run.invoices_created,
                       after=run.invoices_created + invoices.created)
    run.created += memos.created
    run.updated += memos.updated
    run.voided += memos.voided
    run.invoices_created += invoices.created
    run.invoices_updated += invoices.updated
    run.invoices_voided += invoices.voided
    if counts.errors:
        run.errors = (list(run.errors) + counts.errors)[:MAX_ERRORS]
    run.heartbeat_at = now
    if batch.cursor is not None:  # None: a targeted read leaves the incremental cursor alone
        session.execute(update(models.Integration).where(
            models.Integration.id == snap.id).values(cursor=batch.cursor, updated_at=now))


def _emit_synced(session: Session, partner_id: str, invoice_ids: list[str]) -> None:
    """D5: ``invoice.synced`` for each invoice the page created, changed or voided, with
    the invoice as it is now (one look-up of the subscribers for the whole page)."""
    if not invoice_ids:
        return
    conn = session.connection()
    to = outbox.subscribers(conn, partner_id, "invoice.synced")
    if not to:
        return
    session.flush()
    for invoice_id in dict.fromkeys(invoice_ids):
        found = read_statements.invoice_whole(conn, partner_id, invoice_id)
        if found is not None:
            outbox.emit(conn, partner_id, "invoice.synced",
                        {"invoice": views.invoice_view_of(*found)}, to=to)


def _reported(batch: base.Batch,
              counts: sync_upsert.Counts) -> dict[str, tuple[base.RemoteApplication, ...]]:
    """Memo id → the applications the system reports for it (Y14), for the page's memos
    whose answer said (``RemoteMemo.applications`` not None) and that are not void."""
    out = {}
    for r in batch.records:
        if isinstance(r, base.RemoteMemo) and r.applications is not None and not r.voided:
            memo = counts.memos.rows.get(r.external_id)
            if memo is not None and memo.status != rules.MemoStatus.VOID.value:
                out[memo.id] = r.applications
    return out


ANALYZE_AT = 1_000  # documents of a kind a run has created: ANALYZE at 1,000, then at every
# power of ten
MEMO_TABLES = "customers, credit_memos, credit_memo_lines"
INVOICE_TABLES = "customers, invoices, invoice_lines"


def _analyze_on_growth(session: Session, tables: str, *, before: int, after: int) -> None:
    """PostgreSQL: refresh the planner's statistics of ``tables`` (one kind's), when the
    run's created documents of that kind pass 1,000, 10,000, 100,000…

    Why: a page's rows are found with ``external_id IN (…)`` on the unique index. With the
    statistics of an empty table the planner expects one row per (partner, source), so it
    reads all of them and filters the ids: each page then costs as much as the memos synced
    so far, and a first sync of 100,000 grows quadratic. Autovacuum would ANALYZE in time on
    most servers, but not on one where it is off or busy. ANALYZE samples a bounded number
    of rows and takes no lock that blocks reads or writes."""
    if session.get_bind().dialect.name != "postgresql" or after < ANALYZE_AT:
        return
    mark = ANALYZE_AT
    while mark * 10 <= after:
        mark *= 10
    if before < mark:
        session.execute(text(f"ANALYZE {tables}"))


def _finish(db: Database, run_id: str, snap: Snapshot, *, error: str | None,
            interval: timedelta | None, reconnect: bool = False) -> None:
    """End a run (Y8). ``interval`` None: the integration has no schedule here (the
    QuickBooks Web Connector calls in on its own), so no next sync is planned."""
    now = clock.now()
    with db.write() as session:
        run = session.get_one(models.SyncRun, run_id, with_for_update=True)
        integ = session.get_one(models.Integration, snap.id, with_for_update=True)
        run.finished_at = now
        targeted = bool(run.targets)
        if error is None:
            run.status = "partial" if run.errors else "succeeded"
            n = len(run.errors)
            problem = (f"{n} record{'s' if n != 1 else ''} could not be read in the last "
                       "sync" if n else None)
            if targeted:
                # A few memos were read: the incremental sync's schedule, failures and
                # "last synced" are about the whole connection and stay as they are.
                integ.last_error = problem or integ.last_error
            else:
                integ.last_synced_at, integ.consecutive_failures = now, 0
                integ.last_error = problem
                integ.next_sync_at = now + interval if interval is not None else None
        else:
            run.status = "failed"
            run.errors = [*run.errors, {"external_id": None, "message": error}][:MAX_ERRORS + 1]
            integ.last_error = error
            integ.consecutive_failures += 1
            if reconnect:  # never retried forever: the partner must reconnect
                integ.status, integ.next_sync_at = "needs_reconnection", None
            elif integ.status == "connected" and interval is not None:
                # back-off: 1, 2, 4 ... minutes, up to interval; after a failed targeted
                # run that incremental retry is what picks its memos up (never later than
                # the sync already planned)
                backoff = timedelta(minutes=2 ** min(integ.consecutive_failures - 1, 10))
                retry_at = now + min(backoff, interval)
                if targeted and integ.next_sync_at is not None:
                    retry_at = min(retry_at, integ.next_sync_at)
                integ.next_sync_at = retry_at
        integ.updated_at = now
        outbox.emit(session, snap.partner_id, "sync_run.finished", {"sync_run": run})  # D5
        audit.record(session, Actor(snap.partner_id, f"sync:{snap.provider}"), "integration.sync",
                     "integration", snap.id,
                     {"run_id": run_id, "status": run.status, "fetched": run.fetched,
                      "created": run.created, "updated": run.updated, "voided": run.voided,
                      "invoices_created": run.invoices_created,
                      "invoices_updated": run.invoices_updated,
                      "invoices_voided": run.invoices_voided, "errors": len(run.errors)})


finish = _finish  # public name for the Web Connector conversation (services.qbwc)
