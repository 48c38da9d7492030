"""What every ``creditdesk fake …`` company starts with, the same in each system, so the
README's demo reads alike whichever one is tried: four customers ("Customer 58" … "Customer
61"), credit memos of which a third are untouched, a third half used and a third used up,
and invoices of the same customers, a third open, a third part paid and a third paid, each
with a sales-tax line — so synced credit always has an open synced invoice to go to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

TAX = 40  # the sales tax on every invoice, in whole currency units
# The option every fake takes for its invoices (``--invoices``; memos: ``--memos``).
Invoices = Annotated[int, typer.Option(help="Invoices to start with (open, part paid, paid), "
                                            "for the memos' customers")]


@dataclass(frozen=True)
class Seed:
    """One document: its customer's number (58-61), its total and what is still open of it
    (a memo's remaining credit, an invoice's balance due), in whole currency units."""

    customer: int
    total: int
    open: int

    @property
    def name(self) -> str:
        return f"Customer {self.customer}"


def memos(count: int) -> list[Seed]:
    out = []
    for n in range(count):
        total = 50 + 25 * n
        out.append(Seed(58 + n % 4, total, (total, total // 2, 0)[n % 3]))
    return out


def invoices(count: int) -> list[Seed]:
    out = []
    for n in range(count):
        total = 400 + 100 * n
        out.append(Seed(58 + n % 4, total, (total, total - 150, 0)[n % 3]))
    return out


def usd(units: int) -> str:
    return f"{units}.00"
