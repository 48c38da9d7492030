"""The labelled situations injected into generated histories, and their decoys' twins.

Each returns a Label (the credit owed) or None when the customer has nothing suitable.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from creditdesk.domain.suggestions import LineData
from creditdesk_devtools.evaluation.customer import Customer, DraftInvoice, Label


def duplicate(c: Customer) -> Label | None:
    """An invoice sent twice: a copy 0-6 days later with the same lines."""
    rng = c.rng
    source = rng.choice(c.invoices)
    copy = [dataclasses.replace(li, id=c.gen.new_id("li")) for li in source.lines]
    source.kind += "*"  # no other situation is injected into it: the copy stays identical
    inv = c.add(source.day + timedelta(days=rng.choice((0, 1, 1, 2, 3, 4, 6))), copy, "dup")
    return Label(c.id, "duplicate_charge", inv.id, sum(li.amount_minor for li in copy))


def mispriced(c: Customer) -> Label | None:
    """A line with a variant charged above what it should be: a wrong tier, a slipped digit,
    another product's price."""
    rng = c.rng
    options = [(inv, i) for inv in c.invoices if inv.kind in ("order", "plan")
               for i, li in enumerate(inv.lines) if li.variant_id]
    if not options:
        return None
    inv, i = rng.choice(options)
    line = inv.lines[i]
    kind = rng.random()
    if kind < 0.15:
        price = line.unit_price_minor * 10
    elif kind < 0.3:
        price = line.unit_price_minor + rng.choice((1000, 2000, 5000, 10000))
    else:
        price = int(line.unit_price_minor * rng.uniform(1.12, 1.8))
    catalogue = c.gen.variant(line.variant_id).new_price
    if price <= catalogue:  # must be above the catalogue too to be a pricing error
        price = int(max(catalogue, line.unit_price_minor) * rng.uniform(1.12, 1.5))
    over = price - line.unit_price_minor
    inv.lines[i] = dataclasses.replace(line, unit_price_minor=price,
                                       amount_minor=price * line.quantity)
    return Label(c.id, "pricing_error", inv.id, over * line.quantity)


def jump(c: Customer) -> Label | None:
    """One period of a recurring charge billed too high: seats counted twice, a wrong plan
    size, a service line at a wrong amount; the next periods are right again."""
    rng = c.rng
    plans = [inv for inv in c.invoices if inv.kind.startswith("plan")]
    series: dict[str, list[DraftInvoice]] = {}
    for inv in plans:
        line = inv.lines[0]
        key = line.variant_id or line.description.split(" ")[0]
        series.setdefault(key, []).append(inv)
    long = [s for s in series.values() if len(s) >= 8]
    if not long:
        return None
    chosen = rng.choice(long)
    chosen.sort(key=lambda i: i.day)
    targets = [inv for inv in chosen[5:] if inv.kind == "plan"]
    if not targets:
        return None
    inv = rng.choice(targets)
    line = inv.lines[0]
    if line.variant_id:
        qty = line.quantity * 2 if rng.random() < 0.5 else line.quantity + rng.randint(
            max(2, line.quantity // 3), max(3, line.quantity))
        new = dataclasses.replace(line, quantity=qty, amount_minor=qty * line.unit_price_minor)
    else:
        price = int(line.unit_price_minor * rng.uniform(1.3, 3.0))
        new = dataclasses.replace(line, unit_price_minor=price, amount_minor=price)
    inv.lines[0] = new
    return Label(c.id, "billing_adjustment", inv.id, new.amount_minor - line.amount_minor)


def already_credited(c: Customer, label: Label, rng: random.Random) -> None:
    """A memo for the situation already exists: it must not be suggested again."""
    from creditdesk.domain.suggestions import MemoData

    c.memos.append(MemoData(label.invoice_id, label.reason, label.amount_minor,
                            rng.choice(("draft", "issued", "applied"))))


INJECTIONS = {"duplicate_charge": duplicate, "pricing_error": mispriced,
              "billing_adjustment": jump}

__all__ = ["INJECTIONS", "LineData", "already_credited"]
