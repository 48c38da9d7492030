"""Inventory activity kinds (I3, L2, L4, J3): stock on hand is the sum of its entries."""

from __future__ import annotations

from enum import StrEnum


class ActivityKind(StrEnum):
    OPENING_STOCK = "opening_stock"
    SALE = "sale"
    SALE_REVERSAL = "sale_reversal"
    RESTOCK = "credit_memo_restock"
    RESTOCK_REVERSAL = "credit_memo_restock_reversal"
