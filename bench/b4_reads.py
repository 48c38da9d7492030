"""B4: reads at scale: 1,000,000 memos over 10,000 customers on PostgreSQL.

Memos are bulk-loaded with COPY (40% issued, 20% partially applied, 30% applied, 5% draft,
5% void, customers drawn at random), then read one request at a time:
- ``services.customers.credit_summary`` in process, baseline a ``SELECT 1`` round trip on
  the same engine; target p99 < 5 ms;
- ``GET /customers/{id}/credit-summary`` (target p99 < 5 ms) and filtered or searched
  ``GET /credit-memos`` pages (target p99 < 20 ms) on ``creditdesk serve --workers N``,
  baseline ``GET /healthz``;
- the server's resident memory afterwards (target < 300 MB).
Each list query's plan is checked with EXPLAIN ANALYZE (``--explain`` prints it).
``--keep`` keeps the loaded database for the next run (migrations are applied on reuse).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

import httpx
import psycopg
from sqlalchemy import event, func, select, text

from bench import common, seed
from bench.server import Server
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.credit_memos import memos
from creditdesk.services.customer_accounts import customers

DB_NAME = "creditdesk_bench_reads"
N_CUSTOMERS = 10_000


def _interleaved(calls: dict[str, Callable[[int], object]], k: int) -> dict[str, dict[str, float]]:
    """Latency summaries of ``k`` round-robin calls of each (common.interleaved_samples)."""
    samples = common.interleaved_samples(calls, k)
    return {name: common.latency_summary(s) for name, s in samples.items()}


def _loaded(n_memos: int, keep: bool) -> tuple[str, str]:
    """The bench database with its memos; returns (url, partner_id)."""
    url = common.pg_url(DB_NAME)
    if keep:
        try:
            db = common.migrated(url)
            with db.read() as s:
                count = s.scalar(select(func.count()).select_from(models.CreditMemo))
                partner = s.scalar(select(models.Partner.id))
            db.dispose()
            if count == n_memos and partner:
                common.say(f"B4 reusing {DB_NAME} ({count:,} memos)")
                return url, partner
        except Exception:
            pass
    url = common.pg_recreate(DB_NAME)
    db = common.migrated(url)
    actor, _ = common.new_partner(db)
    t0 = time.perf_counter()
    cids = seed.customers(db, actor.partner_id, N_CUSTOMERS)
    db.dispose()
    counts = seed.copy_memos(common.pg_dsn(DB_NAME), actor.partner_id, cids, n_memos)
    common.say(f"B4 loaded {n_memos:,} memos over {N_CUSTOMERS:,} customers in "
               f"{time.perf_counter() - t0:.0f} s: {counts}")
    return url, actor.partner_id


def _explain(db: Database, call: Callable[[], object], show: bool) -> dict:
    """EXPLAIN ANALYZE of the credit_memos query a service ``call`` runs."""
    seen: list[tuple[str, object]] = []

    def grab(_conn, _cur, statement, params, _ctx, _many) -> None:
        seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    statement, params = next((s, p) for s, p in seen if "credit_memos" in s)
    with db.engine.connect() as conn:
        cur = conn.connection.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
        plan = cur.fetchone()[0][0]
        if show:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            common.say("\n".join(r[0] for r in cur.fetchall()))
    root = plan["Plan"]
    nodes, stack = [], [root]
    while stack:
        node = stack.pop()
        nodes.append(node.get("Index Name") or node["Node Type"])
        stack.extend(node.get("Plans", []))
    return {"execution_ms": round(plan["Execution Time"], 3), "plan": nodes}


def _list_cases(rnd: random.Random, cids: list[str], n_memos: int) -> dict[str, Callable]:
    """The list requests measured: query parameters for request i."""
    def pick(i: int) -> str:
        return cids[(i * 7919) % len(cids)]

    def prefix(i: int) -> str:
        return f"CM-{rnd.randrange(1000, min(9999, n_memos))}"

    return {
        "status=issued": lambda i: {"status": "issued"},
        "status=applied,void": lambda i: {"status": ["applied", "void"]},
        "has_remaining=true": lambda i: {"has_remaining": "true"},
        "customer_id": lambda i: {"customer_id": pick(i)},
        "customer_id+has_remaining": lambda i: {"customer_id": pick(i), "has_remaining": "true"},
        "customer_id+status=partially_applied": lambda i: {"customer_id": pick(i),
                                                           "status": "partially_applied"},
        "q=number prefix": lambda i: {"q": prefix(i)},
        "status=issued+q": lambda i: {"status": "issued", "q": prefix(i)},
    }


def _service_filters(params: dict) -> dict:
    out = dict(params)
    if "status" in out:
        out["statuses"] = out.pop("status")
        if isinstance(out["statuses"], str):
            out["statuses"] = [out["statuses"]]
    if "has_remaining" in out:
        out["has_remaining"] = out["has_remaining"] == "true"
    return out


def run(opts) -> dict:
    n_memos = opts.n or (100_000 if opts.quick else 1_000_000)
    k = 200 if opts.quick else 500  # requests of each kind
    if not common.pg_available():
        common.say("B4: skipped (no PostgreSQL)")
        return {}
    url, partner_id = _loaded(n_memos, opts.keep)
    db = Database(url)
    out: dict = {"quick": opts.quick, "memos": n_memos, "customers": N_CUSTOMERS,
                 "requests_per_case": k, "workers": opts.workers}
    try:
        with psycopg.connect(common.pg_dsn(DB_NAME)) as conn:
            api_key = _api_key(conn, partner_id)
            cids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id")]
        from creditdesk.services.common.context import Actor
        actor = Actor(partner_id, "user:bench")
        rnd = random.Random(11)

        def select1(_i: int) -> None:
            with db.engine.connect() as c:
                c.execute(text("SELECT 1"))

        def summary(i: int) -> None:
            customers.credit_summary(db, actor=actor, customer_id=rnd.choice(cids))

        got = _interleaved({"select_1": select1, "credit_summary": summary}, k)
        base, svc = got["select_1"], got["credit_summary"]
        out["service"] = {"select_1": base, "credit_summary": {
            **svc, "p99_over_select_1_p99": common.ratio(svc["p99_ms"], base["p99_ms"]),
            "target": "p99 < 5 ms", "met": svc["p99_ms"] < 5}}
        common.say(f"B4 service credit_summary p50 {svc['p50_ms']:.2f} ms "
                   f"p99 {svc['p99_ms']:.2f} ms"
                   f" (SELECT 1 p99 {base['p99_ms']:.2f} ms, ratio "
                   f"{out['service']['credit_summary']['p99_over_select_1_p99']:.1f}x; target p99 "
                   f"< 5 ms) {common.verdict(svc['p99_ms'] < 5)}")
        cases = _list_cases(rnd, cids, n_memos)
        out["explain"] = {"credit_summary": _explain(db, lambda: customers.credit_summary(
            db, actor=actor, customer_id=cids[0]), opts.explain)}
        for name, make in cases.items():
            filters = _service_filters(make(0))
            out["explain"][name] = _explain(
                db, lambda f=filters: memos.list_memos(db, actor=actor, **f), opts.explain)
        with common.scratch_dir("b4") as workdir, Server(url, opts.workers, workdir) as srv:
            out["http"] = _http(srv, api_key, cids, cases, k, rnd)
            out["server_rss"] = rss = srv.rss_mb()
        out["server_rss"]["target"] = "< 300 MB, all server processes together"
        out["server_rss"]["met"] = rss["total_mb"] < 300
        common.say(f"B4 server RSS after the reads: largest process "
                   f"{rss['max_process_mb']:.0f} MB, "
                   f"all {rss['processes']} processes {rss['total_mb']:.0f} MB (target < 300 MB) "
                   f"{common.verdict(out['server_rss']['met'])}")
    finally:
        db.dispose()
        if not opts.keep:
            common.pg_drop(DB_NAME)
    common.write_result("b4_reads", out, dev=common.is_dev(opts))
    return out


def _api_key(conn: psycopg.Connection, partner_id: str) -> str:
    """A fresh API key for the partner (only hashes are stored, so add one we know)."""
    from creditdesk.services.access import partners
    from creditdesk.services.common.context import clock, new_id
    key = partners.API_KEY_PREFIX + new_id("bench")
    conn.execute("INSERT INTO api_keys (id, partner_id, name, prefix, key_hash, created_at) "
                 "VALUES (%s, %s, 'bench', %s, %s, %s)",
                 (new_id("ak"), partner_id, key[:8], partners.hash_api_key(key), clock.now()))
    conn.commit()
    return key


def _http(srv: Server, api_key: str, cids: list[str], cases: dict, k: int,
          rnd: random.Random) -> dict:
    with httpx.Client(base_url=srv.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {api_key}"}) as c:
        def get(path: str, params: dict | None = None) -> httpx.Response:
            r = c.get(path, params=params)
            if r.status_code != 200:
                raise RuntimeError(f"GET {path} {params}: {r.status_code} {r.text[:300]}")
            return r

        calls: dict[str, Callable[[int], object]] = {
            "healthz": lambda i: get("/healthz"),
            "credit_summary": lambda i: get(
                f"/api/v1/customers/{rnd.choice(cids)}/credit-summary")}
        for name, make in cases.items():
            calls[name] = lambda i, make=make: get("/api/v1/credit-memos", make(i))
        got = _interleaved(calls, k)
        rows = sum(len(json.loads(get("/api/v1/credit-memos", make(0)).content)["data"])
                   for make in cases.values())
    base = got.pop("healthz")
    summ = got.pop("credit_summary")
    out: dict = {"healthz": base, "credit_summary": {
        **summ, "target": "p99 < 5 ms", "met": summ["p99_ms"] < 5,
        "p99_over_healthz_p99": common.ratio(summ["p99_ms"], base["p99_ms"])}}
    common.say(f"B4 HTTP GET /healthz p50 {base['p50_ms']:.2f} p99 {base['p99_ms']:.2f} ms")
    common.say(f"B4 HTTP credit-summary p50 {summ['p50_ms']:.2f} ms "
               f"p99 {summ['p99_ms']:.2f} ms "
               f"({out['credit_summary']['p99_over_healthz_p99']:.1f}x /healthz; target < 5 ms)"
               f" {common.verdict(summ['p99_ms'] < 5)}")
    out["lists"] = {}
    for name, r in got.items():
        r.update(target="p99 < 20 ms", met=r["p99_ms"] < 20,
                 p99_over_healthz_p99=common.ratio(r["p99_ms"], base["p99_ms"]))
        out["lists"][name] = r
        common.say(f"B4 HTTP GET /credit-memos?{name:<38} p50 {r['p50_ms']:6.2f} ms "
                   f"p99 {r['p99_ms']:6.2f} ms ({r['p99_over_healthz_p99']:4.1f}x "
                   f"/healthz; target < 20 ms) {common.verdict(r['met'])}")
    out["list_rows_seen_first_pages"] = rows
    return out
