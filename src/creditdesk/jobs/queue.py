"""Sync jobs on PostgreSQL, on Procrastinate: the runner ``creditdesk worker`` starts there.

The same service functions as the in-process runner (``services.sync``): a job claims its
connection's queued run (a ``sync_runs`` row, Y8) and executes it. Procrastinate adds:

- a periodic task (every minute) that queues a run for each connection that is due and
  defers one job per connection with a queued run;
- ``queueing_lock=<integration id>``: at most one waiting job per connection, however many
  webhooks, "Sync now" clicks and ticks ask for one;
- ``lock=<integration id>``: one connection's jobs run one after the other, whichever worker
  or machine picks them up (the unique index on running runs stays as the last defence);
- retries with exponential back-off (5 s, 25 s, ~2 min, ~10 min) for ``base.Transient``
  failures only: a revoked grant (needs reconnection) is recorded and never retried.

Write-backs of synced credit (Y11-Y13) run as one task that drains every due one
(``services.books.write_back``): deferred after the request that asked for one commits,
and every minute by a periodic task (the back-offs of transient failures fall due then).
Each write-back is leased in the database, so two workers never send the same one.

Memo emails (D2, ``services.documents.delivery_job``) run the same way: one task that sends
every due delivery, deferred after the request that asked for one commits and every minute
by a periodic task (failed deliveries' back-offs fall due then); each delivery is claimed in
the database (``sending``), so two workers never send the same one.
Outbound events (D4, D5) are delivered by ``creditdesk.deliver_events`` (``jobs.events``):
deferred after a change that emitted commits, swept every minute, and deferred again by
itself for retries falling due within a minute.

A partner-wide refresh of suggestions (issue 16, ``services.suggesting.refresh_runs``) runs as
``creditdesk.refresh_suggestions`` on its own queue (a long refresh never holds up syncs or
deliveries), one job per run with ``lock=<partner>``; deferred after the request that queued
it commits and by a sweep every minute, which also takes over a run whose worker died.

It also runs ``jobs.housekeeping`` every 15 minutes (expired sessions, sign-in counters,
Idempotency-Key records).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate import exceptions as pq_errors
from sqlalchemy import select
from sqlalchemy.engine import make_url

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import events, housekeeping
from creditdesk.services.books import sync, write_back
from creditdesk.services.documents import delivery_job
from creditdesk.services.suggesting import refresh_runs

log = logging.getLogger("creditdesk.jobs")

SYNC_TASK = "creditdesk.sync_integration"
DUE_TASK = "creditdesk.queue_due_syncs"
STALLED_TASK = "creditdesk.retry_stalled_jobs"
WRITE_BACK_TASK = "creditdesk.write_back"
WRITE_BACK_DUE_TASK = "creditdesk.write_back_due"
EMAIL_TASK = "creditdesk.send_memo_emails"
EMAIL_DUE_TASK = "creditdesk.memo_emails_due"
SUGGESTIONS_TASK = "creditdesk.refresh_suggestions"
SUGGESTIONS_DUE_TASK = "creditdesk.suggestion_runs_due"
SUGGESTIONS_QUEUE = "suggestions"
SYNC_QUEUE = "sync"
SCHEDULE_QUEUE = "schedule"
EVENTS_QUEUE = "events"
DUE_CRON = "* * * * *"  # each connection's own next_sync_at says when it is due
STALLED_CRON = "*/5 * * * *"
RETRY = procrastinate.RetryStrategy(max_attempts=4, exponential_wait=5,
                                    retry_exceptions=[base.Transient])
TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
          "procrastinate_workers")  # created by migration 0006


class Busy(base.Transient):
    """Another run of this connection is still marked running (a worker died mid-run and its
    heartbeat is not stale yet): try again later."""


@dataclass(frozen=True)
class Runtime:
    """What the jobs need, handed to each worker as Procrastinate ``additional_context``."""

    db: Database
    connector_for: sync.ConnectorFactory
    interval: timedelta = timedelta(minutes=15)
    retry_base_seconds: float = 60.0


def conninfo(url: str) -> str:
    """The libpq URL of a SQLAlchemy one (``postgresql+psycopg://`` → ``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def make_app(url: str, **pool: Any) -> procrastinate.App:
    """A Procrastinate app on ``url`` with CreditDesk's tasks (one app per worker)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url),
                                                                     **pool))
    app.task(name=SYNC_TASK, queue=SYNC_QUEUE, pass_context=True, retry=RETRY)(sync_integration)
    due = app.task(name=DUE_TASK, queue=SCHEDULE_QUEUE, queueing_lock=DUE_TASK,
                   pass_context=True)(queue_due_syncs)
    app.periodic(cron=DUE_CRON, periodic_id="queue-due-syncs")(due)
    stalled = app.task(name=STALLED_TASK, queue=SCHEDULE_QUEUE, queueing_lock=STALLED_TASK,
                       pass_context=True)(retry_stalled_jobs)
    app.periodic(cron=STALLED_CRON, periodic_id="retry-stalled-jobs")(stalled)
    app.task(name=WRITE_BACK_TASK, queue=SYNC_QUEUE, queueing_lock=WRITE_BACK_TASK,
             pass_context=True)(write_backs)
    due_writes = app.task(name=WRITE_BACK_DUE_TASK, queue=SCHEDULE_QUEUE,
                          queueing_lock=WRITE_BACK_DUE_TASK, pass_context=True)(write_backs_due)
    app.periodic(cron=DUE_CRON, periodic_id="write-backs-due")(due_writes)
    app.task(name=EMAIL_TASK, queue=SYNC_QUEUE, queueing_lock=EMAIL_TASK,
             pass_context=True)(send_emails)
    due_emails = app.task(name=EMAIL_DUE_TASK, queue=SCHEDULE_QUEUE,
                          queueing_lock=EMAIL_DUE_TASK, pass_context=True)(emails_due)
    app.periodic(cron=DUE_CRON, periodic_id="memo-emails-due")(due_emails)
    app.task(name=events.TASK, queue=EVENTS_QUEUE, pass_context=True)(deliver_events)
    due_events = app.task(name=events.DUE_TASK, queue=SCHEDULE_QUEUE,
                          queueing_lock=events.DUE_TASK, pass_context=True)(deliver_events_due)
    app.periodic(cron=DUE_CRON, periodic_id="events-due")(due_events)
    app.task(name=SUGGESTIONS_TASK, queue=SUGGESTIONS_QUEUE,
             pass_context=True)(refresh_suggestions)
    due_runs = app.task(name=SUGGESTIONS_DUE_TASK, queue=SCHEDULE_QUEUE,
                        queueing_lock=SUGGESTIONS_DUE_TASK, pass_context=True)(suggestion_runs_due)
    app.periodic(cron=DUE_CRON, periodic_id="suggestion-runs-due")(due_runs)
    events.install()  # the API's shapes for events emitted by the jobs
    tidy = app.task(name=housekeeping.TASK, queue=SCHEDULE_QUEUE, queueing_lock=housekeeping.TASK,
                    pass_context=True)(clean_up)
    app.periodic(cron=housekeeping.CRON, periodic_id="housekeeping")(tidy)
    return app


def defer_sync(app: procrastinate.App, integration_id: str) -> bool:
    """Defer a sync of one connection; False when one is already waiting (queueing lock)."""
    try:
        app.configure_task(SYNC_TASK, queueing_lock=integration_id,
                           lock=integration_id).defer(integration_id=integration_id)
    except pq_errors.AlreadyEnqueued:
        return False
    return True


def dispatch_queued(app: procrastinate.App, db: Database) -> list[str]:
    """Defer a job for every connection that has a queued run; the ids newly deferred."""
    with db.read() as session:
        ids = session.scalars(select(models.SyncRun.integration_id).where(
            models.SyncRun.status == "queued").distinct()).all()
    return [i for i in sorted(ids) if defer_sync(app, i)]


def defer_write_backs(app: procrastinate.App) -> bool:
    """Defer the write-back task; False when one is already waiting (queueing lock)."""
    try:
        app.configure_task(WRITE_BACK_TASK).defer()
    except pq_errors.AlreadyEnqueued:
        return False
    return True


def defer_emails(app: procrastinate.App) -> bool:
    """Defer the email task; False when one is already waiting (queueing lock)."""
    try:
        app.configure_task(EMAIL_TASK).defer()
    except pq_errors.AlreadyEnqueued:
        return False
    return True


def defer_events(app: procrastinate.App, *, in_seconds: float = 0.0) -> bool:
    """Defer the delivery task (after ``in_seconds``); False when one is already waiting.
    A wake and a later retry wait under two queueing locks: a retry scheduled for later
    never makes a new event wait for it."""
    later = in_seconds > 0
    try:
        task = app.configure_task(
            events.TASK, queueing_lock=f"{events.TASK}:{'later' if later else 'now'}",
            schedule_in={"seconds": in_seconds} if later else None)
        task.defer()
    except pq_errors.AlreadyEnqueued:
        return False
    return True


def dispatch_suggestion_runs(app: procrastinate.App, db: Database) -> list[str]:
    """Defer a job for every claimable suggestion run (queued, or its worker died); one
    waiting job per run (queueing lock), one running job per partner (lock)."""
    with db.read() as session:
        partner_of = dict(session.execute(select(
            models.SuggestionRun.id, models.SuggestionRun.partner_id).where(
            models.SuggestionRun.id.in_(refresh_runs.claimable_ids(db)))).all())
    deferred = []
    for run_id, partner_id in sorted(partner_of.items()):
        try:
            app.configure_task(SUGGESTIONS_TASK, queueing_lock=f"suggestions:{run_id}",
                               lock=f"suggestions:{partner_id}").defer(run_id=run_id)
        except pq_errors.AlreadyEnqueued:
            continue
        deferred.append(run_id)
    return deferred


def _defer_events_for(db: Database) -> None:
    """The worker's outbox waker: a job's change that emitted defers the delivery task."""
    if not db.is_sqlite:
        defer_events(deferrer(db))


_deferrers: dict[str, procrastinate.App] = {}


def deferrer(db: Database) -> procrastinate.App:
    """The process's app for deferring from synchronous code (web requests), opened once."""
    url = db.url.render_as_string(hide_password=False)
    if url not in _deferrers:
        _deferrers[url] = make_app(url, min_size=1, max_size=4).open()
    return _deferrers[url]


# the tasks ---------------------------------------------------------------------------
def sync_integration(context: procrastinate.JobContext, integration_id: str) -> str | None:
    """Run the connection's queued run (or a new one on a retry); raises Transient failures
    so that Procrastinate retries them with back-off."""
    rt: Runtime = context.additional_context["sync"]
    with rt.db.read() as session:
        integ = session.get(models.Integration, integration_id)
        if integ is None or integ.status != "connected":
            return None  # disconnected or needing reconnection meanwhile: nothing to retry
    attempts = context.job.attempts if context.job else 0
    # The queued run as it is (a webhook's targeted run stays targeted), else a new one.
    sync.ensure_queued(rt.db, integration_id=integration_id,
                       trigger="retry" if attempts else "schedule")
    run_id = sync.claim_next(rt.db, integration_id=integration_id)
    if run_id is None:
        raise Busy(f"integration {integration_id} has a run in progress")
    error = sync.execute(rt.db, run_id, rt.connector_for, interval=rt.interval)
    if isinstance(error, base.Transient):
        raise error
    return run_id


def queue_due_syncs(context: procrastinate.JobContext, timestamp: int) -> list[str]:
    """The periodic task: a queued run for each due connection, then a job for each."""
    rt: Runtime = context.additional_context["sync"]
    sync.queue_due(rt.db)
    return dispatch_queued(context.app, rt.db)


async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """A worker killed mid-job leaves its job ``doing`` and holding its lock: retry it."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs():
        log.warning("retrying job %s of a stopped worker", job.id)
        await manager.retry_job(job)


def write_backs(context: procrastinate.JobContext) -> list[str]:
    """Send every due write-back once (``services.books.write_back``); then defer the sync
    runs their read-backs queued."""
    rt: Runtime = context.additional_context["sync"]
    done = write_back.run_due(rt.db, rt.connector_for,
                              retry_base_seconds=rt.retry_base_seconds)
    dispatch_queued(context.app, rt.db)
    return done


def write_backs_due(context: procrastinate.JobContext, timestamp: int) -> bool:
    """The periodic task: defer the write-back task when any write-back is due."""
    rt: Runtime = context.additional_context["sync"]
    return bool(write_back.due_ids(rt.db, limit=1)) and defer_write_backs(context.app)


def send_emails(context: procrastinate.JobContext) -> list[str]:
    """Send every due memo email once (D2, ``services.documents.delivery_job``)."""
    rt: Runtime = context.additional_context["sync"]
    return delivery_job.run_due(rt.db, base_seconds=rt.retry_base_seconds)


def emails_due(context: procrastinate.JobContext, timestamp: int) -> bool:
    """The periodic task: defer the email task when any delivery is due."""
    rt: Runtime = context.additional_context["sync"]
    return bool(delivery_job.due_ids(rt.db, limit=1)) and defer_emails(context.app)


def deliver_events(context: procrastinate.JobContext) -> int:
    """Deliver every due event (D4); then, when retries fall due within a minute, defer
    this task again for then (the queueing lock frees as this job ends: deferred after)."""
    rt: Runtime = context.additional_context["sync"]
    made = events.deliver_due(rt.db, retry_base_seconds=rt.retry_base_seconds)
    wait = events.soon(rt.db)
    if wait is not None:
        defer_events(context.app, in_seconds=max(wait, 0.5))
    return made


def deliver_events_due(context: procrastinate.JobContext, timestamp: int) -> bool:
    """The periodic sweep (D5: a change that commits always sends its events, even when
    the wake after its commit was lost): defer the delivery task when any is due soon."""
    rt: Runtime = context.additional_context["sync"]
    wait = events.soon(rt.db)
    return wait is not None and defer_events(context.app, in_seconds=wait)


def refresh_suggestions(context: procrastinate.JobContext, run_id: str) -> str | None:
    """Claim the suggestion run and execute it (``services.suggesting.refresh_runs``); its
    status, or None when it was not claimable (done, or another worker's)."""
    rt: Runtime = context.additional_context["sync"]
    claimed = refresh_runs.claim(rt.db, run_id)
    if claimed is None:
        return None
    return refresh_runs.execute(rt.db, run_id, claimed).status


def suggestion_runs_due(context: procrastinate.JobContext, timestamp: int) -> list[str]:
    """The periodic sweep: a job for each claimable suggestion run (a wake after the
    request's commit that was lost; a run whose worker died)."""
    rt: Runtime = context.additional_context["sync"]
    return dispatch_suggestion_runs(context.app, rt.db)


def clean_up(context: procrastinate.JobContext, timestamp: int) -> dict[str, int]:
    """The periodic task of ``jobs.housekeeping``."""
    rt: Runtime = context.additional_context["sync"]
    return housekeeping.run(rt.db)


def run_worker(url: str, runtime: Runtime, *, concurrency: int = 2, **options: Any) -> None:
    """``creditdesk worker`` on PostgreSQL: runs until SIGINT/SIGTERM."""
    events.install(waker=_defer_events_for)
    make_app(url).run_worker(additional_context={"sync": runtime}, concurrency=concurrency,
                             **options)
