"""Inventory activity kinds (I3, L2, L4, J3): stock on hand is the sum of its entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ActivityKind(StrEnum):
    OPENING_STOCK = "opening_stock"
    SALE = "sale"
    SALE_REVERSAL = "sale_reversal"
    RESTOCK = "credit_memo_restock"
    RESTOCK_REVERSAL = "credit_memo_restock_reversal"


@dataclass(frozen=True)
class StockMove:
    """One document line's change to one variant's stock (negative leaves stock)."""

    variant_id: str
    quantity: int
    source_line_id: str | None


class _Line(Protocol):
    """What stock moves read of a document line (an invoice's or a memo's)."""

    @property
    def id(self) -> str: ...
    @property
    def variant_id(self) -> str | None: ...
    @property
    def quantity(self) -> int | None: ...  # None only on a synced memo line (no variant)


def moves_for_lines(lines: Iterable[_Line], *, sign: int) -> list[StockMove]:
    """I3/L2: each line with a variant moves ``sign`` times its quantity; others don't."""
    moves = []
    for li in lines:
        if li.variant_id:
            # A line naming a variant is a native line, which always has a quantity (C4;
            # the memo_line_kind constraint).
            assert li.quantity is not None
            moves.append(StockMove(li.variant_id, sign * li.quantity, li.id))
    return moves
