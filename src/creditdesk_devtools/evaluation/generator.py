"""A seeded generator of partner histories with labelled credit situations and decoys (G4).

Customers have monthly, quarterly or weekly plans (per-seat variants or service lines),
ad-hoc orders from a favourite basket with their own discount and volume discounts,
regular and one-off legitimate repeat orders, seat changes and contract price rises that
last, catch-up invoices after a skipped period and catalogue price changes. Into that go
the situations a credit is owed for — duplicated invoices, mispriced lines, one-off jumps
of a recurring charge — a share of them already credited by a memo (not to be suggested).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from creditdesk.domain.suggestions import History, PriceSeen
from creditdesk_devtools.evaluation import catalogue as cat
from creditdesk_devtools.evaluation import inject
from creditdesk_devtools.evaluation.customer import DAYS, START, Customer, Label

__all__ = ["DAYS", "START", "Dataset", "Generator", "Label", "market_of"]

@dataclass
class Dataset:
    histories: list[History] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


class Generator:
    """``Generator(seed).generate(customers)``: the same seed gives the same data set."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self._n = 0
        self.products, self.plans = cat.make(self.rng, f"s{seed}", START, DAYS)
        self._variants = {v.id: v for v in self.products + self.plans}

    def new_id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self.seed}_{self._n}"

    def variant(self, variant_id: str) -> cat.Variant:
        return self._variants[variant_id]

    def generate(self, customers: int = 80, *, rate: float = 0.5,
                 credited: float = 0.2) -> Dataset:
        out = Dataset()
        catalogue = {v.id: v.new_price for v in self._variants.values()}
        number = 0
        for k in range(customers):
            c = Customer(self, f"cus_{self.seed}_{k}")
            c.plans()
            c.orders()
            if not c.invoices:
                continue
            if self.rng.random() < 0.15:
                c.reissue()
            for fn in inject.INJECTIONS.values():
                if self.rng.random() >= rate:
                    continue
                label = fn(c)
                if label is None:
                    continue
                if self.rng.random() < credited:
                    inject.already_credited(c, label, self.rng)
                else:
                    out.labels.append(label)
            c.invoices.sort(key=lambda i: i.day)
            frozen = []
            for inv in c.invoices:
                number += 1
                frozen.append(inv.freeze(f"INV-{number:05d}"))
            out.histories.append(History(c.id, tuple(frozen), tuple(c.memos), catalogue))
        market = market_of(out.histories)
        out.histories = [dataclasses.replace(h, market=market) for h in out.histories]
        return out


def market_of(histories: list[History]) -> dict[str, dict[int, PriceSeen]]:
    """What every customer was charged per variant and unit price (as the service loads)."""
    seen: dict[str, dict[int, PriceSeen]] = {}
    who: dict[tuple[str, int], set[str]] = {}
    for h in histories:
        for inv in h.invoices:
            for li in inv.lines:
                if li.variant_id is None:
                    continue
                prices = seen.setdefault(li.variant_id, {})
                old = prices.get(li.unit_price_minor)
                customers = who.setdefault((li.variant_id, li.unit_price_minor), set())
                customers.add(h.customer_id)
                prices[li.unit_price_minor] = PriceSeen(
                    inv.issue_date, inv.issue_date, 1, len(customers)) \
                    if old is None else PriceSeen(min(old.first, inv.issue_date),
                                                 max(old.last, inv.issue_date), old.lines + 1,
                                                 len(customers))
    return seen
