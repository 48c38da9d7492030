"""The clean-up of expired sessions and spent sign-in counters (E4, E5): a Procrastinate
periodic task on PostgreSQL, a tick of the in-process runner on SQLite."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.jobs import housekeeping, queue
from creditdesk.services.access import partners, sign_in, web_sessions
from creditdesk.services.common.context import clock


def expired_leftovers(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A session and two throttle counters, then the clock past both expiries."""
    partners.create_partner(db, name="Acme", admin_email="a@acme.test",
                            admin_password="correct horse")
    user = sign_in.sign_in(db, email="a@acme.test", password="correct horse", address="x")
    web_sessions.start(db, kind="dashboard", partner_id=user.actor.partner_id,
                       user_id=user.user_id)
    with pytest.raises(errors.Unauthenticated):
        sign_in.sign_in(db, email="a@acme.test", password="wrong guess", address="x")
    later = clock.now() + timedelta(hours=13)
    monkeypatch.setattr(clock, "now", lambda: later)


def left(db: Database) -> tuple[int, int]:
    with db.read() as s:
        return (s.scalar(select(func.count()).select_from(models.WebSession)),
                s.scalar(select(func.count()).select_from(models.SignInCounter)))


def test_e4_housekeeping_is_a_periodic_procrastinate_task(pg_db, monkeypatch) -> None:
    expired_leftovers(pg_db, monkeypatch)
    url = pg_db.url.render_as_string(hide_password=False)
    app = queue.make_app(url)
    assert {p.task.name: p.cron for p in app.periodic_registry.periodic_tasks.values()}[
        housekeeping.TASK] == housekeeping.CRON
    with app.open(), contextlib.suppress(queue.pq_errors.AlreadyEnqueued):
        app.configure_task(housekeeping.TASK).defer(timestamp=int(time.time()))
    queue.make_app(url).run_worker(
        queues=[queue.SCHEDULE_QUEUE], wait=False, listen_notify=False,
        install_signal_handlers=False, additional_context={"sync": queue.Runtime(pg_db, None)})
    assert left(pg_db) == (0, 0)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_e4_housekeeping_runs_on_the_in_process_ticks_at_most_every_interval(
        db, monkeypatch) -> None:
    expired_leftovers(db, monkeypatch)
    tidy = housekeeping.Every(seconds=3600)
    tidy.run_if_due(db)
    assert left(db) == (0, 0)
    calls: list[Database] = []  # within the interval, the next tick does not run it
    monkeypatch.setattr(housekeeping, "run", lambda d: calls.append(d))
    tidy.run_if_due(db)
    assert calls == []
