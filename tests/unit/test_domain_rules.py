"""Rules the domain owns since issue 12 (pure; no database)."""

from __future__ import annotations

from types import SimpleNamespace

from creditdesk.domain.inventory import StockMove, moves_for_lines


def _line(id_: str, variant_id: str | None, quantity: int) -> SimpleNamespace:
    return SimpleNamespace(id=id_, variant_id=variant_id, quantity=quantity)


def test_i3_l2_stock_moves_only_for_variant_lines_with_sign():
    """I3/L2: lines with a variant move stock (sale -, restock +); free-text lines don't."""
    lines = [_line("l1", "v1", 3), _line("l2", None, 5), _line("l3", "v2", 1)]
    assert moves_for_lines(lines, sign=-1) == [StockMove("v1", -3, "l1"),
                                               StockMove("v2", -1, "l3")]
    assert moves_for_lines(lines, sign=1) == [StockMove("v1", 3, "l1"), StockMove("v2", 1, "l3")]
    assert moves_for_lines([_line("l4", None, 2)], sign=1) == []
