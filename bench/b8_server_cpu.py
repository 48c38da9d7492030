"""B8: the server's CPU per request, as a ratio to a bare Starlette app.

One ``creditdesk serve --workers 1`` on SQLite (one process, the in-process sync runner off)
and, in the same run, the bare app of ``bench/bare_app.py`` under the same uvicorn with the
same options. One client (``httpx.Client``, keep-alive) sends the requests one at a time;
the figure is the server process's CPU time over many requests, divided by their number, so
neither the client nor the network counts. CPU time is read from ``/proc/<pid>/task/*/schedstat``
(nanoseconds; psutil's user + system time, in 10 ms ticks, where that is missing). The kinds
take turns in rounds, and each kind's figure is its **least** round: load from other work on
the shared machine (cache misses, context switches) only ever adds CPU time to a round, so
the least one is the closest to the cost of the code itself (as ``timeit`` advises); the
mean over all rounds is recorded too.

Kinds: the bare app's one JSON route (the floor); ``GET /healthz`` (CreditDesk's middleware
and routing, no database); ``GET /api/v1/invoices/{id}`` and ``GET /api/v1/credit-memos/{id}``
(one document read); ``POST /api/v1/credit-memos/{id}/applications`` (one application).
Targets, as ratios to the bare app: /healthz <= 2x, a one-document read <= 8x, an
application <= 12x.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench import common, seed
from bench.server import Server

ROOT = common.RESULTS.parent.parent
ROUNDS = 8
WARMUP = 30
TARGETS = {"healthz": 2.0, "invoice": 8.0, "memo": 8.0, "apply": 12.0}
LABELS = {"bare": "bare Starlette GET /healthz", "healthz": "GET /healthz",
          "invoice": "GET /api/v1/invoices/{id}", "memo": "GET /api/v1/credit-memos/{id}",
          "apply": "POST /api/v1/credit-memos/{id}/applications"}


def _cpu(srv: Server) -> float:
    """CPU seconds of the server's processes and all their threads so far."""
    total = 0.0
    for proc in srv.processes():
        try:
            tasks = list(Path(f"/proc/{proc.pid}/task").iterdir())
            total += sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
        except (OSError, ValueError, IndexError):  # no procfs, or a thread just ended
            total += sum(proc.cpu_times()[:2])
    return total


def run(opts) -> dict:
    scale = opts.n or (300 if opts.quick else 1_000)
    counts = {"bare": 4 * scale, "healthz": 4 * scale, "invoice": 2 * scale,
              "memo": 2 * scale, "apply": scale}
    with common.scratch_dir("b8") as workdir:
        url = common.sqlite_url(workdir, "b8")
        db = common.migrated(url)
        actor, api_key = common.new_partner(db)
        cids = seed.customers(db, actor.partner_id, 10)
        reads = seed.pairs(db, actor.partner_id, cids, 200)
        applies = seed.pairs(db, actor.partner_id, cids, counts["apply"] + WARMUP)
        db.dispose()
        # An inherited PYTHONPATH goes first (e.g. another checkout's src, to measure it).
        path = [p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p]
        env = {"CREDITDESK_SYNC_IN_PROCESS": "0", "PYTHONPATH": os.pathsep.join(path)}
        bare_cmd = [sys.executable, "-m", "bench.bare_app", "{port}"]
        with Server(url, 1, workdir, env=env) as srv, \
                Server(url, 1, workdir, command=bare_cmd, env=env) as bare:
            auth = {"Authorization": f"Bearer {api_key}"}
            mine = httpx.Client(base_url=srv.base_url, timeout=60, headers=auth)
            floor = httpx.Client(base_url=bare.base_url, timeout=60)
            todo = iter(applies)

            def apply(_i: int) -> httpx.Response:
                p = next(todo)
                return mine.post(f"/api/v1/credit-memos/{p.memo_id}/applications",
                                 json={"invoice_id": p.invoice_id, "amount": "60.00"})

            send: dict[str, tuple[Server, Callable[[int], httpx.Response]]] = {
                "bare": (bare, lambda _i: floor.get("/healthz")),
                "healthz": (srv, lambda _i: mine.get("/healthz")),
                "invoice": (srv, lambda i: mine.get(
                    f"/api/v1/invoices/{reads[i % len(reads)].invoice_id}")),
                "memo": (srv, lambda i: mine.get(
                    f"/api/v1/credit-memos/{reads[i % len(reads)].memo_id}")),
                "apply": (srv, apply)}
            for kind, (_srv, fn) in send.items():
                for i in range(WARMUP):
                    assert fn(i).status_code in (200, 201), kind
            rounds: dict[str, list[float]] = {kind: [] for kind in send}  # CPU s a request
            cpu = dict.fromkeys(send, 0.0)
            wall = dict.fromkeys(send, 0.0)
            for r in range(ROUNDS):
                for kind, (server, fn) in send.items():
                    k = counts[kind] // ROUNDS
                    c0, t0 = _cpu(server), time.perf_counter()
                    for i in range(r * k, (r + 1) * k):
                        got = fn(i)
                        if got.status_code not in (200, 201):
                            raise RuntimeError(f"{kind}: {got.status_code} {got.text[:200]}")
                    wall[kind] += time.perf_counter() - t0
                    used = _cpu(server) - c0
                    cpu[kind] += used
                    rounds[kind].append(used / k)
            mine.close()
            floor.close()
    done = {kind: counts[kind] // ROUNDS * ROUNDS for kind in send}
    per = {kind: min(rounds[kind]) * 1e3 for kind in send}
    mean = {kind: cpu[kind] / done[kind] * 1e3 for kind in send}
    out: dict = {"quick": opts.quick, "database": "sqlite (WAL, synchronous=FULL)",
                 "server": "one process, keep-alive, one client", "requests": done, "kinds": {}}
    for kind in send:
        row = {"what": LABELS[kind], "server_cpu_ms_per_request": round(per[kind], 4),
               "mean_over_rounds_ms": round(mean[kind], 4),
               "mean_ratio_to_bare": common.ratio(mean[kind], mean["bare"]),
               "wall_ms_per_request": round(wall[kind] / done[kind] * 1e3, 3),
               "ratio_to_bare": common.ratio(per[kind], per["bare"])}
        if kind in TARGETS:
            row["target"] = f"<= {TARGETS[kind]:g}x"
            row["met"] = row["ratio_to_bare"] <= TARGETS[kind]
        out["kinds"][kind] = row
        line = (f"B8 {row['what']:<46} server CPU {row['server_cpu_ms_per_request']:7.3f} ms"
                f"  {row['ratio_to_bare']:6.1f}x bare "
                f"(mean of rounds {row['mean_ratio_to_bare']:.1f}x)")
        if kind in TARGETS:
            line += f" (target <= {TARGETS[kind]:g}x) {common.verdict(row['met'])}"
        common.say(line)
    common.write_result("b8_server_cpu", out, dev=common.is_dev(opts))
    return out
