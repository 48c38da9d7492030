"""Sync jobs: the functions every runner calls, and the in-process runner used inside
``creditdesk serve`` (and by ``creditdesk worker``, any number of them: the queueing lock
is a unique index, so two workers never run one connection at once)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import httpx

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors import settings as provider_settings
from creditdesk.db.engine import Database
from creditdesk.services import sync

log = logging.getLogger("creditdesk.jobs")

ClientFactory = Callable[[], httpx.Client]


def default_client() -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))


def connector_factory(client: httpx.Client,
                      settings: provider_settings.ProviderSettings | None = None,
                      **options: object) -> sync.ConnectorFactory:
    cfg = settings or provider_settings.load()

    def build(snap: sync.Snapshot, save: base.TokenSaver) -> base.Connector:
        if snap.provider == qbo.PROVIDER:
            return qbo.QuickBooksOnline(client, cfg, realm_id=snap.realm_id or "",
                                        tokens=snap.tokens, save_tokens=save,
                                        region=snap.region or "us", **options)  # type: ignore[arg-type]
        raise base.ConnectorError(f"syncing {snap.provider} is not available yet")
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


current_runner: InProcessRunner | None = None  # the one started by ``creditdesk serve``


def wake(app_state: object) -> None:
    """Tell the runner there is work now (a queued run) rather than at its next tick."""
    runner = getattr(app_state, "sync_runner", None) or current_runner
    if runner is not None:
        runner.wake()


class InProcessRunner:
    """A daemon thread that runs ``run_pending`` every ``tick`` seconds (SQLite default)."""

    def __init__(self, db: Database, *, tick: float = 5.0,
                 client_factory: ClientFactory = default_client) -> None:
        self.db, self.tick, self.client_factory = db, tick, client_factory
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="creditdesk-sync", daemon=True)

    def start(self) -> None:
        global current_runner
        current_runner = self
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
                    run_pending(self.db, build)
                except Exception:
                    log.exception("sync runner tick failed")
                self._wake.wait(self.tick)
                self._wake.clear()
