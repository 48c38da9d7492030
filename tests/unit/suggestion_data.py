"""Builders of plain histories for the suggestion detector tests."""

from __future__ import annotations

from datetime import date, timedelta

from creditdesk.domain.suggestions import History, InvoiceData, LineData, MemoData

START = date(2025, 1, 6)


class Book:
    def __init__(self, catalogue: dict[str, int] | None = None) -> None:
        self.invoices: list[InvoiceData] = []
        self.memos: list[MemoData] = []
        self.catalogue = catalogue or {}
        self._n = 0

    def invoice(self, day: int, *lines: tuple[str, int, int, str | None]) -> InvoiceData:
        """lines: (description, quantity, unit price minor, variant id)."""
        self._n += 1
        items = tuple(LineData(f"li{self._n}_{k}", d, q, p, q * p, v)
                      for k, (d, q, p, v) in enumerate(lines))
        inv = InvoiceData(f"inv{self._n}", f"INV-{self._n:04d}", START + timedelta(days=day),
                          "USD", sum(li.amount_minor for li in items), items)
        self.invoices.append(inv)
        return inv

    def history(self) -> History:
        return History("cus1", tuple(self.invoices), tuple(self.memos), self.catalogue, "USD")
