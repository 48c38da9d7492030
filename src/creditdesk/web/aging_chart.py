"""The credit aging report's bar chart (D3): per currency, one bar per age bucket, drawn
as inline SVG by the page's template (no script). Geometry only: widths are whole pixels
in proportion to the minor amounts (integer arithmetic; amounts stay ``Money``)."""

from __future__ import annotations

from dataclasses import dataclass

from creditdesk.domain import aging
from creditdesk.domain.money import Money
from creditdesk.services.read_models.credit_aging import CreditAging

LABELS = {"days_0_30": "0\u201330 days", "days_31_60": "31\u201360 days",  # en dashes
          "days_61_90": "61\u201390 days", "days_over_90": "Over 90 days"}
BAR_MAX = 240  # px of the longest bar (the chart scales down to a phone's width)
LABEL_W = 110  # px left of the bars for their labels
ROW_H = 32
WIDTH = LABEL_W + BAR_MAX + 130  # room for the amount after the longest bar


@dataclass(frozen=True)
class Bar:
    label: str
    amount: Money
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    """One currency's chart, with what the table's footer shows (each bucket's total)."""

    currency: str
    bars: list[Bar]
    total: Money
    height: int
    width: int
    description: str  # the chart in words, for its <desc>

    @property
    def slug(self) -> str:
        return self.currency.lower()


def charts(report: CreditAging) -> list[Chart]:
    """One chart per currency of the report, in its order."""
    out = []
    for cur in report.currencies():
        sums = dict.fromkeys(aging.BUCKETS, 0)
        for row in report.rows:
            if row.currency == cur:
                for key in aging.BUCKETS:
                    sums[key] += getattr(row, key).minor
        biggest = max(sums.values())
        bars = [Bar(LABELS[key], Money(sums[key], cur), 8 + i * ROW_H,
                    (BAR_MAX * sums[key]) // biggest if biggest > 0 else 0)
                for i, key in enumerate(aging.BUCKETS)]
        words = "; ".join(f"{b.label}: {b.amount}" for b in bars)
        out.append(Chart(cur, bars, Money(sum(sums.values()), cur),
                         8 + len(bars) * ROW_H, WIDTH,
                         f"Remaining {cur} credit by age on {report.as_of.isoformat()}: "
                         f"{words}."))
    return out
