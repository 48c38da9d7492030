"""Loading customers' histories for the suggestion detectors: one bulk query per table for a
batch of customers, turned into the domain's plain data (G1)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.domain.suggestions import History, InvoiceData, LineData, MemoData, PriceSeen

# Issued invoices only: a draft can't be credited and a void one needs no credit.
CREDITABLE = ("open", "partially_paid", "paid")


def load_catalogue(session: Session, partner_id: str) -> dict[str, tuple[int, str]]:
    v = models.Variant
    rows = session.execute(select(v.id, v.price_minor, v.currency)
                           .where(v.partner_id == partner_id))
    return {vid: (price, cur) for vid, price, cur in rows}


def load_market(session: Session, partner_id: str,
                customer_id: str | None = None) -> dict[str, dict[int, PriceSeen]]:
    """What the partner's customers were charged per variant and unit price, in the
    variant's own currency (one grouped query): first and last day, lines, customers. The
    detectors read the list price in force on a day from it (domain/suggestions/prices.py:
    the catalogue keeps only current prices). With ``customer_id``, only for the variants
    that customer bought."""
    inv, line, v = models.Invoice, models.InvoiceLine, models.Variant
    stmt = (select(line.variant_id, line.unit_price_minor, func.min(inv.issue_date),
                   func.max(inv.issue_date), func.count(),
                   func.count(func.distinct(inv.customer_id)))
            .join(inv, inv.id == line.invoice_id)
            .join(v, v.id == line.variant_id)
            .where(inv.partner_id == partner_id, inv.status.in_(CREDITABLE),
                   inv.issue_date.is_not(None), inv.currency == v.currency)
            .group_by(line.variant_id, line.unit_price_minor))
    if customer_id is not None:
        bought = (select(line.variant_id).join(inv, inv.id == line.invoice_id)
                  .where(inv.partner_id == partner_id, inv.customer_id == customer_id,
                         line.variant_id.is_not(None)).distinct())
        stmt = stmt.where(line.variant_id.in_(bought))
    market: dict[str, dict[int, PriceSeen]] = defaultdict(dict)
    for vid, price, first, last, n, customers in session.execute(stmt):
        # joined to its variant, and only dated invoices: none of these is NULL
        assert vid is not None and first is not None and last is not None
        assert price is not None  # a line with a variant is a native line: priced (C4)
        market[vid][price] = PriceSeen(first, last, n, customers)
    return dict(market)


def load_feedback(session: Session, partner_id: str) -> dict[str, tuple[int, int]]:
    """The partner's decisions on suggestions so far: reason -> (accepted, dismissed), one
    grouped query (the per-partner calibration, issue 16 item 5)."""
    sg = models.Suggestion
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for reason, status, n in session.execute(
            select(sg.reason, sg.status, func.count())
            .where(sg.partner_id == partner_id, sg.status.in_(("accepted", "dismissed")))
            .group_by(sg.reason, sg.status)):
        counts[reason][0 if status == "accepted" else 1] += n
    return {reason: (a, d) for reason, (a, d) in counts.items()}


# Suggestions are credits this partner drafts here, against its own invoices: a synced
# invoice is credited in its own system (Y3).
NATIVE = "native"


def load_histories(session: Session, partner_id: str, customers: Sequence[models.Customer],
                   catalogue: dict[str, tuple[int, str]],
                   market: dict[str, dict[int, PriceSeen]] | None = None,
                   feedback: dict[str, tuple[int, int]] | None = None,
                   list_prices: dict[str, Any] | None = None) -> list[History]:
    """The histories of ``customers`` (all of the partner's), in the order given;
    ``list_prices`` shared among them (and across batches of one refresh)."""
    ids = [c.id for c in customers]
    inv, line, memo = models.Invoice, models.InvoiceLine, models.CreditMemo
    # Core rows, unpacked as tuples: the ORM's per-row work was a third of a refresh.
    conn = session.connection()
    creditable = (inv.partner_id == partner_id, inv.customer_id.in_(ids),
                  inv.status.in_(CREDITABLE), inv.source == NATIVE)
    lines: dict[str, list[LineData]] = defaultdict(list)
    for invoice_id, lid, text, qty, unit, amount, variant in conn.execute(
            select(line.invoice_id, line.id, line.description, line.quantity,
                   line.unit_price_minor, line.amount_minor, line.variant_id)
            .join(inv, inv.id == line.invoice_id).where(*creditable)
            .order_by(line.invoice_id, line.position)).all():
        assert qty is not None and unit is not None  # a native invoice's lines are priced (C4)
        lines[invoice_id].append(LineData(lid, text, qty, unit, amount, variant))
    memos: dict[str, list[MemoData]] = defaultdict(list)
    for customer_id, linked, reason, total, status in conn.execute(
            select(memo.customer_id, memo.invoice_id, memo.reason, memo.total_minor, memo.status)
            .where(memo.partner_id == partner_id, memo.customer_id.in_(ids),
                   memo.invoice_id.is_not(None), memo.status != "void")).all():
        assert linked is not None  # linked memos only (the query)
        memos[customer_id].append(MemoData(linked, reason, total, status))
    by_customer: dict[str, list[InvoiceData]] = defaultdict(list)
    undated: list[str] = []
    for iid, customer_id, number, day, currency, total in conn.execute(
            select(inv.id, inv.customer_id, inv.number, inv.issue_date, inv.currency,
                   inv.total_minor).where(*creditable)).all():
        if day is None:
            undated.append(iid)
            continue
        by_customer[customer_id].append(InvoiceData(iid, number, day, currency, total,
                                                    tuple(lines[iid])))
    if undated:  # dated by when it was issued (or made): read for these only
        for iid, customer_id, number, at, currency, total in session.execute(
                select(inv.id, inv.customer_id, inv.number,
                       func.coalesce(inv.issued_at, inv.created_at), inv.currency,
                       inv.total_minor).where(inv.id.in_(undated))):
            by_customer[customer_id].append(InvoiceData(iid, number, at.date(), currency,
                                                        total, tuple(lines[iid])))
    per_currency: dict[str, dict[str, int]] = {}
    out = []
    for c in customers:
        prices = per_currency.get(c.currency)
        if prices is None:
            prices = per_currency[c.currency] = {
                vid: price for vid, (price, cur) in catalogue.items() if cur == c.currency}
        out.append(History(c.id, tuple(by_customer[c.id]), tuple(memos[c.id]), prices,
                           catalogue_currency=c.currency, market=market or {},
                           feedback=feedback or {},
                           list_prices=list_prices if list_prices is not None else {}))
    return out
