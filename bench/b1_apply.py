"""B1: credit-application throughput through the service layer, against a bare loop.

``creditdesk.services.credit_memos.credit.apply_credit_only`` (the change itself, without
reading the two documents back for an answer) applies N issued memos to N open
invoices (one application each) on SQLite (WAL, synchronous=FULL) and on PostgreSQL. The
baseline is a bare driver loop (sqlite3 / psycopg) of N transactions doing only the minimal
writes of an application: update the memo, update the invoice, insert the application,
commit; same database, same durability. Baseline and service run in alternating rounds on
halves of the same seeded tables, so drift in the shared machine's load hits both alike.

Scaling: per-operation cost of a batch of applications against tables holding 1,000 vs
100,000 memos and invoices (two databases, batches alternating between them).
Targets: service >= 0.35 x baseline (issue 12; it was 0.25); per-op cost at 100,000 <= 1.2 x
that at 1,000.
"""

from __future__ import annotations

import gc
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench import common, seed
from creditdesk.services.common.context import clock, new_id
from creditdesk.services.credit_memos import credit

CUSTOMERS = 100
ROUNDS = 5
WARMUP = 20
TARGET = 0.35  # service ops/s as a share of the bare loop's
AMOUNT_MINOR = 6_000  # memo 60.00 onto invoice 100.00: memo applied, invoice partially paid

_MEMO_SQL = ("UPDATE credit_memos SET applied_minor = applied_minor + {p}, status = 'applied', "
             "applied_at = {p}, updated_at = {p} WHERE id = {p}")
_INVOICE_SQL = ("UPDATE invoices SET credited_minor = credited_minor + {p}, "
                "status = 'partially_paid', updated_at = {p} WHERE id = {p}")
_APP_SQL = ("INSERT INTO credit_applications (id, partner_id, credit_memo_id, invoice_id, "
            "amount_minor, applied_at, applied_by) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})")


class _Bed:
    """One seeded database: the service's handle and a bare driver loop on the same file."""

    def __init__(self, backend: str, name: str, workdir: Path, pairs: int) -> None:
        self.backend, self.name = backend, name
        if backend == "sqlite":
            self.path = workdir / f"{name}.db"
            self.url = f"sqlite:///{self.path}"
        else:
            self.url = common.pg_recreate(name)
        self.db = common.migrated(self.url)
        self.actor, _ = common.new_partner(self.db)
        cids = seed.customers(self.db, self.actor.partner_id, CUSTOMERS)
        self.pairs = seed.pairs(self.db, self.actor.partner_id, cids, pairs)
        self.bare = self._bare_loop()

    def _bare_loop(self) -> Callable[[list[seed.Pair]], None]:
        partner, actor = self.actor.partner_id, self.actor.name
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                           "busy_timeout=60000"):
                conn.execute(f"PRAGMA {pragma}")
            memo_sql, inv_sql, app_sql = (s.format(p="?") for s in (_MEMO_SQL, _INVOICE_SQL,
                                                                     _APP_SQL))

            def loop(pairs: list[seed.Pair]) -> None:
                for p in pairs:
                    now = clock.now().replace(tzinfo=None).isoformat(" ")
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(memo_sql, (AMOUNT_MINOR, now, now, p.memo_id))
                    conn.execute(inv_sql, (AMOUNT_MINOR, now, p.invoice_id))
                    conn.execute(app_sql, (new_id("app"), partner, p.memo_id, p.invoice_id,
                                           AMOUNT_MINOR, now, actor))
                    conn.execute("COMMIT")
        else:
            conn = psycopg.connect(common.pg_dsn(self.name))
            memo_sql, inv_sql, app_sql = (s.format(p="%s") for s in (_MEMO_SQL, _INVOICE_SQL,
                                                                      _APP_SQL))

            def loop(pairs: list[seed.Pair]) -> None:
                for p in pairs:
                    now = clock.now()
                    conn.execute(memo_sql, (AMOUNT_MINOR, now, now, p.memo_id))
                    conn.execute(inv_sql, (AMOUNT_MINOR, now, p.invoice_id))
                    conn.execute(app_sql, (new_id("app"), partner, p.memo_id, p.invoice_id,
                                           AMOUNT_MINOR, now, actor))
                    conn.commit()
        self._conn = conn
        return loop

    def service(self, pairs: list[seed.Pair]) -> None:
        apply, db, actor = credit.apply_credit_only, self.db, self.actor
        for p in pairs:
            apply(db, actor=actor, memo_id=p.memo_id, invoice_id=p.invoice_id, amount="60.00")

    def close(self) -> None:
        self._conn.close()
        self.db.dispose()
        if self.backend == "postgres":
            common.pg_drop(self.name)


def _timed(fn: Callable[[list[seed.Pair]], None], pairs: list[seed.Pair]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn(pairs)
    return time.perf_counter() - t0


def _chunks(items: list, parts: int) -> list[list]:
    size = -(-len(items) // parts)
    return [items[i:i + size] for i in range(0, len(items), size)]


def throughput(backend: str, workdir: Path, n: int) -> dict:
    """N service applications vs N bare transactions, in alternating rounds."""
    bed = _Bed(backend, "creditdesk_bench_b1", workdir, 2 * n + 2 * WARMUP)
    try:
        warm_bare, warm_svc = bed.pairs[:WARMUP], bed.pairs[WARMUP:2 * WARMUP]
        rest = bed.pairs[2 * WARMUP:]
        bed.bare(warm_bare)
        bed.service(warm_svc)
        bare_parts, svc_parts = _chunks(rest[:n], ROUNDS), _chunks(rest[n:], ROUNDS)
        bare_s = svc_s = 0.0
        for r in range(ROUNDS):
            if r % 2:
                svc_s += _timed(bed.service, svc_parts[r])
                bare_s += _timed(bed.bare, bare_parts[r])
            else:
                bare_s += _timed(bed.bare, bare_parts[r])
                svc_s += _timed(bed.service, svc_parts[r])
    finally:
        bed.close()
    bare_ops, svc_ops = n / bare_s, n / svc_s
    r = common.ratio(svc_ops, bare_ops)
    return {"n": n, "baseline_ops_per_s": round(bare_ops, 1),
            "service_ops_per_s": round(svc_ops, 1),
            "service_ms_per_op": round(svc_s / n * 1e3, 3),
            "baseline_ms_per_op": round(bare_s / n * 1e3, 3),
            "ratio": r, "target": f">= {TARGET}", "met": r >= TARGET}


def scaling(backend: str, workdir: Path, small: int, large: int, batch: int) -> dict:
    """Per-op service cost of ``batch`` applications with ``small`` vs ``large`` rows."""
    beds = {small: _Bed(backend, "creditdesk_bench_b1_small", workdir, small + WARMUP),
            large: _Bed(backend, "creditdesk_bench_b1_large", workdir, large + WARMUP)}
    try:
        work = {}
        for size, bed in beds.items():
            bed.service(bed.pairs[:WARMUP])
            pool = bed.pairs[WARMUP:]
            work[size] = _chunks(random.Random(size).sample(pool, min(batch, len(pool))), ROUNDS)
        spent = dict.fromkeys(beds, 0.0)
        done = dict.fromkeys(beds, 0)
        for r in range(ROUNDS):
            order = (small, large) if r % 2 == 0 else (large, small)
            for size in order:
                spent[size] += _timed(beds[size].service, work[size][r])
                done[size] += len(work[size][r])
    finally:
        for bed in beds.values():
            bed.close()
    per_op = {size: spent[size] / done[size] * 1e3 for size in beds}
    growth = common.ratio(per_op[large], per_op[small])
    return {"batch": batch, "rows_small": small, "rows_large": large,
            "ms_per_op_small": round(per_op[small], 3), "ms_per_op_large": round(per_op[large], 3),
            "large_over_small": growth, "target": "<= 1.2", "met": growth <= 1.2}


def run(opts) -> dict:
    n = opts.n or (1_000 if opts.quick else 10_000)
    large = 10_000 if opts.quick else 100_000
    batch = 500 if opts.quick else 1_000
    backends = [opts.backend] if opts.backend else ["sqlite", "postgres"]
    out: dict = {"quick": opts.quick, "backends": {}}
    with common.scratch_dir("b1") as workdir:
        for backend in backends:
            if backend == "postgres" and not common.pg_available():
                common.say("B1 postgres: skipped (no server)")
                continue
            tp = throughput(backend, workdir, n)
            common.say(f"B1 {backend:8} apply_credit {tp['service_ops_per_s']:8.1f}/s "
                       f"({tp['service_ms_per_op']:.2f} ms/op) vs bare loop "
                       f"{tp['baseline_ops_per_s']:8.1f}/s: ratio {tp['ratio']:.3f} "
                       f"(target >= {TARGET}) {common.verdict(tp['met'])}")
            sc = scaling(backend, workdir, 1_000, large, batch)
            common.say(f"B1 {backend:8} per-op at {large:,} rows {sc['ms_per_op_large']:.3f} ms "
                       f"vs at 1,000 rows {sc['ms_per_op_small']:.3f} ms: "
                       f"{sc['large_over_small']:.3f}x (target <= 1.2) "
                       f"{common.verdict(sc['met'])}")
            out["backends"][backend] = {"throughput": tp, "scaling": sc}
    common.write_result("b1_apply", out, dev=common.is_dev(opts))
    return out
