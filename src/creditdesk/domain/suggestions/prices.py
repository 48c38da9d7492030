"""The price in force (G6): the catalogue's list price of a variant on a given day.

The catalogue keeps only each variant's current price; there is no price history with
effective dates. The list price on an earlier day is read from what the partner's customers
were charged: a price *widely* charged (several lines, at least two customers) whose span
covers that day. A customer-specific discount is charged to one customer, a slip to one
line, so neither counts. The current price is in force from the first day it was widely
charged; before that, the highest widely charged price of the time (list prices sit above
tiers and discounts). With no such evidence, the current price.
"""

from __future__ import annotations

from datetime import date, timedelta

from creditdesk.domain.suggestions.model import History, PriceSeen

MIN_LINES = 3
MIN_CUSTOMERS = 2
# An older list price stays in force a little after it was last seen (quiet weeks).
TAIL = timedelta(days=30)


def list_price(history: History, variant_id: str) -> ListPrice:
    """The variant's ``ListPrice``, built once per ``history.list_prices`` (a refresh shares
    one among its customers: the catalogue and the market are the partner's)."""
    book = history.list_prices.get(variant_id)
    if not isinstance(book, ListPrice) or book.now != history.catalogue[variant_id]:
        book = history.list_prices[variant_id] = ListPrice(history, variant_id)
    return book


def _wide(seen: PriceSeen) -> bool:
    return seen.lines >= MIN_LINES and (seen.customers == 0 or seen.customers >= MIN_CUSTOMERS)


class ListPrice:
    """``ListPrice(history, variant_id).at(day)``: the variant's list price on ``day``."""

    __slots__ = ("_cache", "_older", "_since", "now")

    def __init__(self, history: History, variant_id: str) -> None:
        self.now = history.catalogue[variant_id]
        seen = history.market.get(variant_id, {})
        current = seen.get(self.now)
        self._since: date | None = current.first if current is not None and _wide(
            current) else None
        self._older = sorted(((s.first, s.last, price) for price, s in seen.items()
                              if price != self.now and _wide(s)), key=lambda t: t[2],
                             reverse=True)
        self._cache: dict[date, int] = {}

    def at(self, day: date) -> int:
        hit = self._cache.get(day)
        if hit is None:
            hit = self._cache[day] = self._at(day)
        return hit

    def _at(self, day: date) -> int:
        if self._since is not None and day >= self._since:
            return self.now
        for first, last, price in self._older:  # highest first
            if first <= day <= last + TAIL:
                if self._since is None and price < self.now:
                    # The current price was never charged: a lower price then is a discount
                    # or a tier as likely as an older list price.
                    return self.now
                return price
        return self.now

    def changed(self, a: date, b: date) -> bool:
        return self.at(a) != self.at(b)

    def carry(self, price: int, then: date, day: date) -> int:
        """A customer's price on ``then`` carried to ``day`` across list-price changes: the
        list price if they paid list, else their discount kept in proportion."""
        old, new = self.at(then), self.at(day)
        if old == new or old <= 0:
            return price
        if price == old:
            return new
        return round(price * new / old)
