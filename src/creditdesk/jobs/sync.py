"""Sync and write-back jobs: the functions every runner calls, and the in-process runner
used inside ``creditdesk serve`` and ``creditdesk worker`` on SQLite. On PostgreSQL
``creditdesk worker`` runs them on Procrastinate instead (``jobs.queue``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import httpx

from creditdesk.connectors import base, registry
from creditdesk.connectors import settings as provider_settings
from creditdesk.db.engine import Database
from creditdesk.jobs import events, housekeeping
from creditdesk.services.books import sync, write_back
from creditdesk.services.documents import delivery_job
from creditdesk.services.suggesting import refresh_runs

log = logging.getLogger("creditdesk.jobs")

ClientFactory = Callable[[], httpx.Client]


default_client = registry.default_client


def connector_factory(client: httpx.Client,
                      settings: provider_settings.ProviderSettings | None = None,
                      **options: object) -> sync.ConnectorFactory:
    cfg = settings or provider_settings.load()

    def build(snap: sync.Snapshot, save: base.TokenSaver) -> base.Connector:
        spec = registry.get(snap.provider)
        if spec is None:
            raise base.ConnectorError(f"syncing {snap.provider} is not available yet")
        return spec.build(client, cfg, realm_id=snap.realm_id, region=snap.region,
                          tokens=snap.tokens, save_tokens=save, **options)
    return build


def run_pending(db: Database, connector_for: sync.ConnectorFactory, *,
                interval: timedelta | None = None, limit: int = 100) -> list[str]:
    """The job: queue what is due, then run claimable runs until none is left."""
    cfg = provider_settings.load()
    every = interval or timedelta(seconds=cfg.sync_interval_seconds)
    sync.queue_due(db)
    done = []
    for _ in range(limit):
        run_id = sync.claim_next(db)
        if run_id is None:
            break
        try:
            sync.execute(db, run_id, connector_for, interval=every)
        except Exception:  # recorded on the run by execute; keep the runner alive
            log.exception("sync run %s failed unexpectedly", run_id)
        done.append(run_id)
    return done


def write_back_due(db: Database, connector_for: sync.ConnectorFactory) -> list[str]:
    """The write-back job (Y11-Y13): every due write-back attempted once."""
    cfg = provider_settings.load()
    return write_back.run_due(db, connector_for, retry_base_seconds=cfg.retry_base_seconds)


current_runner: InProcessRunner | None = None  # the one started by ``creditdesk serve``


def wake(app_state: object) -> None:
    """Hand queued runs to the runner now rather than at its next tick: the one path of
    "Sync now", webhooks and new connections. On PostgreSQL that defers a Procrastinate job
    per connection (``jobs.queue``); on SQLite it wakes the in-process runner."""
    db = getattr(app_state, "db", None)
    if isinstance(db, Database):  # a request's run may wait for its answer to commit (E2)
        db.after_commit(lambda: _wake_now(app_state, db))
    else:
        _wake_now(app_state, db)


def _wake_now(app_state: object, db: object) -> None:
    if isinstance(db, Database) and not db.is_sqlite:
        from creditdesk.jobs import queue

        try:
            app = queue.deferrer(db)
            queue.dispatch_queued(app, db)
            queue.defer_write_backs(app)
            queue.defer_emails(app)
            queue.defer_events(app)
            queue.dispatch_suggestion_runs(app, db)
        except Exception:  # the work is queued in the database: the periodic task defers it
            log.exception("could not defer the queued jobs; the next tick will")
        return
    runner = getattr(app_state, "sync_runner", None) or current_runner
    if runner is not None:
        runner.wake()


def install_events() -> None:
    """The outbox's renderer and waker for this process (D4, D5)."""
    events.install(waker=_wake_deliveries)


def _wake_deliveries(db: Database) -> None:
    """Hand new deliveries to a worker now: defer the delivery job (PostgreSQL) or wake
    the in-process runner (SQLite)."""
    if not db.is_sqlite:
        from creditdesk.jobs import queue

        queue.defer_events(queue.deferrer(db))
        return
    if current_runner is not None:
        current_runner.wake()


class InProcessRunner:
    """A daemon thread that runs ``write_back_due``, the memo emails (D2), ``run_pending``,
    event deliveries (D4) and partner-wide suggestion refreshes every ``tick`` seconds
    (SQLite default), and ``jobs.housekeeping`` every 15 minutes."""

    def __init__(self, db: Database, *, tick: float = 5.0,
                 client_factory: ClientFactory = default_client) -> None:
        self.db, self.tick, self.client_factory = db, tick, client_factory
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="creditdesk-sync", daemon=True)
        self._housekeeping = housekeeping.Every()

    def start(self) -> None:
        global current_runner
        current_runner = self
        install_events()
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        with self.client_factory() as client:
            build = connector_factory(client)
            while not self._stop.is_set():
                try:
                    write_back_due(self.db, build)
                except Exception:
                    log.exception("write-back tick failed")
                try:
                    delivery_job.run_due(self.db)  # D2: memo emails
                except Exception:
                    log.exception("email tick failed")
                try:
                    run_pending(self.db, build)
                except Exception:
                    log.exception("sync runner tick failed")
                try:
                    events.deliver_due(self.db)
                except Exception:
                    log.exception("event delivery tick failed")
                try:
                    refresh_runs.run_pending(self.db)  # issue 16: partner-wide refreshes
                except Exception:
                    log.exception("suggestion refresh tick failed")
                self._housekeeping.run_if_due(self.db)
                self._wake.wait(self.tick)
                self._wake.clear()
