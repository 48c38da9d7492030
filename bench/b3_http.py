"""B3: the HTTP API under load: concurrent clients applying credit through /api/v1.

A real ``creditdesk serve --workers N`` (default 2, one per core) runs on PostgreSQL. Each
of 16 client threads (one ``httpx.Client`` each, keep-alive) applies its own customer's
issued memos to that customer's open invoices, ``POST /api/v1/credit-memos/{id}/applications``,
one request at a time; every answer must be 201. Baseline: ``GET /healthz`` (no database)
under the same 16-client concurrency, in alternating rounds with the applications.
Figures: throughput, p50/p99 latency and their ratios to the baseline, and the server
processes' CPU time per request (what bounds throughput on 2 cores). Target: p99 < 50 ms.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from bench import common, seed
from bench.server import Server

DB_NAME = "creditdesk_bench_http"
ROUNDS = 2
WARMUP = 5


def _load(clients: list[httpx.Client], work: list[list], send: Callable) -> tuple[list, float]:
    """Every client sends its work items one after another, all clients at once."""
    latencies: list[list[float]] = [[] for _ in clients]
    failures: list[str] = []
    start = threading.Barrier(len(clients) + 1)

    def client(k: int) -> None:
        start.wait()
        for item in work[k]:
            t0 = time.perf_counter()
            r = send(clients[k], item)
            latencies[k].append(time.perf_counter() - t0)
            if r.status_code not in (200, 201):
                failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(clients))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    return [x for per in latencies for x in per], wall


def _cpu(srv: Server) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in srv.processes())


def _healthz(c: httpx.Client, _item: object) -> httpx.Response:
    return c.get("/healthz")


def _apply(c: httpx.Client, pair: seed.Pair) -> httpx.Response:
    return c.post(f"/api/v1/credit-memos/{pair.memo_id}/applications",
                  json={"invoice_id": pair.invoice_id, "amount": "60.00"})


def run(opts) -> dict:
    n_clients = opts.clients
    per_client = opts.n or (30 if opts.quick else 250)
    if not common.pg_available():
        common.say("B3: skipped (no PostgreSQL)")
        return {}
    url = common.pg_recreate(DB_NAME)
    db = common.migrated(url)
    try:
        actor, api_key = common.new_partner(db)
        cids = seed.customers(db, actor.partner_id, n_clients)
        pairs = seed.pairs(db, actor.partner_id, cids, n_clients * (per_client + WARMUP))
        db.dispose()
        mine = [[p for p in pairs if p.customer_id == cid] for cid in cids]
        with common.scratch_dir("b3") as workdir, Server(url, opts.workers, workdir) as srv:
            clients = [httpx.Client(base_url=srv.base_url, timeout=60,
                                    headers={"Authorization": f"Bearer {api_key}"})
                       for _ in range(n_clients)]
            _load(clients, [m[:WARMUP] for m in mine], _apply)
            _load(clients, [[None] * WARMUP for _ in clients], _healthz)
            work = [m[WARMUP:] for m in mine]
            step = -(-per_client // ROUNDS)
            lat: dict[str, list[float]] = {"healthz": [], "apply": []}
            wall = {"healthz": 0.0, "apply": 0.0}
            cpu = {"healthz": 0.0, "apply": 0.0}  # server processes' CPU seconds
            for r in range(ROUNDS):
                chunk = [w[r * step:(r + 1) * step] for w in work]
                for name in (("healthz", "apply") if r % 2 == 0 else ("apply", "healthz")):
                    items = chunk if name == "apply" else [[None] * len(c) for c in chunk]
                    cpu0 = _cpu(srv)
                    got, secs = _load(clients, items, _apply if name == "apply" else _healthz)
                    cpu[name] += _cpu(srv) - cpu0
                    lat[name] += got
                    wall[name] += secs
            rss = srv.rss_mb()
            for c in clients:
                c.close()
    finally:
        db.dispose()
        common.pg_drop(DB_NAME)
    out = {"quick": opts.quick, "clients": n_clients, "workers": opts.workers,
           "requests_per_client": per_client, "database": "postgresql", "server_rss": rss}
    for name in ("healthz", "apply"):
        out[name] = {**common.latency_summary(lat[name]),
                     "throughput_per_s": round(len(lat[name]) / wall[name], 1),
                     "server_cpu_ms_per_request": round(cpu[name] / len(lat[name]) * 1e3, 2)}
    a, h = out["apply"], out["healthz"]
    out["ratios_to_healthz"] = {k: common.ratio(a[k], h[k]) for k in ("p50_ms", "p99_ms")}
    out["ratios_to_healthz"]["throughput"] = common.ratio(a["throughput_per_s"],
                                                          h["throughput_per_s"])
    out["target"] = "apply p99 < 50 ms"
    out["met"] = a["p99_ms"] < 50
    common.say(f"B3 {n_clients} clients, {opts.workers} workers: GET /healthz "
               f"{h['throughput_per_s']:.0f}/s p50 {h['p50_ms']:.1f} ms p99 {h['p99_ms']:.1f} ms")
    common.say(f"B3 apply credit: {a['throughput_per_s']:.0f}/s p50 {a['p50_ms']:.1f} ms "
               f"p99 {a['p99_ms']:.1f} ms, server CPU {a['server_cpu_ms_per_request']:.1f} ms "
               f"a request (p50 {out['ratios_to_healthz']['p50_ms']:.1f}x, "
               f"p99 {out['ratios_to_healthz']['p99_ms']:.1f}x /healthz; target p99 < 50 ms) "
               f"{common.verdict(out['met'])}; server RSS {rss['total_mb']:.0f} MB "
               f"({rss['processes']} processes)")
    common.write_result("b3_http", out, dev=common.is_dev(opts))
    return out
