"""Issue 16, item 6 through the API: POST /suggestions/refresh-runs queues a refresh of every
customer's suggestions on the job system (202); GET …/refresh-runs/{id} follows its progress;
another partner's run is answered as missing (P4)."""

from __future__ import annotations

from creditdesk.services.suggesting import refresh_runs
from tests.api.conftest import API, ok, problem
from tests.services.test_suggestions import duplicated_plan

FIELDS = {"id", "status", "requested_by", "customers_total", "customers_done", "percent",
          "created", "updated", "removed", "open", "error", "queued_at", "started_at",
          "finished_at"}


def test_a_refresh_run_is_queued_then_followed_to_done(client, other_client, db, actor):
    duplicated_plan(db, actor)
    duplicated_plan(db, actor)
    run = ok(client.post(f"{API}/suggestions/refresh-runs"), 202)
    assert set(run) == FIELDS
    assert (run["status"], run["customers_total"], run["customers_done"], run["percent"]) == (
        "queued", None, 0, 0)
    assert ok(client.post(f"{API}/suggestions/refresh-runs"), 202)["id"] == run["id"]
    assert ok(client.get(f"{API}/suggestions"))["data"] == []  # not in the request
    refresh_runs.run_pending(db)  # the worker
    done = ok(client.get(f"{API}/suggestions/refresh-runs/{run['id']}"))
    assert (done["status"], done["customers_total"], done["customers_done"], done["percent"],
            done["created"], done["open"], done["error"]) == ("done", 2, 2, 100, 2, 2, None)
    assert done["started_at"] and done["finished_at"]
    assert len(ok(client.get(f"{API}/suggestions"))["data"]) == 2
    page = ok(client.get(f"{API}/suggestions/refresh-runs"))
    assert [r["id"] for r in page["data"]] == [run["id"]] and page["next_cursor"] is None
    problem(other_client.get(f"{API}/suggestions/refresh-runs/{run['id']}"), 404, "not_found")
    assert ok(other_client.get(f"{API}/suggestions/refresh-runs"))["data"] == []


def test_an_unknown_run_is_404(client):
    problem(client.get(f"{API}/suggestions/refresh-runs/srun_nope"), 404, "not_found")
