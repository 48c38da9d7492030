"""B10: the CSV export of 1,000,000 memos in bounded server memory (D3).

Loads ``--n`` memos (default 1,000,000) over 1,000 customers with ``db/bulk.py`` (one
executemany per chunk on SQLite, COPY on PostgreSQL), starts ``creditdesk serve --workers 1``
(one process) on that database, and downloads ``GET /api/v1/credit-memos/export`` through
HTTP, reading the body as it arrives. The figure is the server process's peak resident
memory (``VmHWM`` of ``/proc/<pid>/status``: the high-water mark since it started, so no
sampling can miss a peak), before and after the download. Target: peak < 300 MB.
The download is checked: one line per memo plus the header.
SQLite always; PostgreSQL too when it is reachable (``--backend`` picks one).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import common, seed
from bench.server import Server
from creditdesk.db import bulk, models
from creditdesk.domain import memo as memo_rules
from creditdesk.services.common import numbering
from creditdesk.services.common.context import clock, new_id

TARGET_MB = 300
N_CUSTOMERS = 1_000
CHUNK = 20_000
REASONS = [r.value for r in memo_rules.Reason]


def _memo_chunks(partner_id: str, customer_ids: list[str], count: int,
                 first_number: int) -> Iterator[list[dict[str, Any]]]:
    """``count`` memos in chunks, statuses as B4 mixes them, issue dates over two years
    (so the aging buckets all fill), amounts agreeing with the statuses."""
    rnd = random.Random(10)
    now = clock.now()
    today = now.date()
    statuses = [s for s, _ in seed.MEMO_MIX]
    weights = [w for _, w in seed.MEMO_MIX]
    chunk: list[dict[str, Any]] = []
    for i in range(count):
        status = rnd.choices(statuses, weights)[0]
        total, applied = seed._memo_amounts(status, rnd)
        issued = status != "draft"
        chunk.append({
            "id": new_id("cm"), "partner_id": partner_id,
            "customer_id": customer_ids[i % len(customer_ids)],
            "number": memo_rules.format_number("CM", first_number + i), "currency": "USD",
            "reason": REASONS[i % len(REASONS)], "status": status,
            "issue_date": (today - timedelta(days=i % 730))
            if issued else None,
            "invoice_id": None, "total_minor": total, "applied_minor": applied,
            "refunded_minor": 0, "tax_minor": 0, "tax_inclusive": False, "notes": None,
            "source": "native", "external_id": None, "issued_at": now if issued else None,
            "applied_at": now if status == "applied" else None,
            "voided_at": now if status == "void" else None,
            "void_reason": "Raised in error" if status == "void" else None,
            "created_at": now, "updated_at": now})
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _load(url: str, n: int) -> str:
    """A partner with ``N_CUSTOMERS`` customers (some named like formulas) and ``n`` memos;
    returns its API key."""
    db = common.migrated(url)
    actor, api_key = common.new_partner(db)
    cids = seed.customers(db, actor.partner_id, N_CUSTOMERS)
    with db.engine.begin() as conn:  # a few names a spreadsheet would run: the guard runs too
        conn.execute(models.Customer.__table__.update()
                     .where(models.Customer.id.in_(cids[:10])).values(name="=1+1"))
    first = seed._bump_counter(db, actor.partner_id, numbering.MEMO, n)
    t0 = time.perf_counter()
    table = models.CreditMemo.__table__
    for chunk in _memo_chunks(actor.partner_id, cids, n, first):
        with db.engine.begin() as conn:
            bulk.insert_rows(conn, table, chunk)
    if db.is_sqlite:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE credit_memos")
            conn.exec_driver_sql("ANALYZE customers")
    common.say(f"B10 loaded {n:,} memos in {time.perf_counter() - t0:.0f} s")
    db.dispose()
    return api_key


def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


def _measure(name: str, url: str, n: int, workdir: Path) -> dict[str, Any]:
    api_key = _load(url, n)
    headers = {"Authorization": f"Bearer {api_key}"}
    with Server(url, 1, workdir, env={"CREDITDESK_SYNC_IN_PROCESS": "0"}) as srv:
        pid = srv.processes()[0].pid
        warm = httpx.get(f"{srv.base_url}/api/v1/credit-memos", headers=headers,
                         params={"limit": 50}, timeout=60)
        warm.raise_for_status()
        before = _status_kb(pid)
        lines = size = 0
        t0 = time.perf_counter()
        first_byte = None
        with httpx.stream("GET", f"{srv.base_url}/api/v1/credit-memos/export",
                          headers=headers, timeout=600) as r:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - t0
                size += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - t0
        after = _status_kb(pid)
    peak_mb = round(after["VmHWM"] / 1024, 1)
    row = {"backend": name, "memos": n, "csv_lines": lines, "csv_mb": round(size / 2**20, 1),
           "seconds": round(seconds, 1), "rows_per_s": round(n / seconds),
           "first_byte_ms": round((first_byte or 0) * 1e3, 1),
           "rss_before_mb": round(before["VmRSS"] / 1024, 1),
           "peak_before_mb": round(before["VmHWM"] / 1024, 1),
           "peak_after_mb": peak_mb, "rss_after_mb": round(after["VmRSS"] / 1024, 1),
           "target": f"< {TARGET_MB} MB", "met": peak_mb < TARGET_MB and lines == n + 1}
    common.say(f"B10 {name}: {n:,} memos, {row['csv_mb']} MB of CSV in {row['seconds']} s "
               f"({row['rows_per_s']:,} rows/s); server peak RSS {row['peak_before_mb']} -> "
               f"{peak_mb} MB (target < {TARGET_MB} MB) {common.verdict(row['met'])}")
    if lines != n + 1:
        common.say(f"B10 {name}: expected {n + 1:,} lines, got {lines:,}")
    return row


def run(opts: Any) -> dict[str, Any]:
    n = opts.n or (20_000 if opts.quick else 1_000_000)
    backend = getattr(opts, "backend", None)
    out: dict[str, Any] = {"quick": opts.quick, "what": "GET /api/v1/credit-memos/export, "
                           "creditdesk serve --workers 1", "runs": []}
    if backend in (None, "sqlite"):
        with common.scratch_dir("b10") as workdir:
            out["runs"].append(_measure("sqlite", common.sqlite_url(workdir, "b10"), n,
                                        workdir))
    if backend in (None, "postgres") and common.pg_available():
        name = "creditdesk_bench_export"
        try:
            with common.scratch_dir("b10pg") as workdir:
                out["runs"].append(_measure("postgres", common.pg_recreate(name), n, workdir))
        finally:
            common.pg_drop(name)
    common.write_result("b10_export", out, dev=common.is_dev(opts))
    return out
