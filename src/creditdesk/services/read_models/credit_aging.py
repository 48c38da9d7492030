"""The credit aging report (D3): remaining credit per currency and reason, by age.

What counts: every memo whose credit can still be used (issued or partially applied, not
void), native and synced alike. A synced memo is read-only here, but its remaining credit
is real (the customer can still use it in its system), so leaving it out would understate
what is owed back. Its remaining credit is its total less what is applied or refunded
(C7). Ages are whole UTC days from the issue date to ``as_of`` (``domain.aging``).

``as_of`` only moves the day ages are counted to: the amounts are today's remaining
credit. Memos issued after ``as_of`` are left out (they had no age on that day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import aging, errors, money
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money
from creditdesk.services.common.context import Actor, clock

HEADER = ("as_of", "currency", "reason", *aging.BUCKETS, "total")


@dataclass(frozen=True)
class AgingRow:
    currency: str
    reason: str
    days_0_30: Money
    days_31_60: Money
    days_61_90: Money
    days_over_90: Money
    total: Money


@dataclass(frozen=True)
class CreditAging:
    as_of: date
    rows: list[AgingRow]

    def currencies(self) -> list[str]:
        return sorted({r.currency for r in self.rows})


def check_currency(currency: str | None) -> str | None:
    """An ISO 4217 code, or a ValidationError naming ``currency``."""
    if currency is None:
        return None
    try:
        money.check_currency(currency)
    except money.MoneyError as exc:
        raise errors.ValidationError.for_field("currency", str(exc)) from None
    return currency


def credit_aging(db: Database, *, actor: Actor, currency: str | None = None,
                 as_of: date | None = None) -> CreditAging:
    """D3: rows sorted by currency then reason; one currency with ``currency``."""
    check_currency(currency)
    day = as_of or clock.today()
    cm = models.CreditMemo
    credit = [s.value for s in memo_rules.CREDIT_STATUSES]
    # One row per (currency, reason, issue date): at most a few thousand however many
    # memos there are; the buckets are the domain's, not SQL date arithmetic (which the
    # two databases spell differently).
    stmt = (select(cm.currency, cm.reason, cm.issue_date,
                   func.sum(cm.total_minor - cm.applied_minor))
            .where(cm.partner_id == actor.partner_id, cm.status.in_(credit),
                   or_(cm.issue_date.is_(None), cm.issue_date <= day))
            .group_by(cm.currency, cm.reason, cm.issue_date))
    if currency:
        stmt = stmt.where(cm.currency == currency)
    sums: dict[tuple[str, str], dict[str, int]] = {}
    with db.read() as session:
        for cur, reason, issue_date, remaining in session.execute(stmt):
            buckets = sums.setdefault((cur, reason), dict.fromkeys(aging.BUCKETS, 0))
            buckets[aging.bucket(aging.age_days(issue_date, day))] += int(remaining or 0)
    rows = [AgingRow(currency=cur, reason=reason, days_0_30=Money(b["days_0_30"], cur),
                     days_31_60=Money(b["days_31_60"], cur),
                     days_61_90=Money(b["days_61_90"], cur),
                     days_over_90=Money(b["days_over_90"], cur),
                     total=Money(sum(b.values()), cur))
            for (cur, reason), b in sorted(sums.items())]
    return CreditAging(day, rows)
