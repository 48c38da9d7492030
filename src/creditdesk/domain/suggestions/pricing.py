"""Pricing error: a line priced above both the variant's catalogue price and what this
customer usually pays for it around that time (G1). Credit = overcharge x quantity.

"Usually" is the median of the customer's unit prices for the variant on the nearest
purchases before and after (a local window, so an announced catalogue change does not make
old prices look wrong), with the spread measured by the MAD: a price is anomalous when it
is many robust deviations above that median, not when it passes a fixed percentage.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import timedelta

from creditdesk.domain.money import Money
from creditdesk.domain.suggestions import stats
from creditdesk.domain.suggestions.model import Candidate, History, InvoiceData, LineData

REASON = "pricing_error"
NEIGHBOURS = 6  # purchases on each side that define "usual"
MIN_Z = 3.0  # robust deviations above the usual price before a line is a candidate
# Another customer charged the same unit price this close in time: a price, not a slip.
MARKET_DAYS = 60


def detect(history: History) -> list[Candidate]:
    by_variant: dict[str, list[tuple[InvoiceData, LineData]]] = defaultdict(list)
    for inv in history.invoices:
        if history.catalogue_currency not in (None, inv.currency):
            continue
        for line in inv.lines:
            if line.variant_id and line.variant_id in history.catalogue:
                by_variant[line.variant_id].append((inv, line))
    out: list[Candidate] = []
    for variant_id, obs in by_variant.items():
        obs.sort(key=lambda o: (o[0].issue_date, o[0].number, o[1].id))
        catalogue = history.catalogue[variant_id]
        own = Counter(li.unit_price_minor for _, li in obs)
        for idx, (inv, line) in enumerate(obs):
            if line.unit_price_minor <= catalogue:
                continue
            window = obs[max(0, idx - NEIGHBOURS):idx] + obs[idx + 1:idx + 1 + NEIGHBOURS]
            prices = [li.unit_price_minor for i, li in window if i.currency == inv.currency]
            cand = _candidate(history, inv, line, catalogue, prices,
                              own[line.unit_price_minor] - 1, _market_known(history, inv, line,
                                                                            own))
            if cand is not None:
                out.append(cand)
    return out


def _market_known(history: History, inv: InvoiceData, line: LineData, own: Counter[int]) -> bool:
    """Other customers were charged exactly this unit price around that time."""
    seen = history.market.get(line.variant_id or "", {}).get(line.unit_price_minor)
    if seen is None or seen.lines - own[line.unit_price_minor] < 2:
        return False
    margin = timedelta(days=MARKET_DAYS)
    return seen.first - margin <= inv.issue_date <= seen.last + margin


def _candidate(history: History, inv: InvoiceData, line: LineData, catalogue: int,
               prices: list[int], seen: int, market_known: bool) -> Candidate | None:
    price = line.unit_price_minor
    if len(prices) >= 2:
        usual = sorted(prices)[len(prices) // 2]  # the upper median: never over-credits
        scale = stats.robust_scale(prices, stats.med(prices))
        z = (price - stats.med(prices)) / scale
        if z < MIN_Z:
            return None
    else:
        usual, z = None, 0.0
    # What the customer should have paid: their usual price, else the catalogue's.
    reference = usual if usual is not None else catalogue
    over = price - reference
    if over <= 0:
        return None
    features = {
        "log_z": math.log1p(min(max(z, 0.0), 1000.0)),
        "has_history": 1.0 if usual is not None else 0.0,
        "log_ratio": math.log(price / reference),
        "log_over_catalogue": math.log(price / catalogue),
        "log_history": math.log1p(len(prices)),
        # An error is a one-off price: one charged again and again, or to other customers
        # at the time, is a price (an older list price, a tier), not a slip.
        "log_seen": math.log1p(seen),
        "market_known": 1.0 if market_known else 0.0,
    }
    cur = inv.currency

    def fmt(minor: int) -> str:
        return Money(minor, cur).to_str()

    usual_text = (f"this customer usually pays {fmt(usual)} (median of {len(prices)} nearby "
                  f"purchases)" if usual is not None else "this customer has no earlier "
                  "purchases of it to compare with")
    qty = f" x {line.quantity}" if line.quantity != 1 else ""
    explanation = (
        f"{inv.number} charges {cur} {fmt(price)} per unit for {line.description}{qty}; the "
        f"catalogue price is {fmt(catalogue)} and {usual_text}: {fmt(over)} over per unit, "
        f"{cur} {fmt(over * line.quantity)} in total.")
    return Candidate(
        reason=REASON, customer_id=history.customer_id, invoice_id=inv.id,
        invoice_ids=(inv.id,), line_ids=(line.id,), amount_minor=over * line.quantity,
        currency=cur, features=features, explanation=explanation)
