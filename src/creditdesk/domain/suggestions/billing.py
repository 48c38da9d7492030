"""Billing adjustment: a recurring charge (same variant or description, at a regular
cadence) whose unit price jumps against its own history (G1). Credit = (unit price - the
charge's usual unit price) x the quantity billed (G6).

The unit price is what is compared: on a per-seat or per-unit plan a change of quantity is
not an error (G6), and a catch-up for a skipped period bills more units at the same price.
A jump that persists on the following invoices is a change (a new price), not an error; a
recurring variant moving to exactly its list price in force follows an announced change or
the end of a discount. Extra lines of the same charge below its price on one invoice
(prorated seats added mid-period) are not the charge itself: the main line is.
"""

from __future__ import annotations

import math
from collections import defaultdict

from creditdesk.domain.money import Money
from creditdesk.domain.suggestions import stats
from creditdesk.domain.suggestions.keys import series_key
from creditdesk.domain.suggestions.model import Candidate, History, InvoiceData, LineData
from creditdesk.domain.suggestions.prices import list_price

REASON = "billing_adjustment"
HISTORY = 6  # earlier periods that define the charge's usual amount
AFTER = 3  # later periods that tell a one-off jump from a lasting change
MIN_POINTS = 3
MIN_PRIOR = 2  # an annual plan has few periods
MIN_REGULARITY = 0.6
MIN_Z = 3.0


class _Point:
    __slots__ = ("amount", "invoice", "lines", "main")

    def __init__(self, invoice: InvoiceData) -> None:
        self.invoice = invoice
        self.amount = 0
        self.lines: list[LineData] = []
        self.main: LineData | None = None

    @property
    def unit(self) -> int:
        assert self.main is not None
        return self.main.unit_price_minor

    @property
    def qty(self) -> int:
        assert self.main is not None
        return self.main.quantity


def detect(history: History) -> list[Candidate]:
    series: dict[tuple[str, str], dict[str, _Point]] = defaultdict(dict)
    for inv in history.invoices:
        for line in inv.lines:
            point = series[(inv.currency, series_key(line))].setdefault(inv.id, _Point(inv))
            point.amount += line.amount_minor
            point.lines.append(line)
            if point.main is None or (line.unit_price_minor, line.amount_minor) > (
                    point.main.unit_price_minor, point.main.amount_minor):
                point.main = line
    out: list[Candidate] = []
    for by_invoice in series.values():
        if len(by_invoice) < MIN_POINTS:
            continue
        points = sorted(by_invoice.values(), key=lambda p: (p.invoice.issue_date,
                                                             p.invoice.number))
        cad = stats.cadence([p.invoice.issue_date for p in points])
        if cad is None or cad[1] < MIN_REGULARITY or not 5 <= cad[0] <= 400:
            continue
        for idx in range(MIN_PRIOR, len(points)):
            cand = _check(history, points, idx, cad)
            if cand is not None:
                out.append(cand)
    return out


def _check(history: History, points: list[_Point], idx: int,
           cad: tuple[float, float]) -> Candidate | None:
    point = points[idx]
    if point.qty <= 0:
        return None
    prior = [p.unit for p in points[max(0, idx - HISTORY):idx]]
    centre = stats.med(prior)
    if point.unit <= centre:
        return None
    z = (point.unit - centre) / stats.robust_scale(prior, centre)
    if z < MIN_Z:
        return None
    usual = sorted(prior)[len(prior) // 2]  # the upper median: never over-credits
    gap = (point.invoice.issue_date - points[idx - 1].invoice.issue_date).days
    periods = gap / cad[0]
    if periods >= 1.6 and point.unit <= usual * (round(periods) + 0.1):
        return None  # a catch-up invoice for the periods that were skipped
    if abs(periods - round(periods)) > 0.35 or round(periods) < 1:
        return None  # off the charge's cycle: an extra order, not the recurring charge
    if _moves_to_catalogue(history, points[idx - 1], point):
        return None
    after = [p.unit for p in points[idx + 1:idx + 1 + AFTER]]
    midpoint = (point.unit + centre) / 2
    stays = sum(1 for a in after if a >= midpoint) / len(after) if after else 0.5
    if after and stays > 0.5:
        return None  # a lasting change, not a one-off jump
    excess = (point.unit - usual) * point.qty
    prev = points[idx - 1]
    nxt = points[idx + 1] if idx + 1 < len(points) else None
    near = [abs((p.invoice.issue_date - point.invoice.issue_date).days)
            for p in (prev, nxt) if p is not None]
    features = {
        "log_z": math.log1p(min(z, 1000.0)),
        "log_ratio": math.log(point.unit / max(usual, 1)),
        "returned": 1.0 - stays if after else 0.0,
        "unknown_after": 0.0 if after else 1.0,
        "log_history": math.log1p(len(prior)),
        # share of the previous periods billed exactly the usual amount: a steady charge
        "regularity": cad[1],
        "steady": sum(1 for a in prior if abs(a - usual) <= usual * 0.005) / len(prior),
        "annual": 1.0 if cad[0] >= 300 else 0.0,
        "qty_changed": 1.0 if point.qty != points[idx - 1].qty else 0.0,
        # The jump sits on an invoice shaped like the series' own (same charges), not on
        # an order that happens to include the charge, with no other point crowding it.
        "same_shape": 1.0 if _shape(point.invoice) == _shape(prev.invoice) else 0.0,
        "crowded": 1.0 if min(near) < 0.5 * cad[0] else 0.0,
    }
    inv, cur = point.invoice, point.invoice.currency

    def fmt(minor: int) -> str:
        return Money(minor, cur).to_str()

    assert point.main is not None
    label = point.main.description
    if after:
        tail = f"the next invoice{'s' if len(after) > 1 else ''} went back to the usual amount"
    else:
        tail = "it is the latest invoice of the series"
    per = f" per unit x {point.qty}" if point.qty != 1 else ""
    explanation = (
        f"{label} is billed {stats.cadence_name(cad[0])} at {cur} {fmt(usual)} per unit "
        f"(median of the {len(prior)} previous invoices); {inv.number} charged "
        f"{fmt(point.unit)}{per}, {fmt(excess)} more, and {tail}.")
    return Candidate(
        reason=REASON, customer_id=history.customer_id, invoice_id=inv.id,
        invoice_ids=(inv.id,), line_ids=tuple(li.id for li in point.lines),
        amount_minor=excess, currency=cur, features=features, explanation=explanation)


def _shape(inv: InvoiceData) -> frozenset[str]:
    return frozenset(series_key(li) for li in inv.lines)


def _moves_to_catalogue(history: History, before: _Point, point: _Point) -> bool:
    """The charge's unit price changed to exactly the list price in force that day."""
    line = point.main
    if line is None or not line.variant_id or line.variant_id not in history.catalogue:
        return False
    new_price = line.unit_price_minor
    listed = list_price(history, line.variant_id).at(point.invoice.issue_date)
    return new_price == listed and before.unit != new_price
