"""Delivering outbound events (D4, D5) through the job system.

On PostgreSQL (Procrastinate): ``creditdesk.deliver_events`` drains every due delivery
(``services.events.delivery``); it is deferred right after a change that emitted commits
(the outbox's waker), and every minute by a periodic sweep when any is due, so an event
whose wake was lost (a crash right after the commit) is still delivered. When deliveries
fall due within the next minute (retries after their back-off), the task defers itself for
that moment. On SQLite the in-process runner calls ``deliver_due`` each tick and is woken
the same way.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from creditdesk.connectors import settings as provider_settings
from creditdesk.db.engine import Database
from creditdesk.services.common.context import clock
from creditdesk.services.events import delivery, outbox
from creditdesk.web.api import event_payloads

log = logging.getLogger("creditdesk.jobs")

TASK = "creditdesk.deliver_events"
DUE_TASK = "creditdesk.deliver_events_due"
SOON = timedelta(seconds=60)  # due this soon: the task defers itself rather than the sweep


def retry_base_seconds() -> float:
    return provider_settings.load().retry_base_seconds


def deliver_due(db: Database, *, retry_base_seconds: float | None = None,
                max_seconds: float = 50.0) -> int:
    """Every due delivery attempted (passes until none is due); the attempts made."""
    base = retry_base_seconds if retry_base_seconds is not None else globals()[
        "retry_base_seconds"]()
    with delivery.client() as client:
        return delivery.run_due(db, client, retry_base_seconds=base, max_seconds=max_seconds)


def soon(db: Database) -> float | None:
    """Seconds until the next pending delivery falls due, if within ``SOON``."""
    at = delivery.next_due_at(db)
    if at is None:
        return None
    wait = (at - clock.now()).total_seconds()
    return max(wait, 0.0) if wait <= SOON.total_seconds() else None


def install(waker: outbox.Waker | None = None) -> None:
    """Install the API's shapes into the outbox, and ``waker`` (every process that runs use
    cases: the app, the workers; ``jobs.sync.install_events``, ``jobs.queue.make_app``)."""
    event_payloads.install()
    if waker is not None:
        outbox.install(waker=waker)
