"""B6: syncing at scale from the fake QuickBooks Online and the fake Xero (issue 4, item 6),
on SQLite and PostgreSQL.

For every provider and backend a fresh fake runs in a process of its own with 100,000 credit
memos / notes (over 2,000 customers, statuses mixed, last updated over the past year), and
the sync runs in a fresh "worker" process of its own (spawned: nothing inherited), calling
the same service functions as every job runner — ``sync.request_run`` → ``claim_next`` →
``execute``, which is also what the Procrastinate task does on PostgreSQL — at each
provider's real page size (QuickBooks Online: 1,000 a query page; Xero: 100 a page, the
CreditNotes endpoint's ``page=N`` size, no ``pageSize`` sent):

- a full first sync of all memos; target < 60 s;
- an incremental sync after 100 changes at the source; target < 2 s. QuickBooks Online: 80
  partly applied, 10 voided, 10 deleted (→ 20 voided here). Xero: 80 allocations, 10 voided
  (unallocated AUTHORISED notes), 10 deleted — Xero deletes only DRAFT notes, which a sync
  never imports, so those land as no-ops (→ 10 voided here);
- the worker's peak resident memory (psutil RSS, sampled every 20 ms); target < 300 MB.

Baseline, same run, same worker: paging through all memos with the connector alone
(HTTP + JSON + parsing, nothing written).

The fake Xero is built **without its 60-calls-a-minute limit** (``minute_limit=None``): the
1,011 pages at 60 a minute would take about 17 minutes against a real organisation, and the
target is about CreditDesk's side. Its daily limit stays Xero's 5,000 calls (each fake gets
2,024 at full size: baseline, full sync, incremental), raised only for ``--n`` above ~160,000.

Backends: SQLite; PostgreSQL at ``CREDITDESK_BENCH_PG`` (database ``creditdesk_bench_sync``,
created and dropped here) twice: ``postgres``, the server as it is, and
``postgres_autoanalyze``, the same with autovacuum's default autoanalyze done by the
benchmark (``AutoAnalyze``), since autovacuum is off on the bench server and a database
filled by the sync otherwise has no planner statistics. ``--backend sqlite|postgres``: one
backend (postgres: both PostgreSQL runs). ``--provider quickbooks_online|xero``: one
provider. ``--quick``: 5,000 memos.

With invoices (issue 13, item 8; ``--records invoices``, or ``both``, the default: this
phase after the memo-only one, into ``b6_sync_invoices.json``): the fake also keeps N
invoices, invoice i the customer of memo i, net of memo i's applied credit (Xero: memo i's
allocations point at it), open / partly paid / paid by i (``invoice_amounts``); the full
first sync of N memos and N invoices has the target < 90 s, on SQLite and PostgreSQL as is.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil

from bench import common

QBO, XERO = "quickbooks_online", "xero"
PROVIDERS = (QBO, XERO)
BACKENDS = ("sqlite", "postgres", "postgres_autoanalyze")
PAGE_SIZES = {QBO: 1000, XERO: 100}
REALM = "9130355"  # the fake QuickBooks Online company
TENANT = "f6f1b2c3-0000-4000-8000-0000000b6b6b"  # the fake Xero organisation
COMPANY = "Harbor Books (bench)"
PG_DB = "creditdesk_bench_sync"
CUSTOMERS = 2_000
CHANGES = 100
XERO_DAY_LIMIT = 5_000  # Xero's daily calls per organisation
# what the incremental sync must report after the changes: (updated, voided)
EXPECTED = {QBO: (80, 20), XERO: (80, 10)}
FULL_TARGET_S, INCREMENTAL_TARGET_S, RSS_TARGET_MB = 60.0, 2.0, 300.0
WITH_INVOICES_TARGET_S = 90.0  # issue 13 item 8: N memos and N invoices in a first sync


# --- the fakes' process ---------------------------------------------------------------

Fake = tuple[Any, dict[str, Any], Callable[[], int]]  # (ASGI app, info for the parent, change)


def invoice_amounts(i: int, credited: int) -> tuple[int, int]:
    """Invoice i's total and what of it is paid (whole currency units), ``credited`` of it
    already covered by credit: open, partly paid, paid, open again (i % 4)."""
    total = 500 + (i % 400)  # always more than a memo's total
    rest = total - credited
    return total, (0, rest // 2, rest, 0)[i % 4]


def _qbo_fake(n: int, invoices: bool = False) -> Fake:
    from creditdesk_devtools.fakes.qbo import create_app
    from creditdesk_devtools.fakes.qbo_state import FakeQboState, stamp

    state = FakeQboState()
    state.add_company(REALM, COMPANY, "US")
    start = state.now() - timedelta(days=366)
    company = state.companies[REALM]
    memos = company.memos
    for i in range(n):
        total = 50 + (i % 400)
        remaining = (total, total // 2, 0)[i % 3]
        mid = state.add_memo(REALM, total=f"{total}.00", remaining=f"{remaining}.00",
                             customer_id=str(1000 + i % CUSTOMERS),
                             customer_name=f"Customer {1000 + i % CUSTOMERS}")
        when = stamp(start + timedelta(seconds=300 * i))  # spread over a year, in order
        memos[mid]["MetaData"] = {"CreateTime": when, "LastUpdatedTime": when}
        if invoices:  # the same customer's invoice, its balance net of this memo's credit
            inv_total, paid = invoice_amounts(i, total - remaining)
            day = (start + timedelta(seconds=300 * i)).date()
            iid = state.add_invoice(
                REALM, total=f"{inv_total}.00",
                balance=f"{inv_total - (total - remaining) - paid}.00",
                customer_id=str(1000 + i % CUSTOMERS),
                customer_name=f"Customer {1000 + i % CUSTOMERS}", doc_number=f"INV-{i + 1:06d}",
                txn_date=day.isoformat(), due_date=(day + timedelta(days=30)).isoformat())
            when = stamp(start + timedelta(seconds=300 * i + 150))
            company.invoices[iid]["MetaData"] = {"CreateTime": when, "LastUpdatedTime": when}
    issued = state.issue_tokens(REALM)
    tokens = {"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
              "access_expires_at": time.time() + issued["expires_in"]}  # as oauth.py keeps them

    def change() -> int:
        ids = sorted(memos, key=int)[:: max(1, n // CHANGES)][:CHANGES]
        for k, mid in enumerate(ids):
            if k < 80:
                state.apply_credit(REALM, mid, "1.00")
            elif k < 90:
                state.void_memo(REALM, mid)
            else:
                state.delete_memo(REALM, mid)
        return len(ids)

    info = {"client_id": state.client_id, "client_secret": state.client_secret,
            "tokens": tokens, "realm_id": REALM}
    return create_app(state), info, change


def _xero_fake(n: int, invoices: bool = False) -> Fake:
    from creditdesk.connectors.xero_records import msdate
    from creditdesk_devtools.fakes.xero import create_app
    from creditdesk_devtools.fakes.xero_state import FakeXeroState, amount

    pages = -(-n // PAGE_SIZES[XERO]) * (2 if invoices else 1)
    state = FakeXeroState(minute_limit=None,  # see the module docstring
                          day_limit=max(XERO_DAY_LIMIT, 3 * pages + 100))
    state.add_org(TENANT, COMPANY, "US")
    notes = state.orgs[TENANT].notes
    start = state.now() - timedelta(days=366)
    ids: list[str] = []
    for i in range(n):
        total = 50 + (i % 400)
        remaining = (total, total // 2, 0)[i % 3]
        customer = 1000 + i % CUSTOMERS
        day = (start + timedelta(seconds=300 * i)).date().isoformat()
        nid = state.add_credit_note(
            TENANT, total=f"{total}.00", remaining=f"{remaining}.00",
            contact_id=f"00000000-0000-4000-8000-{customer:012d}",
            contact_name=f"Customer {customer}", date=day,
            status="PAID" if remaining == 0 else "AUTHORISED")
        raw = notes[nid]
        invoice_id = (_xero_invoice(state, i, customer, start + timedelta(seconds=300 * i),
                                    raw, total - remaining)
                      if invoices else str(uuid.uuid4()))
        if remaining < total:  # applied to an invoice, as Xero shows it
            raw["Allocations"].append({
                "AllocationID": str(uuid.uuid4()), "Amount": amount(total - remaining),
                "Date": raw["Date"], "Invoice": {"InvoiceID": invoice_id,
                                                 "InvoiceNumber": f"INV-{i + 1:06d}"}})
        raw["UpdatedDateUTC"] = msdate(start + timedelta(seconds=300 * i))  # over a year
        ids.append(nid)
    drafts = []  # not yet approved: never imported; the only notes Xero lets you delete
    for k in range(CHANGES // 10):
        nid = state.add_credit_note(TENANT, total="75.00", status="DRAFT",
                                    contact_id=f"00000000-0000-4000-8000-{1000:012d}",
                                    contact_name="Customer 1000")
        notes[nid]["UpdatedDateUTC"] = msdate(start + timedelta(seconds=300 * k + 150))
        drafts.append(nid)
    event = state.codes.pop(state.grant([TENANT]))
    issued = state.issue_tokens(event)
    tokens = {"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
              "access_expires_at": time.time() + issued["expires_in"]}

    def change() -> int:
        untouched = ids[::3]  # i % 3 == 0: AUTHORISED, nothing allocated
        chosen = untouched[:: max(1, len(untouched) // (CHANGES - len(drafts)))]
        chosen = chosen[:CHANGES - len(drafts)]
        for k, nid in enumerate(chosen):
            if k < 80:
                state.allocate(TENANT, nid, "1.00")
            else:
                state.void(TENANT, nid)
        for nid in drafts:
            state.delete(TENANT, nid)
        return len(chosen) + len(drafts)

    info = {"client_id": state.client_id, "client_secret": state.client_secret,
            "tokens": tokens, "realm_id": TENANT, "notes": len(notes)}
    return create_app(state), info, change


def _xero_invoice(state: Any, i: int, customer: int, at: datetime, note: dict[str, Any],
                  credited: int) -> str:
    """Invoice i of the fake Xero: the customer's, ``credited`` of it covered by credit note
    i's allocation, partly or wholly paid (``invoice_amounts``), updated just after note i."""
    from creditdesk.connectors.xero_records import msdate
    from creditdesk_devtools.fakes.xero_state import amount

    total, paid = invoice_amounts(i, credited)
    day = at.date()
    iid = state.add_invoice(TENANT, subtotal=f"{total}.00", number=f"INV-{i + 1:06d}",
                            contact_id=f"00000000-0000-4000-8000-{customer:012d}",
                            contact_name=f"Customer {customer}", date=day.isoformat(),
                            due=(day + timedelta(days=30)).isoformat())
    raw = state.orgs[TENANT].invoices[iid]
    if paid:
        raw["Payments"].append({"PaymentID": str(uuid.uuid4()), "Amount": amount(paid),
                                "Date": raw["Date"]})
    raw.update(AmountPaid=amount(paid), AmountCredited=amount(credited),
               AmountDue=amount(total - credited - paid),
               Status="PAID" if total == credited + paid else "AUTHORISED",
               UpdatedDateUTC=msdate(at + timedelta(seconds=150)))
    if credited:  # as the Invoice schema shows an allocation to it
        raw["CreditNotes"].append({
            "CreditNoteID": note["CreditNoteID"], "ID": note["CreditNoteID"],
            "CreditNoteNumber": note["CreditNoteNumber"], "AppliedAmount": amount(credited),
            "Total": note["Total"]})
    return iid


def serve(app: Any) -> tuple[Any, int]:
    """A fake's ASGI app served on a free local port from a thread: (server, port)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, server.servers[0].sockets[0].getsockname()[1]


def _fake_main(conn: Any, provider: str, n: int, invoices: bool = False) -> None:
    app, info, change = (_qbo_fake if provider == QBO else _xero_fake)(n, invoices)
    server, port = serve(app)
    conn.send({**info, "port": port})
    while True:
        command = conn.recv()
        if command == "change":
            conn.send(change())
        else:
            server.should_exit = True
            conn.send("bye")
            return


def _environment(provider: str, info: dict[str, Any]) -> dict[str, str]:
    """The provider settings (connectors/settings.py) pointing at the fake."""
    base = f"http://127.0.0.1:{info['port']}"
    if provider == QBO:
        return {"CREDITDESK_QBO_API_BASE": f"{base}/v3",
                "CREDITDESK_QBO_TOKEN_URL": f"{base}/oauth2/v1/tokens/bearer",
                "CREDITDESK_QBO_CLIENT_ID": info["client_id"],
                "CREDITDESK_QBO_CLIENT_SECRET": info["client_secret"]}
    return {"CREDITDESK_XERO_API_BASE": f"{base}/api.xro/2.0",
            "CREDITDESK_XERO_AUTH_URL": f"{base}/identity/connect/authorize",
            "CREDITDESK_XERO_TOKEN_URL": f"{base}/connect/token",
            "CREDITDESK_XERO_CONNECTIONS_URL": f"{base}/connections",
            "CREDITDESK_XERO_CLIENT_ID": info["client_id"],
            "CREDITDESK_XERO_CLIENT_SECRET": info["client_secret"]}


# --- the worker's process -------------------------------------------------------------

def _worker_main(conn: Any, url: str, integration_id: str) -> None:
    from creditdesk.db.engine import Database
    from creditdesk.db.models import SyncRun
    from creditdesk.jobs import sync as sync_jobs
    from creditdesk.services.books import sync

    db = Database(url)
    with sync_jobs.default_client() as client:
        build = sync_jobs.connector_factory(client)
        while (command := conn.recv()) != "stop":
            t0 = time.perf_counter()
            if command == "baseline":
                connector = build(sync.snapshot(db, integration_id), lambda tokens: None)
                fetched = pages = 0
                for batch in connector.fetch({}):
                    fetched, pages = fetched + len(batch.records), pages + 1
                conn.send({"seconds": time.perf_counter() - t0, "fetched": fetched,
                           "pages": pages})
                continue
            run_id = sync.request_run(db, integration_id=integration_id, trigger="manual")
            assert sync.claim_next(db, integration_id=integration_id) == run_id
            sync.execute(db, run_id, build)
            seconds = time.perf_counter() - t0
            with db.read() as s:
                r = s.get_one(SyncRun, run_id)
                conn.send({"seconds": seconds, "status": r.status, "fetched": r.fetched,
                           "created": r.created, "updated": r.updated, "voided": r.voided,
                           "invoices_created": r.invoices_created,
                           "invoices_updated": r.invoices_updated,
                           "errors": len(r.errors),
                           "last_error": r.errors[-1]["message"] if r.errors else None})
    db.dispose()
    conn.send("bye")


class PeakRss:
    """Samples a process's resident memory from outside (psutil) while a phase runs."""

    def __init__(self, pid: int) -> None:
        self.proc, self.peak = psutil.Process(pid), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak / 2**20, 1)


class AutoAnalyze:
    """What autovacuum's autoanalyze does with its default settings, for a server where it is
    off (as on the bench machine): every ``naptime`` (60 s), ANALYZE each table of the
    database with more than 50 + 10% of its rows changed since its last analyze. Without it a
    database filled by the sync has no planner statistics at all during the run."""

    def __init__(self, name: str, naptime: float = 60.0) -> None:
        self.name, self.naptime, self.done = name, naptime, []
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import psycopg

        with psycopg.connect(common.pg_dsn(self.name), autocommit=True) as conn:
            while not self._stop.wait(self.naptime):
                for table, changed, rows in conn.execute(
                        "SELECT s.relname, s.n_mod_since_analyze, c.reltuples "
                        "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
                ).fetchall():
                    if changed > 50 + 0.1 * max(rows, 0):
                        conn.execute(f'ANALYZE "{table}"')
                        self.done.append(f"{time.perf_counter() - self.t0:.0f}s {table}")

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        return self.done


def _integration(url: str, provider: str, info: dict[str, Any]) -> str:
    """A connected integration (set-up, not timed: no OAuth round trip)."""
    return connect(url, provider, info)[1]


def connect(url: str, provider: str, info: dict[str, Any]) -> tuple[Any, str]:
    """A migrated database with a partner and its connected integration to the fake
    (set-up, not timed: no OAuth round trip); the partner's admin and the integration id."""
    from creditdesk.db import models
    from creditdesk.services.common import vault
    from creditdesk.services.common.context import clock, new_id

    db = common.migrated(url)
    actor, _ = common.new_partner(db)
    now = clock.now()
    with db.write() as s:
        row = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider=provider,
            region="us", realm_id=info["realm_id"], company_name=COMPANY,
            status="connected", credentials_encrypted=vault.seal(info["tokens"]), cursor={},
            consecutive_failures=0, next_sync_at=now, created_at=now, updated_at=now)
        s.add(row)
    db.dispose()
    return actor, row.id


def tear_down(fake_end: Any, fake: Any, url: str, pg_db: str) -> None:
    """Stop the fake's process; drop the bench database (or remove the SQLite file)."""
    fake_end.send("stop")
    fake.join(30)
    if not url.startswith("sqlite"):
        common.pg_drop(pg_db)
    elif os.path.exists(url.removeprefix("sqlite:///")):
        os.remove(url.removeprefix("sqlite:///"))


def _autovacuum() -> str:
    import psycopg

    with psycopg.connect(f"{common.PG_SERVER}/postgres") as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
        return str(row[0]) if row else "?"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def one(provider: str, backend: str, n: int, workdir: Any,
        invoices: bool = False) -> dict[str, Any]:
    """Baseline, full sync, changes, incremental sync: fresh fake, database and worker.
    ``backend``: sqlite, postgres (the server as it is: autovacuum off) or
    postgres_autoanalyze (the same with ``AutoAnalyze``). ``invoices``: the fake also
    keeps ``n`` invoices over the same customers (issue 13 item 8; target 90 s)."""
    spawn = mp.get_context("spawn")
    load_start, started = _load(), datetime.now(UTC)
    fake_end, fake_child = spawn.Pipe()
    fake = spawn.Process(target=_fake_main, args=(fake_child, provider, n, invoices),
                         daemon=True)
    t0 = time.perf_counter()
    fake.start()
    info = fake_end.recv()
    what = f"{n} memos" + (f" and {n} invoices" if invoices else "")
    common.say(f"B6 {provider} {backend}: fake with {what} ready in "
               f"{time.perf_counter() - t0:.0f} s")
    os.environ.update(_environment(provider, info))
    os.environ.setdefault("CREDITDESK_SECRET_KEY", "bench-secret-key-b6")
    if backend == "sqlite":
        url = common.sqlite_url(workdir, f"sync_{provider}")
    else:
        url = common.pg_recreate(PG_DB)
    analyzer = None
    try:
        iid = _integration(url, provider, info)
        end, child = spawn.Pipe()
        worker = spawn.Process(target=_worker_main, args=(child, url, iid), daemon=True)
        worker.start()
        if backend == "postgres_autoanalyze":
            analyzer = AutoAnalyze(PG_DB)

        def phase(command: str) -> dict[str, Any]:
            rss = PeakRss(worker.pid or 0)
            end.send(command)
            result = end.recv()
            return {**result, "seconds": round(result["seconds"], 3),
                    "worker_peak_rss_mb": rss.stop()}

        try:
            baseline = phase("baseline")
            full = phase("sync")
            fake_end.send("change")
            changed = fake_end.recv()
            incremental = phase("sync")
        finally:
            end.send("stop")
            worker.join(30)
    finally:
        analyzed = analyzer.stop() if analyzer else None
        tear_down(fake_end, fake, url, PG_DB)
    updated, voided = EXPECTED[provider]
    peak = max(p["worker_peak_rss_mb"] for p in (baseline, full, incremental))
    target = WITH_INVOICES_TARGET_S if invoices else FULL_TARGET_S
    landed = full["created"] == n and full["invoices_created"] == (n if invoices else 0)
    out = {
        "provider": provider, "backend": backend, "page_size": PAGE_SIZES[provider],
        "memos": n, "invoices": n if invoices else 0, "changes": changed,
        "started": started.isoformat(timespec="seconds"),
        "autovacuum": _autovacuum() if backend != "sqlite" else None,
        "analyzed_during_run": analyzed,
        "loadavg_start": load_start, "loadavg_end": _load(),
        "baseline_page_through": baseline,
        "full_sync": {**full, "over_baseline": common.ratio(full["seconds"],
                                                            baseline["seconds"]),
                      "sync_share_s": round(full["seconds"] - baseline["seconds"], 3),
                      "target": f"< {target:.0f} s",
                      "met": full["seconds"] < target and landed and full["errors"] == 0},
        "incremental_sync": {**incremental, "target": f"< {INCREMENTAL_TARGET_S:.0f} s",
                             "met": incremental["seconds"] < INCREMENTAL_TARGET_S
                             and incremental["updated"] == updated
                             and incremental["voided"] == voided
                             and incremental["errors"] == 0},
        "worker_memory": {"peak_rss_mb": peak, "target": f"< {RSS_TARGET_MB:.0f} MB",
                          "met": peak < RSS_TARGET_MB},
    }
    tag = f"B6 {provider} {backend}{' with invoices' if invoices else ''}:"
    common.say(f"{tag} baseline page-through {baseline['seconds']:.1f} s "
               f"({baseline['fetched']} records, {baseline['pages']} pages); full sync "
               f"{full['seconds']:.1f} s ({full['created']} memos and "
               f"{full['invoices_created']} invoices created, {full['errors']} errors"
               f"{', last: ' + str(full['last_error'])[:200] if full['errors'] else ''}, "
               f"x{out['full_sync']['over_baseline']}) {common.verdict(out['full_sync']['met'])}")
    common.say(f"{tag} incremental {incremental['seconds']:.2f} s (fetched "
               f"{incremental['fetched']}, updated {incremental['updated']}, voided "
               f"{incremental['voided']}) {common.verdict(out['incremental_sync']['met'])}; "
               f"worker peak RSS {peak} MB {common.verdict(peak < RSS_TARGET_MB)}; "
               f"load {load_start} → {out['loadavg_end']}")
    return out


def run(opts: Any) -> dict:
    """The phases ``--records`` asks for (default both): memos only (``b6_sync.json``), then
    memos with as many invoices (``b6_sync_invoices.json``; SQLite and PostgreSQL as is)."""
    n = opts.n or (5_000 if opts.quick else 100_000)
    provider = getattr(opts, "provider", None)
    providers = [provider] if provider else list(PROVIDERS)
    backends = {None: BACKENDS, "sqlite": ("sqlite",),
                "postgres": BACKENDS[1:]}[opts.backend]
    records = getattr(opts, "records", None) or "both"
    out: dict[str, Any] = {}
    dev = common.is_dev(opts) or bool(provider)
    with common.scratch_dir("b6") as workdir:
        for invoices in {"memos": (False,), "invoices": (True,),
                         "both": (False, True)}[records]:
            name = "b6_sync_invoices" if invoices else "b6_sync"
            result: dict[str, Any] = {
                "quick": opts.quick, "memos": n, "invoices": n if invoices else 0,
                "customers": min(n, CUSTOMERS), "changes": CHANGES, "page_sizes": PAGE_SIZES,
                "xero_minute_limit": None, "runs": {}}
            for p in providers:
                for backend in backends:
                    if invoices and backend == "postgres_autoanalyze":
                        continue  # the sync ANALYZEs as it grows; "as is" is the case
                    if backend != "sqlite" and not common.pg_available():
                        common.say(f"B6 {p} {backend}: skipped (no server)")
                        continue
                    result["runs"].setdefault(p, {})[backend] = one(p, backend, n, workdir,
                                                                    invoices)
            path = common.write_result(name, result, dev=dev)
            common.say(f"B6 results in {path}")
            out[name] = result
    return out
