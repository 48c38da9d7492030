"""B9: draining write-backs to the fake Xero and the fake QuickBooks Online (issue 13, item
8), on SQLite and PostgreSQL.

For every provider and backend a fresh fake runs in a process of its own with N credit notes
/ memos and N open invoices (over 100 customers, note i and invoice i the same customer's),
and a fresh database holds a connected integration. Set-up, not timed: a first sync lands
the N memos and N invoices, then N applications of 10.00 (memo i to invoice i) are made
through ``services.credit_memos.credit.apply_credit`` — synced credit, so each is a
``pending`` write-back (Y11).

Timed: a fresh spawned "worker" process (nothing inherited) doing what the job runner's
tick does (``jobs.sync.InProcessRunner``), without its sleep: ``write_back.run_due`` (the
write-back job, 100 claimed a pass) then ``jobs.sync.run_pending`` (the read-back syncs
each write-back queues: targeted, merged into one run, incremental past 100 targets), again
until no write-back is pending. Targets: all N drained in < 60 s at N = 1,000; the worker's
peak resident memory (psutil RSS, sampled every 20 ms) < 300 MB. Checked afterwards: every
application ``applied`` here, and exactly N allocations (Xero) / Payments (QuickBooks
Online) in the fake.

Xero's fake runs without its 60-calls-a-minute limit (as in B6: 1,000 allocations alone
would take 17 minutes at Xero's rate; the target is about CreditDesk's side); its daily
limit stays 5,000 calls unless ``--n`` needs more. ``--quick``: N = 100. ``--backend``,
``--provider``: one only; ``--profile``: the drain under cProfile, hot spots printed.
PostgreSQL database ``creditdesk_bench_write_back``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import common
from bench.b6_sync import (
    COMPANY,
    PROVIDERS,
    QBO,
    REALM,
    TENANT,
    XERO,
    XERO_DAY_LIMIT,
    PeakRss,
    _environment,
    connect,
    serve,
    tear_down,
)

PG_DB = "creditdesk_bench_write_back"
CUSTOMERS = 100
AMOUNT = "10.00"  # each application
DRAIN_TARGET_S, RSS_TARGET_MB = 60.0, 300.0
RETRY_BASE_S = 0.5  # a write-back left unanswered is tried again this soon (doubling)
GIVE_UP_S = 600.0  # the worker stops draining after this long


# --- the fakes' process ---------------------------------------------------------------

def _qbo_fake(n: int) -> tuple[Any, dict[str, Any], Any]:
    from creditdesk_devtools.fakes.qbo import create_app
    from creditdesk_devtools.fakes.qbo_state import FakeQboState, stamp

    state = FakeQboState()
    state.add_company(REALM, COMPANY, "US")
    company = state.companies[REALM]
    start = state.now() - timedelta(days=30)
    for i in range(n):
        customer = 1000 + i % CUSTOMERS
        when = start + timedelta(seconds=60 * i)
        mid = state.add_memo(REALM, total=f"{50 + i % 400}.00", customer_id=str(customer),
                             customer_name=f"Customer {customer}")
        iid = state.add_invoice(REALM, total=f"{500 + i % 400}.00", customer_id=str(customer),
                                customer_name=f"Customer {customer}",
                                doc_number=f"INV-{i + 1:06d}",
                                txn_date=when.date().isoformat(), due_date=None)
        for raw, at in ((company.memos[mid], when), (company.invoices[iid], when)):
            raw["MetaData"] = {"CreateTime": stamp(at), "LastUpdatedTime": stamp(at)}
    issued = state.issue_tokens(REALM)
    info = {"client_id": state.client_id, "client_secret": state.client_secret,
            "tokens": _tokens(issued), "realm_id": REALM}
    return create_app(state), info, lambda: len(company.payments)


def _xero_fake(n: int) -> tuple[Any, dict[str, Any], Any]:
    from creditdesk.connectors.xero_records import msdate
    from creditdesk_devtools.fakes.xero import create_app
    from creditdesk_devtools.fakes.xero_state import FakeXeroState

    state = FakeXeroState(minute_limit=None, day_limit=max(XERO_DAY_LIMIT, 4 * n + 200))
    state.add_org(TENANT, COMPANY, "US")
    org = state.orgs[TENANT]
    start = state.now() - timedelta(days=30)
    for i in range(n):
        customer = 1000 + i % CUSTOMERS
        contact = {"contact_id": f"00000000-0000-4000-8000-{customer:012d}",
                   "contact_name": f"Customer {customer}"}
        when = start + timedelta(seconds=60 * i)
        nid = state.add_credit_note(TENANT, total=f"{50 + i % 400}.00",
                                    date=when.date().isoformat(), **contact)
        iid = state.add_invoice(TENANT, subtotal=f"{500 + i % 400}.00",
                                number=f"INV-{i + 1:06d}", date=when.date().isoformat(),
                                due=None, **contact)
        org.notes[nid]["UpdatedDateUTC"] = org.invoices[iid]["UpdatedDateUTC"] = msdate(when)
    event = state.codes.pop(state.grant([TENANT]))
    info = {"client_id": state.client_id, "client_secret": state.client_secret,
            "tokens": _tokens(state.issue_tokens(event)), "realm_id": TENANT}

    def allocations() -> int:
        return sum(1 for note in org.notes.values() for a in note["Allocations"]
                   if not a.get("IsDeleted"))
    return create_app(state), info, allocations


def _tokens(issued: dict[str, Any]) -> dict[str, Any]:
    """The tokens as ``connectors.oauth`` keeps them."""
    return {"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
            "access_expires_at": time.time() + issued["expires_in"]}


def _fake_main(conn: Any, provider: str, n: int) -> None:
    app, info, count = (_qbo_fake if provider == QBO else _xero_fake)(n)
    server, port = serve(app)
    conn.send({**info, "port": port})
    while (command := conn.recv()) != "stop":
        assert command == "count"
        conn.send(count())
    server.should_exit = True
    conn.send("bye")


# --- set-up (this process) ------------------------------------------------------------

def _first_sync(url: str, integration_id: str) -> dict[str, Any]:
    """The integration's first sync, as B6's worker runs it (not timed)."""
    from creditdesk.db.engine import Database
    from creditdesk.db.models import SyncRun
    from creditdesk.jobs import sync as sync_jobs
    from creditdesk.services.books import sync

    db = Database(url)
    try:
        with sync_jobs.default_client() as client:
            run_id = sync.request_run(db, integration_id=integration_id, trigger="manual")
            assert sync.claim_next(db, integration_id=integration_id) == run_id
            sync.execute(db, run_id, sync_jobs.connector_factory(client))
        with db.read() as s:
            r = s.get_one(SyncRun, run_id)
            return {"status": r.status, "memos": r.created, "invoices": r.invoices_created,
                    "errors": len(r.errors)}
    finally:
        db.dispose()


def _apply_all(url: str, actor: Any, provider: str) -> dict[str, Any]:
    """Memo i of each customer applied to its invoice i, ``AMOUNT`` each (not timed)."""
    from sqlalchemy import select

    from creditdesk.db import models
    from creditdesk.db.engine import Database
    from creditdesk.services.credit_memos import credit

    db = Database(url)
    try:
        with db.read() as s:
            memos = s.execute(select(models.CreditMemo.id, models.CreditMemo.customer_id)
                              .where(models.CreditMemo.source == provider)
                              .order_by(models.CreditMemo.number)).all()
            invoices = s.execute(select(models.Invoice.id, models.Invoice.customer_id)
                                 .where(models.Invoice.source == provider)
                                 .order_by(models.Invoice.number)).all()
        open_invoices: dict[str, list[str]] = {}
        for inv_id, customer in invoices:
            open_invoices.setdefault(customer, []).append(inv_id)
        t0, statuses = time.perf_counter(), {}
        for memo_id, customer in memos:
            invoice_id = open_invoices[customer].pop(0)
            made = credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
                                       amount=AMOUNT)
            status = made.application.status
            statuses[status] = statuses.get(status, 0) + 1
        return {"made": len(memos), "statuses": statuses,
                "seconds": round(time.perf_counter() - t0, 3)}
    finally:
        db.dispose()


def _statuses(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from creditdesk.db import models
    from creditdesk.db.engine import Database

    db = Database(url)
    try:
        app = models.CreditApplication
        with db.read() as s:
            return {status: count for status, count in s.execute(
                select(app.status, func.count()).where(app.origin == "user")
                .group_by(app.status))}
    finally:
        db.dispose()


# --- the worker's process -------------------------------------------------------------

def _worker_main(conn: Any, url: str, profile_to: str | None = None) -> None:
    """Drain: the write-back job, then the syncs it queued, until nothing is pending;
    under cProfile (stats written to ``profile_to``) when asked."""
    import cProfile

    from sqlalchemy import func, select

    from creditdesk.db import models
    from creditdesk.db.engine import Database
    from creditdesk.domain import write_back as wb
    from creditdesk.jobs import sync as sync_jobs
    from creditdesk.services.books import write_back

    db = Database(url)
    app = models.CreditApplication

    def pending() -> int:
        with db.read() as s:
            return s.scalar(select(func.count()).select_from(app)
                            .where(app.status == wb.Status.PENDING.value)) or 0

    with sync_jobs.default_client() as client:
        build = sync_jobs.connector_factory(client)
        assert conn.recv() == "drain"
        profiler = cProfile.Profile() if profile_to else None
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        attempts = passes = runs = 0
        first_pass_s = None
        while True:
            done = write_back.run_due(db, build, retry_base_seconds=RETRY_BASE_S)
            ran = sync_jobs.run_pending(db, build)
            attempts, runs, passes = attempts + len(done), runs + len(ran), passes + 1
            if first_pass_s is None:
                first_pass_s = time.perf_counter() - t0
            if not done and not ran:
                if not pending() or time.perf_counter() - t0 > GIVE_UP_S:
                    break
                time.sleep(0.05)  # a back-off is running
        seconds = time.perf_counter() - t0
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile_to)
        conn.send({"seconds": seconds, "attempts": attempts, "passes": passes,
                   "sync_runs": runs, "left_pending": pending(),
                   "first_pass_s": round(first_pass_s or 0.0, 3)})
    db.dispose()
    conn.recv()


def _hot_spots(path: str) -> None:
    import pstats

    for order in ("cumulative", "tottime"):
        pstats.Stats(path).strip_dirs().sort_stats(order).print_stats(25)
    ours = r"write_back.py|sync.py|locks.py|audit.py|_writes.py|engine.py|http.py"
    pstats.Stats(path).strip_dirs().sort_stats("cumulative").print_stats(ours, 40)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def one(provider: str, backend: str, n: int, workdir: Any,
        profile: bool = False) -> dict[str, Any]:
    """Set-up (fake, database, first sync, N pending applications), then the timed drain in
    a fresh worker; the fake's count of what was written checked afterwards. ``profile``:
    the drain under cProfile (slower), its hot spots printed."""
    spawn = mp.get_context("spawn")
    tag = f"B9 {provider} {backend}:"
    load_start, started = _load(), datetime.now(UTC)
    fake_end, fake_child = spawn.Pipe()
    fake = spawn.Process(target=_fake_main, args=(fake_child, provider, n), daemon=True)
    fake.start()
    info = fake_end.recv()
    os.environ.update(_environment(provider, info))
    os.environ.setdefault("CREDITDESK_SECRET_KEY", "bench-secret-key-b9")
    url = (common.sqlite_url(workdir, f"write_back_{provider}") if backend == "sqlite"
           else common.pg_recreate(PG_DB))
    try:
        actor, iid = connect(url, provider, info)
        synced = _first_sync(url, iid)
        applied = _apply_all(url, actor, provider)
        common.say(f"{tag} set-up: first sync {synced}; {applied['made']} applications made "
                   f"in {applied['seconds']:.1f} s {applied['statuses']}")
        end, child = spawn.Pipe()
        stats = str(workdir / f"b9-{provider}-{backend}.prof") if profile else None
        worker = spawn.Process(target=_worker_main, args=(child, url, stats), daemon=True)
        worker.start()
        try:
            time.sleep(1.0)  # the worker's imports, outside the timed drain
            rss = PeakRss(worker.pid or 0)
            end.send("drain")
            drained = end.recv()
            peak = rss.stop()
            end.send("stop")
        finally:
            worker.join(30)
        if stats:
            _hot_spots(stats)
        statuses = _statuses(url)
        fake_end.send("count")
        written = fake_end.recv()
    finally:
        tear_down(fake_end, fake, url, PG_DB)
    made = statuses.get("applied", 0)
    met = drained["seconds"] < DRAIN_TARGET_S and made == n and written == n
    out = {
        "provider": provider, "backend": backend, "write_backs": n,
        "started": started.isoformat(timespec="seconds"),
        "loadavg_start": load_start, "loadavg_end": _load(),
        "setup": {"first_sync": synced, "applications": applied},
        "drain": {**drained, "seconds": round(drained["seconds"], 3),
                  "per_second": round(n / drained["seconds"], 1),
                  "statuses_after": statuses, "written_in_fake": written,
                  "target": f"< {DRAIN_TARGET_S:.0f} s for {n}", "met": met},
        "worker_memory": {"peak_rss_mb": peak, "target": f"< {RSS_TARGET_MB:.0f} MB",
                          "met": peak < RSS_TARGET_MB},
    }
    what = "allocations" if provider == XERO else "Payments"
    common.say(f"{tag} {n} write-backs drained in {drained['seconds']:.1f} s "
               f"({out['drain']['per_second']}/s; {drained['attempts']} attempts, "
               f"{drained['passes']} passes, {drained['sync_runs']} read-back syncs); "
               f"after: {statuses}, {written} {what} in the fake "
               f"{common.verdict(met)}; worker peak RSS {peak} MB "
               f"{common.verdict(peak < RSS_TARGET_MB)}; load {load_start} → "
               f"{out['loadavg_end']}")
    return out


def run(opts: Any) -> dict:
    n = opts.n or (100 if opts.quick else 1_000)
    provider = getattr(opts, "provider", None)
    providers = [provider] if provider else [XERO, *(p for p in PROVIDERS if p != XERO)]
    backends = [opts.backend] if opts.backend else ["sqlite", "postgres"]
    out: dict[str, Any] = {"quick": opts.quick, "write_backs": n, "customers": CUSTOMERS,
                           "amount": AMOUNT, "retry_base_seconds": RETRY_BASE_S,
                           "xero_minute_limit": None, "runs": {}}
    with common.scratch_dir("b9") as workdir:
        for p in providers:
            for backend in backends:
                if backend != "sqlite" and not common.pg_available():
                    common.say(f"B9 {p} {backend}: skipped (no server)")
                    continue
                out["runs"].setdefault(p, {})[backend] = one(
                    p, backend, n, workdir, profile=getattr(opts, "profile", False))
    path = common.write_result("b9_write_back", out, dev=common.is_dev(opts)
                               or bool(provider) or getattr(opts, "profile", False))
    common.say(f"B9 results in {path}")
    return out
