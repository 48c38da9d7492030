"""Robust statistics and cadence, on integers and dates (standard library only)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from statistics import median

# 1.4826 * MAD estimates the standard deviation of normally distributed data.
MAD_TO_SIGMA = 1.4826

# Billing cadences people use, in days, and how far a period may drift from them.
CADENCES = {7: "weekly", 14: "every two weeks", 30: "monthly", 91: "quarterly", 365: "yearly"}


def med(values: Sequence[float]) -> float:
    return float(median(values))


def mad(values: Sequence[float], centre: float | None = None) -> float:
    """Median absolute deviation from ``centre`` (default the median)."""
    c = med(values) if centre is None else centre
    return med([abs(v - c) for v in values])


def robust_scale(values: Sequence[float], centre: float) -> float:
    """A robust spread of ``values`` around ``centre``, never below one minor unit.

    Identical history (MAD 0) still leaves a spread of half a percent of the centre, so a
    one-cent rounding difference is never "many deviations" away.
    """
    return max(MAD_TO_SIGMA * mad(values, centre), abs(centre) * 0.005, 1.0)


def gaps_in_days(dates: Sequence[date]) -> list[int]:
    ordered = sorted(dates)
    return [(b - a).days for a, b in itertools.pairwise(ordered)]


def cadence(dates: Sequence[date]) -> tuple[float, float] | None:
    """(median gap, regularity) of a series of dates, or None when too short to tell.

    Regularity is the share of gaps within 25% of the median gap: 1.0 for a clockwork
    monthly plan, low for ad-hoc orders.
    """
    gaps = gaps_in_days(dates)
    if len(gaps) < 2:
        return None
    m = med(gaps)
    if m <= 0:
        return None
    regular = sum(1 for g in gaps if abs(g - m) <= 0.25 * m) / len(gaps)
    return m, regular


def cadence_name(days: float) -> str:
    best = min(CADENCES, key=lambda c: abs(c - days) / c)
    if abs(best - days) / best <= 0.2:
        return CADENCES[best]
    return f"about every {round(days)} days"
