"""Fast set-up of benchmark data with bulk inserts that respect the schema's constraints.

The rows are what the services would have written (ids from ``new_id``, numbers from the
partner's counters, statuses that agree with the amounts, one line per invoice); only the
journal entries and audit events of set-up are left out: no measured path reads them.
``copy_memos`` loads millions of memos on PostgreSQL with COPY.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

import psycopg
from sqlalchemy import insert, update

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import memo as memo_rules
from creditdesk.services.common import numbering
from creditdesk.services.common.context import clock, new_id

CHUNK = 5_000


@dataclass(frozen=True)
class Pair:
    """An issued memo and an open invoice of the same customer, ready to be applied."""

    memo_id: str
    invoice_id: str
    customer_id: str


def _insert(db: Database, table, rows: list[dict]) -> None:
    with db.engine.begin() as conn:
        for i in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[i:i + CHUNK])


def _bump_counter(db: Database, partner_id: str, name: str, by: int) -> int:
    """Reserve ``by`` numbers; returns the first."""
    c = models.Counter
    with db.engine.begin() as conn:
        last = conn.execute(update(c).where(c.partner_id == partner_id, c.name == name)
                            .values(value=c.value + by).returning(c.value)).scalar_one()
    return last - by + 1


def customers(db: Database, partner_id: str, count: int, now: datetime | None = None) -> list[str]:
    now = now or clock.now()
    ids = [new_id("cus") for _ in range(count)]
    _insert(db, models.Customer.__table__, [
        {"id": cid, "partner_id": partner_id, "name": f"Customer {i:06d}",
         "email": f"ap{i}@customer.example", "currency": "USD", "created_at": now,
         "updated_at": now} for i, cid in enumerate(ids)])
    return ids


def pairs(db: Database, partner_id: str, customer_ids: list[str], count: int, *,
          memo_minor: int = 6_000, invoice_minor: int = 10_000) -> list[Pair]:
    """``count`` issued memos and open invoices, pair i belonging to customer i mod len."""
    now = clock.now()
    today = now.date()
    first_inv = _bump_counter(db, partner_id, numbering.INVOICE, count)
    first_cm = _bump_counter(db, partner_id, numbering.MEMO, count)
    made = [Pair(new_id("cm"), new_id("inv"), customer_ids[i % len(customer_ids)])
            for i in range(count)]
    _insert(db, models.Invoice.__table__, [
        {"id": p.invoice_id, "partner_id": partner_id, "customer_id": p.customer_id,
         "number": memo_rules.format_number("INV", first_inv + i), "currency": "USD",
         "status": "open", "issue_date": today, "due_date": None, "total_minor": invoice_minor,
         "paid_minor": 0, "credited_minor": 0, "notes": None, "issued_at": now,
         "voided_at": None, "created_at": now, "updated_at": now}
        for i, p in enumerate(made)])
    _insert(db, models.InvoiceLine.__table__, [
        {"id": new_id("il"), "partner_id": partner_id, "invoice_id": p.invoice_id,
         "position": 0, "description": "Managed services", "quantity": 1,
         "unit_price_minor": invoice_minor, "amount_minor": invoice_minor, "variant_id": None}
        for p in made])
    _insert(db, models.CreditMemo.__table__, [
        {"id": p.memo_id, "partner_id": partner_id, "customer_id": p.customer_id,
         "number": memo_rules.format_number("CM", first_cm + i), "currency": "USD",
         "reason": "goodwill", "status": "issued", "issue_date": today, "invoice_id": None,
         "total_minor": memo_minor, "applied_minor": 0, "notes": None, "source": "native",
         "external_id": None, "issued_at": now, "applied_at": None, "voided_at": None,
         "void_reason": None, "created_at": now, "updated_at": now}
        for i, p in enumerate(made)])
    return made


# Status mix of the read benchmark: (status, share); amounts agree with each status.
MEMO_MIX = (("issued", 0.40), ("partially_applied", 0.20), ("applied", 0.30),
            ("draft", 0.05), ("void", 0.05))


def _memo_amounts(status: str, rnd: random.Random) -> tuple[int, int]:
    total = rnd.randrange(1_000, 500_000)
    if status == "partially_applied":
        return total, rnd.randrange(1, total)
    if status == "applied":
        return total, total
    return total, 0


def copy_memos(dsn: str, partner_id: str, customer_ids: list[str], count: int, *,
               seed: int = 7) -> dict[str, int]:
    """COPY ``count`` memos spread at random over the customers; returns counts by status."""
    rnd = random.Random(seed)
    now = clock.now()
    today = now.date()
    statuses = [s for s, _ in MEMO_MIX]
    weights = [w for _, w in MEMO_MIX]
    counts = dict.fromkeys(statuses, 0)
    cols = ("id", "partner_id", "customer_id", "number", "currency", "reason", "status",
            "issue_date", "total_minor", "applied_minor", "source", "issued_at", "applied_at",
            "voided_at", "void_reason", "created_at", "updated_at")
    with psycopg.connect(dsn) as conn:
        first = conn.execute(
            "UPDATE counters SET value = value + %s WHERE partner_id = %s AND name = %s "
            "RETURNING value", (count, partner_id, numbering.MEMO)).fetchone()[0] - count + 1
        with conn.cursor() as cur, cur.copy(
                f"COPY credit_memos ({', '.join(cols)}) FROM STDIN") as copy:
            for i in range(count):
                status = rnd.choices(statuses, weights)[0]
                counts[status] += 1
                total, applied = _memo_amounts(status, rnd)
                issued = status != "draft"
                copy.write_row((
                    new_id("cm"), partner_id, rnd.choice(customer_ids),
                    memo_rules.format_number("CM", first + i), "USD",
                    "goodwill", status, today if issued else None, total, applied, "native",
                    now if issued else None, now if status == "applied" else None,
                    now if status == "void" else None,
                    "Raised in error" if status == "void" else None, now, now))
        conn.execute("ANALYZE credit_memos")
        conn.execute("ANALYZE customers")
    return counts
