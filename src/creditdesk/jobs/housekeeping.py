"""Periodic clean-up: expired dashboard and portal sessions, spent sign-in counters,
Idempotency-Key records older than 24 hours (E2), and outbound events older than 30 days
with nothing pending (D4).

Nothing depends on it for correctness (an expired session is refused when it is read, a
counter whose window passed restarts at its next claim, an expired key is deleted when it
is used again); it keeps the tables small. On
PostgreSQL it is a Procrastinate periodic task (``jobs.queue``); on SQLite the in-process
runner (``jobs.sync``) calls ``Every.run_if_due`` on its ticks.
"""

from __future__ import annotations

import logging
import time

from creditdesk.db.engine import Database
from creditdesk.services.access import sign_in, web_sessions
from creditdesk.services.common import idempotency
from creditdesk.services.events import event_log

log = logging.getLogger("creditdesk.jobs")

TASK = "creditdesk.housekeeping"
CRON = "*/15 * * * *"
SECONDS = 15 * 60


def run(db: Database) -> dict[str, int]:
    """Delete what has expired; how many of each."""
    return {"sessions": web_sessions.delete_expired(db),
            "sign_in_counters": sign_in.delete_stale(db),
            "idempotency_records": idempotency.purge_expired(db),
            "events": event_log.purge_old(db)}


class Every:
    """``run`` at most once per ``seconds``, for loops that tick more often."""

    def __init__(self, seconds: float = SECONDS) -> None:
        self.seconds, self.last = seconds, float("-inf")

    def run_if_due(self, db: Database) -> None:
        if time.monotonic() - self.last < self.seconds:
            return
        self.last = time.monotonic()
        try:
            run(db)
        except Exception:  # a clean-up must never stop the runner that hosts it
            log.exception("housekeeping failed; the next tick tries again")
