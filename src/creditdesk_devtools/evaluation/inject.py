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
    """An invoice sent twice: a copy 0-6 days later with the same lines, at times keyed in
    again (lines reordered, descriptions reworded); customers who reorder the same basket
    regularly are billed twice on the same day as often as anyone."""
    rng = c.rng
    source = rng.choice(c.invoices)
    copy = [dataclasses.replace(li, id=c.gen.new_id("li")) for li in source.lines]
    if rng.random() < 0.3:
        rng.shuffle(copy)
    if rng.random() < 0.3:
        copy = [li if li.variant_id else dataclasses.replace(li, description=_reword(
            li.description, rng)) for li in copy]
    source.kind += "*"  # no other situation is injected into it: the copy stays identical
    inv = c.add(source.day + timedelta(days=rng.choice((0, 0, 1, 1, 2, 3, 4, 6))), copy, "dup")
    return Label(c.id, "duplicate_charge", inv.id, sum(li.amount_minor for li in copy))


def _reword(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    if rng.random() < 0.5 and len(words) > 1:
        return f"{' '.join(words[:-2] or words[:1])} - {' '.join(words[-2:])}".title()
    return text.replace(" ", "  ", 1).upper() if rng.random() < 0.5 else f"{text} (copy)"


def mispriced(c: Customer) -> Label | None:
    """A line with a variant charged above the price in force for this customer (their own
    price, after any announced change or discount that ended): a wrong tier, a slipped
    digit, another product's price, or a small overcharge of 3-8%. On a recurring plan it
    is above the list price too (below it, a plan's jump is a billing adjustment)."""
    rng = c.rng
    options = [(inv, i) for inv in c.invoices if inv.kind in ("order", "plan")
               for i, li in enumerate(inv.lines) if li.variant_id]
    if not options:
        return None
    inv, i = rng.choice(options)
    line = inv.lines[i]
    assert line.variant_id is not None
    base = line.unit_price_minor
    kind = rng.random()
    if kind < 0.1:
        price = base * 10
    elif kind < 0.25:
        price = base + rng.choice((1000, 2000, 5000, 10000))
    elif kind < 0.5:
        factor = rng.uniform(1.03, 1.08)
        price = round(base * factor)
    else:
        factor = rng.uniform(1.12, 1.8)
        price = int(base * factor)
    listed = c.gen.variant(line.variant_id).price_at(inv.day)
    if price <= listed and inv.kind == "plan":
        price = int(max(listed, base) * rng.uniform(1.05, 1.5))
    if price <= base:
        return None
    over = price - base
    inv.lines[i] = dataclasses.replace(line, unit_price_minor=price,
                                       amount_minor=price * line.quantity)
    inv.kind += "*"
    return Label(c.id, "pricing_error", inv.id, over * line.quantity)


def new_variant(c: Customer) -> Label | None:
    """A variant the customer never bought, charged above the list price in force that day
    (the catalogue price is the only reference: G1, G6)."""
    rng = c.rng
    bought = {li.variant_id for inv in c.invoices for li in inv.lines}
    fresh = [v for v in c.gen.products if v.id not in bought]
    if not fresh or not c.invoices:
        return None
    v = rng.choice(fresh)
    day = rng.choice(c.invoices).day + timedelta(days=rng.randint(0, 20))
    listed = v.price_at(day)
    factor = rng.uniform(1.03, 1.08) if rng.random() < 0.4 else rng.uniform(1.1, 2.0)
    price = max(round(listed * factor), listed + 1)
    qty = rng.choice((1, 1, 2, 3, 5, 10))
    inv = c.add(day, [c.line(v.name, qty, price, v.id)], "order*")
    return Label(c.id, "pricing_error", inv.id, (price - listed) * qty)


def jump(c: Customer) -> Label | None:
    """One period of a recurring charge billed at a wrong unit price (a wrong plan size, a
    service line at a wrong amount), at times with the seats changed too; the next periods
    are right again. Credit = the unit price over the usual one x the quantity billed (G6).
    A per-seat plan's unit price above the list price is a pricing error."""
    rng = c.rng
    plans = [inv for inv in c.invoices if inv.kind.startswith("plan")]
    series: dict[str, list[DraftInvoice]] = {}
    for inv in plans:
        line = inv.lines[0]
        key = line.variant_id or line.description.split(" ")[0]
        series.setdefault(key, []).append(inv)
    long = []
    for s in series.values():
        s.sort(key=lambda i: i.day)
        annual = len(s) >= 3 and (s[1].day - s[0].day).days >= 300
        if len(s) >= 8 or annual:
            long.append((s, 2 if annual else 5))
    if not long:
        return None
    chosen, start = rng.choice(long)
    targets = [inv for inv in chosen[start:] if inv.kind == "plan"]
    if not targets:
        return None
    inv = rng.choice(targets)
    line = inv.lines[0]
    factor = rng.uniform(1.3, 3.0) if rng.random() < 0.7 else rng.uniform(1.1, 1.3)
    price = int(line.unit_price_minor * factor)
    qty = line.quantity
    if line.variant_id and rng.random() < 0.3:
        qty = max(1, qty + rng.choice((-2, -1, 1, 3)))
    new = dataclasses.replace(line, unit_price_minor=price, quantity=qty,
                              amount_minor=price * qty)
    inv.lines[0] = new
    inv.kind += "*"
    reason = "billing_adjustment"
    if line.variant_id and price > c.gen.variant(line.variant_id).price_at(inv.day):
        reason = "pricing_error"
    return Label(c.id, reason, inv.id, (price - line.unit_price_minor) * qty)


def already_credited(c: Customer, label: Label, rng: random.Random) -> None:
    """A memo for the situation already exists: it must not be suggested again."""
    from creditdesk.domain.suggestions import MemoData

    c.memos.append(MemoData(label.invoice_id, label.reason, label.amount_minor,
                            rng.choice(("draft", "issued", "applied"))))


INJECTIONS = {"duplicate_charge": duplicate, "pricing_error": mispriced,
              "pricing_error_new_variant": new_variant, "billing_adjustment": jump,
              "billing_adjustment_again": jump}

__all__ = ["INJECTIONS", "LineData", "already_credited"]
