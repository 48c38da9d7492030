"""D3: a memo's age in whole UTC days since its issue date, and its bucket."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from creditdesk.domain import aging

AS_OF = date(2026, 3, 31)


@pytest.mark.parametrize(("days", "bucket"), [
    (0, "days_0_30"), (1, "days_0_30"), (30, "days_0_30"), (31, "days_31_60"),
    (60, "days_31_60"), (61, "days_61_90"), (90, "days_61_90"), (91, "days_over_90"),
    (3650, "days_over_90")])
def test_d3_buckets_day_30_in_the_first(days, bucket):
    assert aging.bucket(aging.age_days(AS_OF - timedelta(days=days), AS_OF)) == bucket


def test_d3_age_is_whole_days_across_a_month_end():
    assert aging.age_days(date(2026, 3, 1), AS_OF) == 30
    assert aging.age_days(date(2026, 2, 28), AS_OF) == 31


def test_d3_a_memo_issued_after_the_day_has_no_bucket():
    with pytest.raises(ValueError):
        aging.bucket(aging.age_days(AS_OF + timedelta(days=1), AS_OF))
    assert aging.age_days(None, AS_OF) == 0
