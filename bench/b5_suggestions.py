"""B5: credit-suggestion refresh (issue 5, item 5) on SQLite, against just reading the data.

Histories come from the G4 generator (``creditdesk_devtools.evaluation``: plans, ad-hoc orders,
price changes, injected duplicates, mispricings and jumps), copied into the database with
fresh ids and the generator's catalogue as the partner's variants.

- one customer with 5,000 invoices (histories of several generated customers merged), in a
  partner of its own: ``suggestions.refresh(customer_id=...)``, first run (creates the
  suggestions) and again (updates them); target < 1 s;
- a whole partner with 10,000 customers and 500,000 invoices (50 each):
  ``suggestions.refresh()`` once, as ``creditdesk suggestions refresh`` runs it; target
  < 120 s.

Baseline, same run, same file: a bare ``sqlite3`` read of those invoices and their lines
(``SELECT`` + ``fetchall``, nothing else). ``--quick``: 1,000 invoices and 500 customers.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from bench import common
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain.suggestions import History
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.suggesting import suggestions
from creditdesk_devtools.evaluation.generator import Generator

SEED = 2024  # not an evaluation seed: only the shape of the data matters here
PER_CUSTOMER = 50
CHUNK = 20_000
SINGLE_TARGET_S, PARTNER_TARGET_S = 1.0, 120.0


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
        for inv in invoices:
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


def _pool(gen: Generator) -> list[History]:
    data = gen.generate(400)
    return [h for h in data.histories if len(h.invoices) >= PER_CUSTOMER]


def _bare_read(path: str, where: str, arg: str) -> tuple[float, int]:
    """Seconds to read the invoices and their lines with sqlite3, and the invoice count."""
    conn = sqlite3.connect(path)
    try:
        t0 = time.perf_counter()
        invs = conn.execute("SELECT id, customer_id, number, issue_date, currency, total_minor "
                            f"FROM invoices WHERE {where} = ?", (arg,)).fetchall()
        conn.execute("SELECT l.invoice_id, l.id, l.description, l.quantity, "
                     "l.unit_price_minor, l.amount_minor, l.variant_id FROM invoice_lines l "
                     f"JOIN invoices i ON i.id = l.invoice_id WHERE i.{where} = ?",
                     (arg,)).fetchall()
        return time.perf_counter() - t0, len(invs)
    finally:
        conn.close()


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(opts: Any) -> None:
    quick = opts.quick
    single_n = 1_000 if quick else 5_000
    customers = opts.n or (500 if quick else 10_000)
    gen = Generator(SEED)
    common.say("generating histories ...")
    pool = _pool(gen)
    with common.scratch_dir("b5") as work:
        url = common.sqlite_url(work, "b5")
        path = str(work / "b5.db")
        db = common.migrated(url)
        try:
            result = {"single": _single(db, gen, pool, path, single_n),
                      "partner": _partner(db, gen, pool, path, customers)}
        finally:
            db.dispose()
    s, p = result["single"], result["partner"]
    result["targets"] = {
        "single_customer_under_1s": s["refresh_first_s"] < SINGLE_TARGET_S
        and s["refresh_again_median_s"] < SINGLE_TARGET_S,
        "whole_partner_under_120s": p["refresh_s"] < PARTNER_TARGET_S}
    path_out = common.write_result("b5_suggestions", {"quick": quick, **result},
                                   dev=common.is_dev(opts))
    common.say(f"results: {path_out}")


def _single(db: Database, gen: Generator, pool: list[History], path: str, n: int) -> dict:
    actor, _ = common.new_partner(db, "Big customer Co")
    loader = _Loader(db, actor, gen)
    merged: list = []
    for h in pool:
        merged.extend(h.invoices)
        if len(merged) >= n:
            break
    cid = loader.customer(merged[:n])
    loader.flush()
    read_s, count = _bare_read(path, "customer_id", cid)
    first_s, first = _timed(lambda: suggestions.refresh(db, actor=actor, customer_id=cid))
    again = []
    for _ in range(3):
        again.append(_timed(lambda: suggestions.refresh(db, actor=actor, customer_id=cid))[0])
    read_again = statistics.median(_bare_read(path, "customer_id", cid)[0] for _ in range(3))
    med = statistics.median(again)
    common.say(f"one customer, {count:,} invoices: refresh {first_s:.3f} s first "
               f"({first.open} open), {med:.3f} s again (median of 3); bare read "
               f"{read_again * 1e3:.1f} ms -> {common.ratio(med, read_again):.1f}x; "
               f"target < {SINGLE_TARGET_S:.0f} s: "
               f"{common.verdict(max(first_s, med) < SINGLE_TARGET_S)}")
    return {"invoices": count, "refresh_first_s": round(first_s, 4),
            "refresh_again_s": [round(x, 4) for x in again],
            "refresh_again_median_s": round(med, 4), "open": first.open,
            "bare_read_s": round(min(read_s, read_again), 4),
            "ratio_to_bare_read": common.ratio(med, min(read_s, read_again))}


def _partner(db: Database, gen: Generator, pool: list[History], path: str,
             customers: int) -> dict:
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
    common.say(f"loaded in {time.perf_counter() - t0:.0f} s")
    read_s, count = _bare_read(path, "partner_id", actor.partner_id)
    ticks: list[tuple[float, int]] = []
    t_start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        ticks.append((time.perf_counter() - t_start, done))

    refresh_s, r = _timed(lambda: suggestions.refresh(db, actor=actor, progress=progress))
    common.say(f"whole partner, {customers:,} customers, {count:,} invoices: refresh "
               f"{refresh_s:.1f} s ({r.open:,} open suggestions); bare read {read_s:.2f} s "
               f"-> {common.ratio(refresh_s, read_s):.1f}x; target < {PARTNER_TARGET_S:.0f} s: "
               f"{common.verdict(refresh_s < PARTNER_TARGET_S)}")
    return {"customers": customers, "invoices": count, "refresh_s": round(refresh_s, 3),
            "open": r.open, "created": r.created, "bare_read_s": round(read_s, 4),
            "ratio_to_bare_read": common.ratio(refresh_s, read_s),
            "first_batch_s": round(ticks[0][0], 3) if ticks else None,
            "per_1000_customers_s": round(refresh_s / customers * 1000, 3)}
