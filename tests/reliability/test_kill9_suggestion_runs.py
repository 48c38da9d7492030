"""Issue 16 item 6 for real, on PostgreSQL: a worker SIGKILLed in the middle of a partner-wide
refresh of suggestions leaves the batches it committed (and their progress) and nothing
else; once its heartbeat is stale (moved back here rather than waited for), the sweep hands
the run to a Procrastinate worker, which resumes after the last committed batch — every
customer refreshed once, the counts exact."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from creditdesk.db.engine import Database
from creditdesk.jobs import queue
from creditdesk.services.suggesting import refresh_runs, suggestions
from tests.jobs.test_queue import drain, jobs
from tests.services.test_suggestion_runs import _stale, partner_with_duplicates

pytestmark = [pytest.mark.reliability, pytest.mark.postgres_only, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("refresh_and_die.py")
CUSTOMERS, BATCH, KILLED_AFTER = 7, 2, 2


def _nothing() -> object:
    raise AssertionError("a suggestion run calls no accounting system")


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_kill_9_mid_run_then_a_worker_resumes_after_the_last_committed_batch(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _, actor = partner_with_duplicates(db, "Kill Nine Suggestions", CUSTOMERS)
    run, _ = refresh_runs.start(db, actor=actor)
    url = db.url.render_as_string(hide_password=False)

    died = subprocess.run([sys.executable, str(SCRIPT), url, str(BATCH), str(KILLED_AFTER)],
                          capture_output=True, text=True, timeout=120)
    assert died.returncode == -9, died.stderr[-3000:]
    mid = refresh_runs.get_run(db, actor=actor, run_id=run.id)
    assert (mid.status, mid.customers_done, mid.customers_total, mid.created) == (
        "running", BATCH * KILLED_AFTER, CUSTOMERS, BATCH * KILLED_AFTER)
    assert len(suggestions.list_suggestions(db, actor=actor).data) == BATCH * KILLED_AFTER

    app = queue.make_app(url)
    with app.open():
        assert queue.dispatch_suggestion_runs(app, db) == []  # not stale yet: maybe alive
        _stale(db, run.id)
        assert queue.dispatch_suggestion_runs(app, db) == [run.id]
    monkeypatch.setattr(suggestions, "BATCH", BATCH)
    started = time.monotonic()
    drain(db, _nothing, [queue.SUGGESTIONS_QUEUE])
    assert time.monotonic() - started < 60
    done = refresh_runs.get_run(db, actor=actor, run_id=run.id)
    assert (done.status, done.customers_done, done.customers_total, done.created,
            done.updated, done.open) == ("done", CUSTOMERS, CUSTOMERS, CUSTOMERS, 0, CUSTOMERS)
    assert len(suggestions.list_suggestions(db, actor=actor).data) == CUSTOMERS
    assert [j["status"] for j in jobs(db, queue.SUGGESTIONS_TASK)] == ["succeeded"]
