"""B7: the dashboard and portal pages at 100,000 memos (issue 3, item 6).

Target: the memo list, the memo page and the portal overview render in p95 < 100 ms with
100,000 memos in the database.

Set-up (bulk inserts, not timed): 1,000 customers, one of them ("the big customer") holding
5% of the memos; every status (40% issued, 20% partially applied, 30% applied, 5% draft, 5%
void); 30% of the memos have 1-3 lines; every applied or partially applied memo has one or
two applications to invoices of its customer (whose credited amounts and statuses agree);
three open invoices per customer and 300 for the big customer; an issue journal entry per
issued memo and audit events ("created", "issued"), as the services would have written.
The partner shows credit to all customers, so the portal overview also sums the big
customer's available credit.

Measured on ``creditdesk serve --workers N`` (bench/server.py), sequentially, one request at
a time, round-robin over the cases (request i of every case, then i+1), with two
``httpx.Client`` sessions: a dashboard user signed in through ``/login`` (cookie session +
CSRF token) and the big customer's portal session opened through a portal sign-in link.
Baseline, same run, interleaved: ``GET /healthz`` (and a static file, for information).

SQLite (the default database) always; PostgreSQL too when it is reachable (database
``creditdesk_bench_pages``, dropped afterwards). ``--quick``: 5,000 memos, 100 customers.
``--backend sqlite|postgres``: one backend only.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable

import httpx
from sqlalchemy import select

from bench import common, seed
from bench.server import Server
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.journal import Account, EntryKind
from creditdesk.services.access import portal_links
from creditdesk.services.common import numbering, pagination
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.customer_accounts import visibility

PG_DB = "creditdesk_bench_pages"
TARGET_MS = 100.0
BIG_SHARE = 0.05
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- set-up ------------------------------------------------------------------------

class _Seeder:
    """Rows for one partner, inserted in bulk (seed._insert), never timed."""

    def __init__(self, db: Database, actor: Actor, n_customers: int, rnd: random.Random) -> None:
        self.db, self.partner, self.rnd = db, actor.partner_id, rnd
        self.now = clock.now()
        self.today = self.now.date()
        self.cids = seed.customers(db, self.partner, n_customers, self.now)
        self.big = self.cids[0]
        self.invoices: list[dict] = []
        self.inv_lines: list[dict] = []

    def _invoice(self, customer_id: str, total: int, credited: int) -> str:
        iid = new_id("inv")
        status = "open" if credited == 0 else "paid" if credited == total else "partially_paid"
        self.invoices.append({
            "id": iid, "partner_id": self.partner, "customer_id": customer_id, "number": "",
            "currency": "USD", "status": status, "issue_date": self.today, "due_date": None,
            "total_minor": total, "paid_minor": 0, "credited_minor": credited, "notes": None,
            "issued_at": self.now, "voided_at": None, "created_at": self.now,
            "updated_at": self.now})
        self.inv_lines.append({
            "id": new_id("il"), "partner_id": self.partner, "invoice_id": iid, "position": 0,
            "description": "Managed services", "quantity": 1, "unit_price_minor": total,
            "amount_minor": total, "variant_id": None})
        return iid

    def load(self, n_memos: int) -> dict[str, int]:
        rnd, now = self.rnd, self.now
        statuses = [s for s, _ in seed.MEMO_MIX]
        weights = [w for _, w in seed.MEMO_MIX]
        counts = dict.fromkeys(statuses, 0)
        memos, lines, apps, journal, audit = [], [], [], [], []
        first_cm = seed._bump_counter(self.db, self.partner, numbering.MEMO, n_memos)
        for i in range(n_memos):
            cid = self.big if rnd.random() < BIG_SHARE else rnd.choice(self.cids)
            status = rnd.choices(statuses, weights)[0]
            counts[status] += 1
            mid = new_id("cm")
            if rnd.random() < 0.30:
                total = 0
                for pos in range(rnd.randint(1, 3)):
                    qty, price = rnd.randint(1, 5), rnd.randrange(500, 50_000)
                    total += qty * price
                    lines.append({"id": new_id("cml"), "partner_id": self.partner,
                                  "credit_memo_id": mid, "position": pos,
                                  "description": f"Returned item {pos + 1}", "quantity": qty,
                                  "unit_price_minor": price, "amount_minor": qty * price,
                                  "variant_id": None})
            else:
                total = rnd.randrange(1_000, 500_000)
            applied = (total if status == "applied" else rnd.randrange(1, total)
                       if status == "partially_applied" else 0)
            if applied:
                parts = [applied] if applied < 2 or rnd.random() < 0.7 else \
                    [applied // 2, applied - applied // 2]
                for part in parts:
                    extra = 0 if rnd.random() < 0.5 else rnd.randrange(1, 100_000)
                    iid = self._invoice(cid, part + extra, part)
                    apps.append({"id": new_id("ca"), "partner_id": self.partner,
                                 "credit_memo_id": mid, "invoice_id": iid, "amount_minor": part,
                                 "applied_at": now, "applied_by": "user:bench"})
            issued = status != "draft"
            memos.append({
                "id": mid, "partner_id": self.partner, "customer_id": cid,
                "number": memo_rules.format_number("CM", first_cm + i), "currency": "USD",
                "reason": "goodwill", "status": status,
                "issue_date": self.today if issued else None, "invoice_id": None,
                "total_minor": total, "applied_minor": applied, "notes": None,
                "source": "native", "external_id": None, "issued_at": now if issued else None,
                "applied_at": now if status == "applied" else None,
                "voided_at": now if status == "void" else None,
                "void_reason": "Raised in error" if status == "void" else None,
                "created_at": now, "updated_at": now})
            audit.append({"id": new_id("aud"), "partner_id": self.partner, "at": now,
                          "actor": "user:bench", "action": "credit_memo.created",
                          "entity_type": "credit_memo", "entity_id": mid, "data": {}})
            if issued:
                audit.append({"id": new_id("aud"), "partner_id": self.partner, "at": now,
                              "actor": "user:bench", "action": "credit_memo.issued",
                              "entity_type": "credit_memo", "entity_id": mid, "data": {}})
                journal.append({
                    "id": new_id("je"), "partner_id": self.partner, "entry_date": self.today,
                    "description": f"Credit memo {memos[-1]['number']}",
                    "kind": EntryKind.MEMO_ISSUE.value, "source_type": "credit_memo",
                    "source_id": mid, "debit_account": Account.SALES_RETURNS.value,
                    "credit_account": Account.ACCOUNTS_RECEIVABLE.value,
                    "amount_minor": total, "currency": "USD", "created_at": now})
        for cid in self.cids:  # open invoices the memos can still be applied to
            for _ in range(300 if cid == self.big else 3):
                self._invoice(cid, rnd.randrange(10_000, 1_000_000), 0)
        first_inv = seed._bump_counter(self.db, self.partner, numbering.INVOICE,
                                       len(self.invoices))
        for j, inv in enumerate(self.invoices):
            inv["number"] = memo_rules.format_number("INV", first_inv + j)
        seed._insert(self.db, models.Invoice.__table__, self.invoices)
        seed._insert(self.db, models.InvoiceLine.__table__, self.inv_lines)
        seed._insert(self.db, models.CreditMemo.__table__, memos)
        seed._insert(self.db, models.CreditMemoLine.__table__, lines)
        seed._insert(self.db, models.CreditApplication.__table__, apps)
        seed._insert(self.db, models.JournalEntry.__table__, journal)
        seed._insert(self.db, models.AuditEvent.__table__, audit)
        return {**counts, "memo_lines": len(lines), "applications": len(apps),
                "invoices": len(self.invoices), "journal_entries": len(journal),
                "audit_events": len(audit)}


def _analyze(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


# --- measuring ---------------------------------------------------------------------

def _summary(seconds: list[float]) -> dict[str, float]:
    out = common.latency_summary(seconds)
    out["p95_ms"] = round(common.percentile([s * 1e3 for s in seconds], 95), 3)
    return out


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError("no csrf_token in the page")
    return found.group(1)


def _sign_in_dashboard(c: httpx.Client, email: str) -> None:
    token = _csrf(c.get("/login").text)
    r = c.post("/login", data={"email": email, "password": "bench-password",
                               "csrf_token": token, "next": "/dashboard/credit-memos"})
    if r.status_code != 303 or "login" in r.headers.get("location", "login"):
        raise RuntimeError(f"dashboard sign-in failed: {r.status_code} {r.text[:300]}")


def _sign_in_portal(c: httpx.Client, link_token: str) -> None:
    page = c.get(f"/portal/sign-in/{link_token}")
    r = c.post(f"/portal/sign-in/{link_token}", data={"csrf_token": _csrf(page.text)})
    if r.status_code != 303 or r.headers.get("location") != "/portal/":
        raise RuntimeError(f"portal sign-in failed: {r.status_code} {r.text[:300]}")


def _targets(db: Database, partner_id: str, big: str) -> dict[str, str]:
    """The memo shown on the memo page (the big customer's partially applied memo with the
    most applications) and the cursor of a later list page (after 1,000 memos)."""
    cm, ca = models.CreditMemo, models.CreditApplication
    with db.read() as s:
        memo_id = s.scalars(
            select(cm.id).join(ca, ca.credit_memo_id == cm.id)
            .where(cm.partner_id == partner_id, cm.customer_id == big,
                   cm.status == "partially_applied")
            .group_by(cm.id).order_by(cm.id.desc()).limit(1)).one()
        later = s.scalars(select(cm.id).where(cm.partner_id == partner_id)
                          .order_by(cm.id.desc()).offset(1_000).limit(1)).one_or_none()
        if later is None:  # tiny --n
            later = s.scalars(select(cm.id).where(cm.partner_id == partner_id)
                              .order_by(cm.id.asc()).limit(1)).one()
    return {"memo_id": memo_id, "cursor": pagination.encode(later)}


def _measure(srv: Server, email: str, link_token: str, big: str, targets: dict[str, str],
             n_memos: int, k: int, rnd: random.Random) -> dict[str, dict[str, float]]:
    with httpx.Client(base_url=srv.base_url, timeout=30) as dash, \
            httpx.Client(base_url=srv.base_url, timeout=30) as cust:
        _sign_in_dashboard(dash, email)
        _sign_in_portal(cust, link_token)

        def get(c: httpx.Client, path: str, params: dict | None = None,
                must: str | None = None) -> None:
            r = c.get(path, params=params)
            if r.status_code != 200 or (must and must not in r.text):
                raise RuntimeError(f"GET {path} {params}: {r.status_code} {r.text[:300]}")

        def prefix(_i: int) -> str:
            return f"CM-{rnd.randrange(1000, max(1001, min(9999, n_memos)))}"

        memo = targets["memo_id"]
        calls: dict[str, Callable[[int], object]] = {
            "healthz": lambda i: get(dash, "/healthz"),
            "static app.css": lambda i: get(dash, "/static/app.css"),
            "memo list": lambda i: get(dash, "/dashboard/credit-memos", must="next-page"),
            "memo list status=issued": lambda i: get(dash, "/dashboard/credit-memos",
                                                     {"status": "issued"}),
            "memo list customer_id": lambda i: get(dash, "/dashboard/credit-memos",
                                                   {"customer_id": big}),
            "memo list q=number": lambda i: get(dash, "/dashboard/credit-memos",
                                                {"q": prefix(i)}),
            "memo list cursor": lambda i: get(dash, "/dashboard/credit-memos",
                                              {"cursor": targets["cursor"]}),
            "memo page": lambda i: get(dash, f"/dashboard/credit-memos/{memo}",
                                       must="Invoice applications"),
            "portal overview": lambda i: get(cust, "/portal/", must="credit"),
        }
        samples = common.interleaved_samples(calls, k)
    return {name: _summary(s) for name, s in samples.items()}


def _one_backend(backend: str, opts, n_memos: int, n_customers: int, k: int) -> dict:
    with common.scratch_dir("b7") as workdir:
        url = (common.sqlite_url(workdir, "pages") if backend == "sqlite"
               else common.pg_recreate(PG_DB))
        try:
            db = common.migrated(url)
            actor, _ = common.new_partner(db)
            email = actor.name.removeprefix("user:")
            rnd = random.Random(7)
            t0 = time.perf_counter()
            seeder = _Seeder(db, actor, n_customers, rnd)
            counts = seeder.load(n_memos)
            _analyze(db)
            visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
            link = portal_links.create_link(db, actor=actor, customer_id=seeder.big)
            targets = _targets(db, actor.partner_id, seeder.big)
            with db.read() as s:
                big_memos = len(s.scalars(select(models.CreditMemo.id).where(
                    models.CreditMemo.customer_id == seeder.big)).all())
            db.dispose()
            common.say(f"B7 {backend}: loaded {n_memos:,} memos over {n_customers:,} "
                       f"customers (big customer: {big_memos:,} memos) in "
                       f"{time.perf_counter() - t0:.0f} s: {counts}")
            with Server(url, opts.workers, workdir) as srv:
                got = _measure(srv, email, link.token, seeder.big, targets, n_memos, k,
                               random.Random(11))
        finally:
            if backend == "postgres":
                common.pg_drop(PG_DB)
    base = got.pop("healthz")
    static = got.pop("static app.css")
    out: dict = {"seeded": {**counts, "customers": n_customers, "big_customer_memos": big_memos},
                 "healthz": base, "static_file": static, "pages": {}}
    common.say(f"B7 {backend} GET /healthz        p50 {base['p50_ms']:6.2f} "
                f"p95 {base['p95_ms']:6.2f} ms (baseline)")
    common.say(f"B7 {backend} GET /static/app.css p50 {static['p50_ms']:6.2f} "
                f"p95 {static['p95_ms']:6.2f} ms")
    for name, r in got.items():
        r.update(target=f"p95 < {TARGET_MS:.0f} ms", met=r["p95_ms"] < TARGET_MS,
                 p95_over_healthz_p95=common.ratio(r["p95_ms"], base["p95_ms"]))
        out["pages"][name] = r
        common.say(f"B7 {backend} {name:<24} p50 {r['p50_ms']:6.2f} p95 {r['p95_ms']:6.2f} "
                   f"p99 {r['p99_ms']:6.2f} ms ({r['p95_over_healthz_p95']:5.1f}x /healthz "
                   f"p95; target p95 < {TARGET_MS:.0f} ms) {common.verdict(r['met'])}")
    return out


def run(opts) -> dict:
    n_memos = opts.n or (5_000 if opts.quick else 100_000)
    n_customers = 100 if opts.quick else 1_000
    k = 50 if opts.quick else 200
    backends = [opts.backend] if opts.backend else ["sqlite", "postgres"]
    out: dict = {"quick": opts.quick, "memos": n_memos, "customers": n_customers,
                 "requests_per_case": k, "warmup_per_case": 20, "workers": opts.workers,
                 "target": f"p95 < {TARGET_MS:.0f} ms", "backends": {}}
    for backend in backends:
        if backend == "postgres" and not common.pg_available():
            common.say("B7 postgres: skipped (no PostgreSQL)")
            continue
        out["backends"][backend] = _one_backend(backend, opts, n_memos, n_customers, k)
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    common.write_result("b7_pages", out, dev=common.is_dev(opts))
    return out
