"""A generated customer's invoices and memos while the generator builds them (G4).

The generator (``generator.py``) drives it and the injections (``inject.py``) change it;
both import it, so neither imports the other at module level.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from creditdesk.domain.suggestions import InvoiceData, LineData, MemoData
from creditdesk_devtools.evaluation import catalogue as cat

if TYPE_CHECKING:
    from creditdesk_devtools.evaluation.generator import Generator

START = date(2024, 1, 1)
DAYS = 1095
PERIODS = {"weekly": 7, "monthly": 30, "quarterly": 91, "annual": 365}


@dataclass(frozen=True)
class Label:
    customer_id: str
    reason: str
    invoice_id: str
    amount_minor: int


@dataclass
class DraftInvoice:
    id: str
    day: date
    lines: list[LineData]
    kind: str  # "plan", "order"

    def freeze(self, number: str) -> InvoiceData:
        return InvoiceData(self.id, number, self.day, "USD",
                           sum(li.amount_minor for li in self.lines), tuple(self.lines))


class Customer:
    def __init__(self, gen: Generator, cid: str) -> None:
        self.gen, self.id, self.rng = gen, cid, gen.rng
        self.discount = 0.0 if self.rng.random() < 0.5 else self.rng.uniform(0.03, 0.15)
        # Negotiated discounts on some variants, ending on a date: then the usual price.
        self.deals: dict[str, tuple[float, date]] = {}
        self.subscribed: set[str] = set()
        self.invoices: list[DraftInvoice] = []
        self.memos: list[MemoData] = []
        self.labels: list[Label] = []

    def line(self, desc: str, qty: int, price: int, variant: str | None) -> LineData:
        return LineData(self.gen.new_id("li"), desc, qty, price, qty * price, variant)

    def price(self, v: cat.Variant, day: date, qty: int) -> int:
        volume = 0.15 if qty >= 100 else 0.10 if qty >= 50 else 0.0
        deal = self.deals.get(v.id)
        discount = deal[0] if deal is not None and day < deal[1] else self.discount
        return max(int(v.price_at(day) * (1 - discount) * (1 - volume)), 1)

    def maybe_deal(self, v: cat.Variant) -> None:
        if self.rng.random() < 0.2:
            ends = START + timedelta(days=self.rng.randint(120, DAYS - 90))
            self.deals[v.id] = (self.rng.uniform(0.08, 0.25), ends)

    def add(self, day: date, lines: list[LineData], kind: str) -> DraftInvoice:
        inv = DraftInvoice(self.gen.new_id("inv"), day, lines, kind)
        self.invoices.append(inv)
        return inv

    def plans(self) -> None:
        rng = self.rng
        for _ in range(rng.choice((0, 1, 1, 1, 2))):
            period = rng.choices(list(PERIODS), weights=(15, 65, 10, 10))[0]
            step = PERIODS[period]
            first = START + timedelta(days=rng.randint(0, 200))
            per_seat = rng.random() < 0.6
            variant = rng.choice(self.gen.plans) if per_seat else None
            if variant is not None and variant.id in self.subscribed:
                continue  # one subscription per plan
            if variant is not None:
                self.subscribed.add(variant.id)
                self.maybe_deal(variant)
            # The first invoice covers part of a period (prorated) now and then.
            prorate = rng.uniform(0.2, 0.9) if rng.random() < 0.3 else 1.0
            seats = rng.randint(1, 60) if per_seat else 1
            service = rng.choice(cat.SERVICES)
            amount = rng.randint(40, 2500) * 100 // 5 * 5
            raise_at = rng.random() < 0.3 and rng.randint(4, 30)
            day, n = first, 0
            while day < START + timedelta(days=DAYS):
                n += 1
                if per_seat and rng.random() < 0.06:
                    seats = max(1, seats + rng.choice((-3, -1, 1, 2, 5, 10)))  # lasting change
                if raise_at and n == raise_at:
                    amount = int(amount * rng.uniform(1.03, 1.12))  # contract price rise
                jitter = timedelta(days=rng.randint(-2, 2) if step > 7 else 0)
                periods = 2 if rng.random() < 0.02 else 1  # a skipped period billed later
                if periods == 2:
                    day += timedelta(days=step)
                share = prorate if n == 1 else 1.0
                if per_seat:
                    # one period with more seats (contractors for a month): G6, not an error
                    billed = seats * 2 if rng.random() < 0.03 else seats
                    unit = max(int(self.price(variant, day, 1) * share), 1)
                    line = self.line(variant.name, billed * periods, unit, variant.id)
                else:
                    label = f"{day:%B %Y}" if step >= 30 else f"week {day.isocalendar()[1]}"
                    line = self.line(service.format(period=label), periods,
                                     max(int(amount * share), 1), None)
                self.add(day + jitter, [line], "plan")
                if per_seat and step >= 30 and rng.random() < 0.05:
                    # seats added mid-period: a prorated invoice for them, then a lasting change
                    added = rng.randint(1, 5)
                    mid = rng.randint(3, step - 3)
                    unit = max(int(self.price(variant, day, 1) * (step - mid) / step), 1)
                    self.add(day + timedelta(days=mid),
                             [self.line(variant.name, added, unit, variant.id)], "prorated")
                    seats += added
                day += timedelta(days=step)

    def orders(self) -> None:
        rng = self.rng
        favourites = rng.sample(self.gen.products, rng.randint(3, 8))
        for v in favourites:
            self.maybe_deal(v)
        rate = rng.uniform(0.2, 3.0) / 30  # orders per day
        day = START + timedelta(days=rng.randint(0, 120))
        regular = rng.random() < 0.2 and self._basket(favourites)
        regular_every = rng.choice((7, 14, 28))
        next_regular = day
        # Some customers reorder one basket every day or few, with no rhythm (a clinic's
        # supplies): identical invoices days apart are their normal, not duplicates.
        frequent = rng.random() < 0.08 and self._basket(favourites)
        next_frequent = day
        while day < START + timedelta(days=DAYS):
            if frequent and day >= next_frequent:
                self.add(day, self._lines(frequent, day), "order")
                next_frequent = day + timedelta(days=rng.choice((1, 1, 2, 3, 4, 6, 9, 12)))
            if regular and day >= next_regular:
                self.add(day, self._lines(regular, day), "order")
                next_regular = day + timedelta(days=regular_every + rng.randint(-1, 1))
            if rng.random() < rate:
                basket = self._basket(favourites)
                if self._just_ordered(basket, day):
                    day += timedelta(days=1)
                    continue  # nobody orders the very same thing twice within days
                self.add(day, self._lines(basket, day), "order")
                if rng.random() < 0.08:  # legitimately ordered again a few weeks later
                    later = day + timedelta(days=rng.randint(12, 40))
                    self.add(later, self._lines(basket, later), "order")
                if rng.random() < 0.06:  # a top-up order: same items, other quantities
                    more = [(v, q + rng.randint(1, 5)) for v, q in basket]
                    later = day + timedelta(days=rng.randint(0, 5))
                    self.add(later, self._lines(more, later), "order")
            day += timedelta(days=1)

    def reissue(self) -> None:
        """An invoice voided and issued again a few days later with its lines reordered:
        the voided one is not in the history (as loaded), or is credited in full by a memo
        and stays. Neither is a duplicate (decoys)."""
        rng = self.rng
        options = [inv for inv in self.invoices if inv.kind in ("order", "plan")]
        if not options:
            return
        source = rng.choice(options)
        lines = [dataclasses.replace(li, id=self.gen.new_id("li")) for li in source.lines]
        rng.shuffle(lines)
        later = source.day + timedelta(days=rng.randint(0, 3))
        kind = source.kind
        if rng.random() < 0.5:
            self.invoices.remove(source)
        else:
            source.kind = "credited"
            self.memos.append(MemoData(source.id, "other",
                                       sum(li.amount_minor for li in source.lines), "issued"))
        self.add(later, lines, kind)

    def _just_ordered(self, basket: list[tuple[cat.Variant, int]], day: date) -> bool:
        same = sorted((v.id, q) for v, q in basket)
        return any(abs((inv.day - day).days) <= 3
                   and sorted((li.variant_id or "", li.quantity) for li in inv.lines) == same
                   for inv in self.invoices[-6:])

    def _basket(self, favourites: list[cat.Variant]) -> list[tuple[cat.Variant, int]]:
        rng = self.rng
        items = rng.sample(favourites, min(len(favourites), rng.choice((1, 1, 2, 2, 3, 4))))
        return [(v, rng.choice((1, 1, 2, 3, 5, 10, 20, 60, 120))) for v in items]

    def _lines(self, basket: list[tuple[cat.Variant, int]], day: date) -> list[LineData]:
        return [self.line(v.name, q, self.price(v, day, q), v.id) for v, q in basket]
