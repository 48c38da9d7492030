"""B5: credit-suggestion refresh (issue 5 item 5, issue 16 item 6) on SQLite and PostgreSQL,
against just reading the data.

Histories come from the G4 generator (``creditdesk_devtools.evaluation``: plans, ad-hoc orders,
price changes, injected duplicates, mispricings and jumps), copied into the database with
fresh ids and the generator's catalogue as the partner's variants.

- one customer with 5,000 invoices (histories of several generated customers merged), in a
  partner of its own: ``suggestions.refresh(customer_id=...)``, first run (creates the
  suggestions) and again (updates them); target < 0.5 s;
- a whole partner with 10,000 customers and 500,000 invoices (50 each), an SLA policy and
  ``INCIDENTS`` incidents (G5: some touching everyone, some a product, some a few dozen
  customers): a refresh run on the job system (``refresh_runs``), executed by the real worker
  (Procrastinate on PostgreSQL, the in-process runner on SQLite) while this thread reads its
  progress each second as the page does; target < 60 s, from queued to done.

Baseline, same run, same database: a plain SQL read of those invoices and their lines
(``SELECT`` + ``fetchall``, nothing else). ``--quick``: 1,000 invoices and 500 customers;
``--backend``: one database only (PostgreSQL when it is reachable).
"""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from bench import common
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain.suggestions import History
from creditdesk.jobs import queue
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.suggesting import incidents, refresh_runs, suggestions
from creditdesk_devtools.evaluation.generator import Generator

SEED = 2024  # not an evaluation seed: only the shape of the data matters here
PER_CUSTOMER = 50
CHUNK = 20_000
SINGLE_TARGET_S, PARTNER_TARGET_S = 0.5, 60.0
INCIDENTS = 60


class _Loader:
    """Copies generated histories into one partner (bulk inserts, not timed)."""

    def __init__(self, db: Database, actor: Actor, gen: Generator) -> None:
        self.db, self.partner = db, actor.partner_id
        self.now = clock.now()
        self.number = 0
        self.variants: dict[str, str] = {}
        products, variants = [], []
        for v in gen.products + gen.plans:
            pid, vid = new_id("prod"), new_id("var")
            products.append({"id": pid, "partner_id": self.partner, "name": v.name,
                             "created_at": self.now})
            variants.append({"id": vid, "partner_id": self.partner, "product_id": pid,
                             "sku": v.id, "name": v.name, "price_minor": v.new_price,
                             "currency": "USD", "stock_on_hand": 0, "created_at": self.now})
            self.variants[v.id] = vid
        self._insert(models.Product, products)
        self._insert(models.Variant, variants)
        self.customers: list[dict] = []
        self.invoices: list[dict] = []
        self.lines: list[dict] = []
        self.customer_ids: list[str] = []
        self.first, self.last = date.max, date.min

    def _insert(self, model: Any, rows: list[dict]) -> None:
        with self.db.engine.begin() as conn:
            for i in range(0, len(rows), CHUNK):
                conn.execute(insert(model.__table__), rows[i:i + CHUNK])

    def customer(self, invoices: list) -> str:
        cid = new_id("cus")
        self.customers.append({"id": cid, "partner_id": self.partner,
                               "name": f"Customer {len(self.customers):06d}", "email": None,
                               "currency": "USD", "created_at": self.now,
                               "updated_at": self.now})
        self.customer_ids.append(cid)
        for inv in invoices:
            self.first, self.last = min(self.first, inv.issue_date), max(self.last,
                                                                         inv.issue_date)
            self.number += 1
            iid = new_id("inv")
            self.invoices.append({
                "id": iid, "partner_id": self.partner, "customer_id": cid,
                "number": f"INV-{self.number:07d}", "currency": "USD", "status": "open",
                "issue_date": inv.issue_date, "due_date": None, "total_minor": inv.total_minor,
                "paid_minor": 0, "credited_minor": 0, "notes": None,
                "issued_at": datetime.combine(inv.issue_date, self.now.timetz()),
                "voided_at": None, "created_at": self.now, "updated_at": self.now})
            for pos, li in enumerate(inv.lines):
                self.lines.append({
                    "id": new_id("il"), "partner_id": self.partner, "invoice_id": iid,
                    "position": pos, "description": li.description, "quantity": li.quantity,
                    "unit_price_minor": li.unit_price_minor, "amount_minor": li.amount_minor,
                    "variant_id": self.variants.get(li.variant_id or "")})
        if len(self.invoices) >= 50_000:
            self.flush()
        return cid

    def flush(self) -> None:
        self._insert(models.Customer, self.customers)
        self._insert(models.Invoice, self.invoices)
        self._insert(models.InvoiceLine, self.lines)
        self.customers, self.invoices, self.lines = [], [], []

    def analyze(self) -> None:
        """Table statistics after the bulk load, as autovacuum's analyze would have them
        (it is off on the bench server): without them PostgreSQL plans a batch's reads for
        empty tables."""
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def _pool(gen: Generator) -> list[History]:
    data = gen.generate(400)
    return [h for h in data.histories if len(h.invoices) >= PER_CUSTOMER]


def _bare_read(db: Database, where: str, arg: str) -> tuple[float, int]:
    """Seconds to read the invoices and their lines with plain SQL (no ORM, no types), and
    the invoice count."""
    with db.engine.connect() as conn:
        t0 = time.perf_counter()
        invs = conn.execute(text(
            "SELECT id, customer_id, number, issue_date, currency, total_minor "
            f"FROM invoices WHERE {where} = :arg"), {"arg": arg}).fetchall()
        conn.execute(text(
            "SELECT l.invoice_id, l.id, l.description, l.quantity, l.unit_price_minor, "
            "l.amount_minor, l.variant_id FROM invoice_lines l JOIN invoices i ON i.id = "
            f"l.invoice_id WHERE i.{where} = :arg"), {"arg": arg}).fetchall()
        return time.perf_counter() - t0, len(invs)


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(opts: Any) -> None:
    quick = opts.quick
    single_n = 1_000 if quick else 5_000
    customers = opts.n or (500 if quick else 10_000)
    backend = getattr(opts, "backend", None)
    gen = Generator(SEED)
    common.say("generating histories ...")
    pool = _pool(gen)
    runs: list[dict[str, Any]] = []
    if backend in (None, "sqlite"):
        with common.scratch_dir("b5") as work:
            runs.append(_measure("sqlite", common.sqlite_url(work, "b5"), gen, pool,
                                 single_n, customers))
    if backend in (None, "postgres") and common.pg_available():
        name = "creditdesk_bench_suggestions"
        try:
            runs.append(_measure("postgres", common.pg_recreate(name), gen, pool, single_n,
                                 customers))
        finally:
            common.pg_drop(name)
    path_out = common.write_result("b5_suggestions", {"quick": quick, "runs": runs},
                                   dev=common.is_dev(opts))
    common.say(f"results: {path_out}")


def _measure(backend: str, url: str, gen: Generator, pool: list[History], single_n: int,
             customers: int) -> dict[str, Any]:
    common.say(f"-- {backend}")
    db = common.migrated(url)
    try:
        s = _single(db, gen, pool, single_n)
        p = _partner(db, gen, pool, customers)
    finally:
        db.dispose()
    return {"backend": backend, "single": s, "partner": p, "targets": {
        "single_customer_under_0_5s": s["refresh_first_s"] < SINGLE_TARGET_S
        and s["refresh_again_median_s"] < SINGLE_TARGET_S,
        "whole_partner_under_60s": p["refresh_s"] < PARTNER_TARGET_S and p["status"] == "done"}}


def _single(db: Database, gen: Generator, pool: list[History], n: int) -> dict:
    actor, _ = common.new_partner(db, "Big customer Co")
    loader = _Loader(db, actor, gen)
    merged: list = []
    for h in pool:
        merged.extend(h.invoices)
        if len(merged) >= n:
            break
    cid = loader.customer(merged[:n])
    loader.flush()
    loader.analyze()
    read_s, count = _bare_read(db, "customer_id", cid)
    first_s, first = _timed(lambda: suggestions.refresh(db, actor=actor, customer_id=cid))
    again = []
    for _ in range(3):
        again.append(_timed(lambda: suggestions.refresh(db, actor=actor, customer_id=cid))[0])
    read_again = statistics.median(_bare_read(db, "customer_id", cid)[0] for _ in range(3))
    med = statistics.median(again)
    common.say(f"one customer, {count:,} invoices: refresh {first_s:.3f} s first "
               f"({first.open} open), {med:.3f} s again (median of 3); bare read "
               f"{read_again * 1e3:.1f} ms -> {common.ratio(med, read_again):.1f}x; "
               f"target < {SINGLE_TARGET_S} s: "
               f"{common.verdict(max(first_s, med) < SINGLE_TARGET_S)}")
    return {"invoices": count, "refresh_first_s": round(first_s, 4),
            "refresh_again_s": [round(x, 4) for x in again],
            "refresh_again_median_s": round(med, 4), "open": first.open,
            "bare_read_s": round(min(read_s, read_again), 4),
            "ratio_to_bare_read": common.ratio(med, min(read_s, read_again))}


def _partner(db: Database, gen: Generator, pool: list[History], customers: int) -> dict:
    actor, _ = common.new_partner(db, "Whole partner Co")
    loader = _Loader(db, actor, gen)
    common.say(f"loading {customers:,} customers x {PER_CUSTOMER} invoices ...")
    t0 = time.perf_counter()
    for k in range(customers):
        h = pool[k % len(pool)]
        spare = len(h.invoices) - PER_CUSTOMER
        start = (k * 7) % (spare + 1)
        loader.customer(list(h.invoices[start:start + PER_CUSTOMER]))
    loader.flush()
    loader.analyze()
    common.say(f"loaded in {time.perf_counter() - t0:.0f} s")
    n_incidents = _incidents(db, actor, loader)
    read_s, count = _bare_read(db, "partner_id", actor.partner_id)
    ticks: list[tuple[float, str, int]] = []
    t_start = time.perf_counter()
    run, _ = refresh_runs.start(db, actor=actor)
    with _worker(db) as wait:
        # what the page does while the worker runs: read the progress each second
        while True:
            done = wait(1.0)
            r = refresh_runs.get_run(db, actor=actor, run_id=run.id)
            ticks.append((time.perf_counter() - t_start, r.status, r.customers_done))
            if done or not r.active:
                break
    # queued to done, as the database recorded them
    refresh_s = ((r.finished_at - r.queued_at).total_seconds() if r.finished_at is not None
                 else time.perf_counter() - t_start)
    service = _count_reason(db, actor, "service_issue")
    common.say(f"whole partner, {customers:,} customers, {count:,} invoices, {n_incidents} "
               f"incidents: run {r.status} in {refresh_s:.1f} s ({r.open:,} open suggestions, "
               f"{service:,} service-issue); progress read {len(ticks)} times, "
               f"{_distinct(ticks)} different figures; bare read {read_s:.2f} s -> "
               f"{common.ratio(refresh_s, read_s):.1f}x; target < {PARTNER_TARGET_S:.0f} s: "
               f"{common.verdict(refresh_s < PARTNER_TARGET_S and r.status == 'done')}")
    return {"customers": customers, "invoices": count, "incidents": n_incidents,
            "refresh_s": round(refresh_s, 3), "status": r.status, "open": r.open,
            "created": r.created, "service_issue_open": service,
            "bare_read_s": round(read_s, 4), "ratio_to_bare_read": common.ratio(refresh_s, read_s),
            "progress_reads": len(ticks), "progress_figures": _distinct(ticks),
            "first_progress_s": next((round(t, 3) for t, _, done in ticks if done), None),
            "per_1000_customers_s": round(refresh_s / customers * 1000, 3)}


@contextlib.contextmanager
def _worker(db: Database) -> Iterator[Callable[[float], bool]]:
    """The job system's worker for this database, woken now: a Procrastinate worker on
    PostgreSQL (as ``creditdesk worker`` runs), the in-process runner on SQLite (as
    ``creditdesk serve`` runs it). Yields ``wait(seconds)``: True once the worker is done."""
    if db.is_sqlite:
        runner = sync_jobs.InProcessRunner(db, tick=3600.0)
        runner.start()
        runner.wake()
        try:
            yield lambda seconds: _until_none_claimable(db, seconds)
        finally:
            runner.stop()
            sync_jobs.current_runner = None
        return
    url = db.url.render_as_string(hide_password=False)
    app = queue.make_app(url)
    with app.open():
        queue.dispatch_suggestion_runs(app, db)
    worker = threading.Thread(target=lambda: queue.make_app(url).run_worker(
        queues=[queue.SUGGESTIONS_QUEUE], wait=False, listen_notify=False,
        install_signal_handlers=False,
        additional_context={"sync": queue.Runtime(db, sync_jobs.connector_factory(
            sync_jobs.default_client()))}), daemon=True)
    worker.start()
    try:
        def wait(seconds: float) -> bool:
            worker.join(seconds)
            return not worker.is_alive()
        yield wait
    finally:
        worker.join()


def _until_none_claimable(db: Database, seconds: float) -> bool:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if not refresh_runs.claimable_ids(db) and not _running(db):
            return True
        time.sleep(0.05)
    return False


def _running(db: Database) -> bool:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(models.SuggestionRun).where(
            models.SuggestionRun.status == "running")) != 0


def _incidents(db: Database, actor: Actor, loader: _Loader) -> int:
    """An SLA policy (99.9 % promised: 43 minutes down a month) and ``INCIDENTS`` incidents
    over the invoices' dates, as an MSP's might be: one in twenty touches everyone, one in
    five a product, the rest 5 to 40 customers; one in five lasts 1 to 4 hours, the rest 10
    to 45 minutes (so some months breach the promise only where incidents add up). Not
    timed."""
    rng = random.Random(SEED)
    incidents.replace_sla(db, actor=actor, policies=[{
        "availability_promised": "99.9",
        "bands": [{"below": "99.9", "credit_percent": "10"},
                  {"below": "99", "credit_percent": "25"}]}])
    days = max((loader.last - loader.first).days, 1)
    variants = list(loader.variants.values())
    for k in range(INCIDENTS):
        start = datetime.combine(loader.first + timedelta(days=rng.randrange(days)),
                                 datetime.min.time(), UTC) + timedelta(
            minutes=rng.randrange(24 * 60))
        minutes = rng.randrange(60, 240) if k % 5 == 0 else rng.randrange(10, 45)
        who: dict[str, list[str]] = {}
        if k % 20 == 0:
            pass  # everyone
        elif k % 5 == 1:
            who["variant_ids"] = [rng.choice(variants)]
        else:
            who["customer_ids"] = rng.sample(loader.customer_ids,
                                             min(rng.randrange(5, 41), len(loader.customer_ids)))
        incidents.create_incident(db, actor=actor, started_at=start,
                                  ended_at=start + timedelta(minutes=minutes),
                                  description=f"Bench incident {k + 1}", **who)
    return INCIDENTS


def _count_reason(db: Database, actor: Actor, reason: str) -> int:
    return sum(1 for s in _all_open(db, actor) if s.reason == reason)


def _all_open(db: Database, actor: Actor) -> list[suggestions.SuggestionView]:
    out: list[suggestions.SuggestionView] = []
    cursor = None
    while True:
        page = suggestions.list_suggestions(db, actor=actor, status="open", limit=200,
                                            cursor=cursor)
        out.extend(page.data)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def _distinct(ticks: list[tuple[float, str, int]]) -> int:
    return len({(status, done) for _, status, done in ticks})
