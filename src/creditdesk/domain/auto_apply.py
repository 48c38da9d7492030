"""AU1: which of a customer's credit a newly issued invoice takes, and how much of each.

The oldest memo first (by issue date, then number: CM-0999 before CM-1000), each up to what
is left of the invoice's balance due, so the plan never exceeds either cap (A2). Which
memos count (native, the invoice's customer and currency, credit left) is the caller's
query; what is applied is decided here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from creditdesk.domain.application import max_application
from creditdesk.domain.money import Money


@dataclass(frozen=True)
class Credit:
    """One memo's credit left, as AU1 orders it."""

    memo_id: str
    number: str
    issue_date: date | None
    remaining: Money


def _number_key(number: str) -> tuple[object, ...]:
    """A document number compared as people read it: its runs of digits as numbers."""
    return tuple(int(part) if part.isdigit() else part
                 for part in re.split(r"(\d+)", number) if part)


def oldest_first(credit: Iterable[Credit]) -> list[Credit]:
    """By issue date (a memo without one last), then number, then id."""
    return sorted(credit, key=lambda c: (c.issue_date is None, c.issue_date or date.min,
                                         _number_key(c.number), c.memo_id))


def plan(credit: Iterable[Credit], balance_due: Money) -> list[tuple[Credit, Money]]:
    """AU1: what to apply from each memo, oldest first, until the balance due is covered or
    the credit runs out; memos with nothing to give are left out."""
    left = balance_due
    out: list[tuple[Credit, Money]] = []
    for c in oldest_first(credit):
        if left.minor <= 0:
            break
        if c.remaining.currency != balance_due.currency or c.remaining.minor <= 0:
            continue
        amount = max_application(c.remaining, left)
        out.append((c, amount))
        left = left - amount
    return out
