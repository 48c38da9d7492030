"""Pricing error: a line priced above the price in force for it when it was issued (G1, G6).
Credit = (unit price - price in force) x quantity.

The price in force is the customer's own price for the variant when they have bought it
before or after (the median of the nearest purchases on each side, carried across list-price
changes, the higher side when they differ: after a negotiated discount ends, the catalogue
price), else the catalogue's list price on that day (prices.py). A unit price at or below
the list price on a variant the customer is billed for on a regular cadence is a recurring
charge's business (billing.py), not a pricing error.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from creditdesk.domain.money import Money
from creditdesk.domain.suggestions import stats
from creditdesk.domain.suggestions.model import Candidate, History, InvoiceData, LineData
from creditdesk.domain.suggestions.prices import ListPrice, list_price

REASON = "pricing_error"
SIDE = 3  # nearest purchases on each side that give the customer's price in force
REACH = 12  # how far to look on each side for purchases of a similar quantity
SIMILAR_QTY = 2.5
WINDOW = 6  # purchases on each side that measure how steady the customer's price is
MIN_Z = 2.0  # robust deviations above the customer's price before a line is a candidate
# Another customer charged the same unit price this close in time: a price, not a slip.
MARKET_DAYS = 60

Obs = tuple[InvoiceData, LineData]


def detect(history: History) -> list[Candidate]:
    by_variant: dict[str, list[Obs]] = defaultdict(list)
    for inv in history.invoices:
        if history.catalogue_currency not in (None, inv.currency):
            continue
        for line in inv.lines:
            if line.variant_id and line.variant_id in history.catalogue and line.quantity > 0:
                by_variant[line.variant_id].append((inv, line))
    out: list[Candidate] = []
    for variant_id, obs in by_variant.items():
        obs.sort(key=lambda o: (o[0].issue_date, o[0].number, o[1].id))
        book = list_price(history, variant_id)
        own = Counter(li.unit_price_minor for _, li in obs)
        cad = stats.cadence(sorted({i.issue_date for i, _ in obs}))
        recurring = cad is not None and len(obs) >= 4 and cad[1] >= 0.6
        prices = [li.unit_price_minor for _, li in obs]
        arrays = (prices, [li.quantity for _, li in obs], [i.issue_date for i, _ in obs])
        lowest = min(prices)
        listed = [book.at(i.issue_date) for i, _ in obs]
        steady_list = min(listed) == max(listed)
        for idx, price in enumerate(prices):
            lo, hi = max(0, idx - REACH), idx + 1 + REACH
            if steady_list or min(listed[lo:hi]) == max(listed[lo:hi]):
                # Fast paths, same answers as _check: with no list change to carry prices
                # across, a side's price in force is one of its prices; when nothing on one
                # side is cheaper than this line, the customer's price is at least this one.
                before, after = prices[lo:idx], prices[idx + 1:hi]
                if (before and price <= min(before)) or (after and price <= min(after)) or (
                        price <= listed[idx] and price <= lowest):
                    continue
            cand = _check(history, obs, idx, book, own, recurring, steady_list, arrays)
            if cand is not None:
                out.append(cand)
    return out


def _side(prices: list[int], qtys: list[int], days: list[date], order: range, qty: int,
          book: ListPrice | None, day: date) -> int | None:
    """The customer's price on one side (``order``: indexes nearest first, up to REACH),
    carried to ``day`` (``book`` None: no list change to carry across). The nearest
    purchases of a similar quantity are preferred: volume tiers give a customer another
    price for another quantity."""
    similar: list[int] = []
    most = SIMILAR_QTY * qty
    for k in order:
        q = qtys[k]
        if q <= most and qty <= SIMILAR_QTY * q:
            similar.append(k)
            if len(similar) == SIDE:
                break
    picks: Sequence[int] = similar or order[:SIDE]  # else the nearest, whatever quantity
    if not picks:
        return None
    if book is None:
        carried = sorted(prices[k] for k in picks)
    else:
        carried = sorted(book.carry(prices[k], days[k], day) for k in picks)
    return carried[len(carried) // 2]  # the upper median: never over-credits


def _check(history: History, obs: list[Obs], idx: int, book: ListPrice, own: Counter[int],
           recurring: bool, steady_list: bool,
           arrays: tuple[list[int], list[int], list[date]]) -> Candidate | None:
    inv, line = obs[idx]
    price, day = line.unit_price_minor, inv.issue_date
    listed = book.at(day)
    if price <= listed and recurring:
        return None
    carry = None if steady_list else book
    prices, qtys, days = arrays
    qty = line.quantity
    before = _side(prices, qtys, days, range(idx - 1, max(0, idx - REACH) - 1, -1), qty,
                   carry, day)
    after = _side(prices, qtys, days, range(idx + 1, min(len(obs), idx + 1 + REACH)), qty,
                  carry, day)
    sides = [p for p in (before, after) if p is not None]
    usual = max(sides) if sides else None
    reference = usual if usual is not None else listed
    if price <= reference:
        return None
    if price == listed and (after is None or after >= price):
        return None  # moved to the list price for good: a discount ended, a price changed
    near = obs[max(0, idx - WINDOW):idx] + obs[idx + 1:idx + 1 + WINDOW]
    window = ([li.unit_price_minor for _, li in near] if steady_list else
              [book.carry(li.unit_price_minor, i.issue_date, day) for i, li in near])
    if usual is not None:
        z = (price - reference) / stats.robust_scale(window, reference)
        if z < MIN_Z:
            return None
        steady = sum(1 for p in window if p == reference) / len(window)
    else:
        z, steady = 0.0, 0.0
    qty_near = [li.quantity for _, li in obs[max(0, idx - SIDE):idx + 1 + SIDE]]
    features = {
        "log_z": math.log1p(min(max(z, 0.0), 1000.0)),
        "has_history": 1.0 if usual is not None else 0.0,
        "log_ratio": math.log(price / reference),
        "log_over_catalogue": math.log(price / listed) if listed > 0 else 0.0,
        "log_history": math.log1p(len(window)),
        # An error is a one-off price: one charged again and again, or to other customers
        # at the time, is a price (an older list price, a tier), not a slip.
        "log_seen": math.log1p(own[price] - 1),
        "market_known": 1.0 if _market_known(history, inv, line, own) else 0.0,
        "steady": steady,
        # Exactly the list price above the customer's own: a discount that ended, a tier
        # for another quantity, as often as an error.
        "at_catalogue": 1.0 if price == listed else 0.0,
        "qty_off": abs(math.log(line.quantity / stats.med(qty_near))) if qty_near else 0.0,
        "both_sides": 1.0 if len(sides) == 2 else 0.0,
    }
    cur = inv.currency

    def fmt(minor: int) -> str:
        return Money(minor, cur).to_str()

    if usual is not None:
        basis = (f"this customer's price in force was {fmt(usual)} (their purchases of it "
                 f"before and after, carried across catalogue changes)")
    else:
        basis = "this customer had not bought it before, so the catalogue price applies"
    times = f" x {line.quantity}" if line.quantity != 1 else ""
    over = price - reference
    explanation = (
        f"{inv.number} charges {cur} {fmt(price)} per unit for {line.description}{times}; the "
        f"catalogue price on {day.isoformat()} was {fmt(listed)} and {basis}: {fmt(over)} "
        f"over per unit, {cur} {fmt(over * line.quantity)} in total.")
    return Candidate(
        reason=REASON, customer_id=history.customer_id, invoice_id=inv.id,
        invoice_ids=(inv.id,), line_ids=(line.id,), amount_minor=over * line.quantity,
        currency=cur, features=features, explanation=explanation)


def _market_known(history: History, inv: InvoiceData, line: LineData, own: Counter[int]) -> bool:
    """Other customers were charged exactly this unit price around that time."""
    seen = history.market.get(line.variant_id or "", {}).get(line.unit_price_minor)
    if seen is None or seen.lines - own[line.unit_price_minor] < 2:
        return False
    margin = timedelta(days=MARKET_DAYS)
    return seen.first - margin <= inv.issue_date <= seen.last + margin
