"""Housekeeping: deleting what has expired (Idempotency-Key records after 24 hours, E2).

On PostgreSQL a Procrastinate periodic task runs it hourly (``jobs.queue``); on SQLite the
in-process runner of ``creditdesk serve`` and ``creditdesk worker`` call ``when_due`` on
each tick, which runs it at most once an hour per process.
"""

from __future__ import annotations

import logging
import time

from creditdesk.db.engine import Database
from creditdesk.services import idempotency

log = logging.getLogger("creditdesk.jobs")

EVERY_SECONDS = 3600.0
CRON = "17 * * * *"  # hourly, off the hour


def run(db: Database) -> dict[str, int]:
    """Delete everything expired; how many rows went, per table."""
    purged = {"idempotency_records": idempotency.purge_expired(db)}
    if any(purged.values()):
        log.info("housekeeping purged %s", purged)
    return purged


class Schedule:
    """``run`` at most once per ``every`` seconds, for loops that tick more often."""

    def __init__(self, every: float = EVERY_SECONDS) -> None:
        self.every = every
        self._last: float | None = None

    def when_due(self, db: Database) -> dict[str, int] | None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.every:
            return None
        self._last = now
        try:
            return run(db)
        except Exception:  # the next tick an hour on tries again; the runner keeps going
            log.exception("housekeeping failed")
            return None
