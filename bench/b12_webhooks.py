"""B12: delivering outbound events (issue 15 item 6, D4/D5), on PostgreSQL and SQLite.

Set-up, not timed: a fresh database with one partner, one webhook endpoint (``["*"]``) at a
local receiver, and N events in the outbox, written by ``services.events.outbox.emit`` in
transactions of 100 (each a ``credit_memo.created`` with a real memo as the API answers it:
~1.5 KB bodies). The receiver runs under uvicorn in a process of its own and answers 500 to
20 % of first attempts (the event ids whose hash says so), 200 otherwise.

Timed: a fresh spawned "worker" process (nothing inherited) running the delivery job
(``jobs.events.deliver_due``: claim 200, send 16 at a time, record) until no delivery is
pending; the failed first attempts come back after ``CREDITDESK_RETRY_BASE_SECONDS`` = 1.
Target: N = 10,000 all delivered in < 60 s. Checked afterwards: every delivery
``succeeded``, N + failures attempts recorded, the receiver saw every event id.

``--quick``: N = 1,000. ``--n``: N. ``--backend``: one only. PostgreSQL database
``creditdesk_bench_webhooks``.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import socket
import time
from typing import Any

from bench import common

PG_DB = "creditdesk_bench_webhooks"
TARGET_S = 60.0
FAIL_SHARE = 0.20
GIVE_UP_S = 300.0


def _fails_first(event_id: str) -> bool:
    return int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16) % 100 < FAIL_SHARE * 100


# --- the receiver's process ----------------------------------------------------------------

def _receiver(port: int) -> None:
    import json

    import uvicorn

    seen: dict[str, int] = {}
    counts = {"requests": 0}

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":  # the counts, asked for at the end
            body = json.dumps({**counts, "ids": len(seen)}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        event_id = json.loads(body)["id"]
        n = seen[event_id] = seen.get(event_id, 0) + 1
        counts["requests"] += 1
        status = 500 if n == 1 and _fails_first(event_id) else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"no"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


# --- set-up ----------------------------------------------------------------------------------

def _seed(url: str, n: int, hook: str) -> None:
    os.environ["CREDITDESK_ALLOW_PRIVATE_URLS"] = "1"
    from creditdesk.jobs import sync as sync_jobs
    from creditdesk.services.credit_memos import memos
    from creditdesk.services.customer_accounts import customers
    from creditdesk.services.events import endpoints, outbox

    sync_jobs.install_events()
    db = common.migrated(url)
    actor, _ = common.new_partner(db)
    endpoints.create_endpoint(db, actor=actor, url=hook, events=["*"])
    cid = customers.create_customer(db, actor=actor, name="Globex", currency="USD").id
    memo = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill",
                             lines=[{"description": "Seats", "quantity": 3,
                                     "unit_price": "40.00"}])
    made = 1  # the memo's own created event
    while made < n:
        with db.write_connection() as conn:
            for _ in range(min(100, n - made)):
                outbox.emit(conn, actor.partner_id, "credit_memo.created", {"credit_memo": memo})
                made += 1
    db.dispose()


# --- the worker's process ----------------------------------------------------------------------

def _worker(url: str, out: Any) -> None:
    os.environ["CREDITDESK_ALLOW_PRIVATE_URLS"] = "1"
    from sqlalchemy import func, select

    from creditdesk.db import models
    from creditdesk.db.engine import Database
    from creditdesk.jobs import events

    db = Database(url)
    started = time.perf_counter()
    made = 0
    while time.perf_counter() - started < GIVE_UP_S:
        made += events.deliver_due(db, retry_base_seconds=1.0)
        with db.read() as s:
            pending = s.scalar(select(func.count()).select_from(models.WebhookDelivery).where(
                models.WebhookDelivery.status == "pending"))
        if not pending:
            break
        time.sleep(0.1)
    out["seconds"] = time.perf_counter() - started
    out["attempts"] = made
    db.dispose()


def _one(backend: str, n: int, scratch: Any) -> dict[str, Any]:
    url = (common.pg_recreate(PG_DB) if backend == "postgres"
           else common.sqlite_url(scratch, "webhooks"))
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        port = _free_port()
        receiver = ctx.Process(target=_receiver, args=(port,), daemon=True)
        receiver.start()
        try:
            _wait_up(port)
            t0 = time.perf_counter()
            _seed(url, n, f"http://127.0.0.1:{port}/hooks")
            common.say(f"  {backend}: {n} events written in {time.perf_counter() - t0:.1f} s")
            out = manager.dict()
            worker = ctx.Process(target=_worker, args=(url, out))
            worker.start()
            worker.join(GIVE_UP_S + 60)
            seconds, attempts = out.get("seconds"), out.get("attempts")
            import httpx

            counts = httpx.get(f"http://127.0.0.1:{port}/stats").json()
            requests, ids = counts["requests"], counts["ids"]
        finally:
            receiver.terminate()
            receiver.join(10)
    from sqlalchemy import func, select

    from creditdesk.db import models
    from creditdesk.db.engine import Database

    db = Database(url)
    with db.read() as s:
        by_status = dict(s.execute(select(models.WebhookDelivery.status, func.count())
                                   .group_by(models.WebhookDelivery.status)).all())
        recorded = s.scalar(select(func.count()).select_from(models.WebhookAttempt))
    db.dispose()
    if backend == "postgres":
        common.pg_drop(PG_DB)
    met = (seconds is not None and seconds < TARGET_S and by_status == {"succeeded": n}
           and ids == n)
    result = {"n": n, "seconds": round(seconds or float("nan"), 2),
              "events_per_second": round(n / seconds, 1) if seconds else None,
              "attempts": attempts, "attempts_recorded": recorded,
              "receiver_requests": requests, "receiver_event_ids": ids,
              "deliveries": by_status, "target_s": TARGET_S, "verdict": common.verdict(met)}
    common.say(f"  {backend}: {n} delivered in {result['seconds']} s "
               f"({result['events_per_second']}/s), {attempts} attempts "
               f"({requests} requests seen), {by_status}: {result['verdict']}")
    return result


def run(opts: Any) -> None:
    n = opts.n or (1_000 if opts.quick else 10_000)
    backends = [opts.backend] if opts.backend else ["postgres", "sqlite"]
    if "postgres" in backends and not common.pg_available():
        common.say("  PostgreSQL not available: skipped")
        backends.remove("postgres")
    results = {}
    with common.scratch_dir("webhooks") as scratch:
        for backend in backends:
            results[backend] = _one(backend, n, scratch)
    path = common.write_result("b12_webhooks", {"results": results}, dev=common.is_dev(opts))
    common.say(f"  written {path}")
