"""Credit aging (D3): a memo's age in whole days since its issue date, and its bucket.

Ages are counted in UTC calendar days: a memo issued on 1 March is 0 days old on 1 March
and 30 days old on 31 March, still in the first bucket (day 30 is in 0-30).
"""

from __future__ import annotations

from datetime import date

BUCKETS = ("days_0_30", "days_31_60", "days_61_90", "days_over_90")
# the last day of each bucket but the open-ended one
_LIMITS = ((30, "days_0_30"), (60, "days_31_60"), (90, "days_61_90"))


def age_days(issue_date: date | None, as_of: date) -> int:
    """Whole days from ``issue_date`` to ``as_of``; a memo with no issue date (none is
    issued without one, but a synced record may lack it) counts as issued on ``as_of``."""
    return 0 if issue_date is None else (as_of - issue_date).days


def bucket(days: int) -> str:
    """The bucket of an age: 0-30 (day 30 included), 31-60, 61-90, over 90. A negative
    age (issued after ``as_of``) has no bucket: the report leaves such memos out."""
    if days < 0:
        raise ValueError("a memo issued after the report's day has no age yet")
    for last, name in _LIMITS:
        if days <= last:
            return name
    return "days_over_90"
