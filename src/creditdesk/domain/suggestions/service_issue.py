"""Service-issue credits (G5): availability per customer, product and month from the
incidents that touch them, and the credit the partner's SLA policy gives for it.

Pure and exact: times are whole microseconds, availability a ``Fraction``, percents integer
ten-thousandths of a percent (``tax.SCALE``), amounts integer minor units.

- An incident touches a customer's product when it names that customer (or no customer:
  everyone) and that variant (or no variant: every product).
- Months are UTC calendar months; an incident spanning months counts in each, clipped.
- Overlapping incidents count once: their intervals are merged before summing downtime.
- availability = 1 - downtime / length of the month.
- The band: among the bands whose ``below`` the availability is *strictly* under, the one
  with the lowest ``below`` ("below 99.9%" at exactly 99.9% owes nothing).
- The month's recurring charge of a product: the amounts of the customer's invoice lines for
  that variant on its issued, non-void native invoices dated in that month (quantity x unit
  price, as billed: net of tax on tax-exclusive invoices), per currency.
- amount = credit_percent x that charge, rounded half-up to the currency's minor unit.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from creditdesk.domain import tax
from creditdesk.domain.money import Money
from creditdesk.domain.suggestions.model import History, InvoiceData, LineData, Suggestion
from creditdesk.domain.suggestions.sla import Band, Incident, Policy

REASON = "service_issue"
# The arithmetic is the partner's own policy applied to its own records: nothing is inferred.
CONFIDENCE = 1.0
SCALE: int = tax.SCALE
HUNDRED = 100 * SCALE
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Credited:
    """What is already credited: (variant, "YYYY-MM") pairs a non-void memo made from an
    accepted service-issue suggestion covers, and invoices a service-issue memo made by hand
    is linked to (its every product and month counts as credited: few, right suggestions)."""

    months: frozenset[tuple[str, str]] = frozenset()
    invoices: frozenset[str] = frozenset()

# --- the arithmetic ------------------------------------------------------------------------

def month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    if (start.year, start.month) == (9999, 12):  # the calendar's last month ends here
        return datetime.max.replace(tzinfo=UTC)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def downtime(incidents: Iterable[Incident], start: datetime, end: datetime) -> int:
    """Microseconds of [start, end) inside any incident: overlapping ones count once."""
    spans = sorted((max(i.started_at, start), min(i.ended_at, end)) for i in incidents)
    total = 0
    cur_start: datetime | None = None
    cur_end = start
    for s, e in spans:
        if e <= s:
            continue
        if cur_start is None or s > cur_end:
            if cur_start is not None:
                total += (cur_end - cur_start) // _US
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_start is not None:
        total += (cur_end - cur_start) // _US
    return total


def availability(down_us: int, start: datetime, end: datetime) -> Fraction:
    """The month's availability as a fraction of 100 percent (1 = always up)."""
    length = (end - start) // _US
    return Fraction(length - down_us, length)


def band_for(avail: Fraction, bands: Sequence[Band]) -> Band | None:
    """The band owed: the lowest ``below`` the availability is strictly under."""
    under = [b for b in bands if avail < Fraction(b.below, HUNDRED)]
    return min(under, key=lambda b: b.below) if under else None


def credit_minor(charge_minor: int, credit_percent: int) -> int:
    """credit_percent of the charge, rounded half-up to the minor unit."""
    return (2 * charge_minor * credit_percent + HUNDRED) // (2 * HUNDRED)


def percent_shown(avail: Fraction) -> str:
    """Availability as a percent with two places, truncated: never shown reaching a
    threshold it is under (99.8999% is "99.89", not "99.90")."""
    hundredths = avail * 10_000
    whole, frac = divmod(hundredths.numerator // hundredths.denominator, 100)
    return f"{whole}.{frac:02d}"


def _duration(us: int) -> str:
    minutes = us // 60_000_000
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    if hours:
        return f"{hours} h"
    return f"{mins} min" if mins else f"{us // 1_000_000} s"


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def policy_for(policies: Sequence[Policy], variant_id: str) -> Policy | None:
    default = None
    for p in policies:
        if p.variant_id == variant_id:
            return p
        if p.variant_id is None:
            default = p
    return default


@dataclass(frozen=True, slots=True)
class _Charge:
    invoice: InvoiceData
    lines: tuple[LineData, ...]

    @property
    def amount(self) -> int:
        return sum(li.amount_minor for li in self.lines)


def suggest(history: History, incidents: Sequence[Incident], policies: Sequence[Policy],
            credited: Credited = Credited(), *,
            variant_names: Mapping[str, str] | None = None) -> list[Suggestion]:
    """G5: one suggestion per product, month and currency whose availability falls under a
    band of its policy, not already credited; linked to the invoice carrying most of the
    month's charge (and dropped when that invoice can't take it any more: C5)."""
    incidents = [i for i in incidents
                 if not i.customer_ids or history.customer_id in i.customer_ids]
    if not incidents or not policies:
        return []
    # Only the months some incident touches are worth grouping (most months have none).
    in_month = _by_month(incidents, {month_start(inv.issue_date) for inv in history.invoices})
    if not in_month:
        return []
    groups: dict[tuple[str, datetime, str], list[_Charge]] = defaultdict(list)
    for inv in history.invoices:
        month = month_start(inv.issue_date)
        if month not in in_month:
            continue
        by_variant: dict[str, list[LineData]] = defaultdict(list)
        for line in inv.lines:
            if line.variant_id:
                by_variant[line.variant_id].append(line)
        for vid, lines in by_variant.items():
            groups[(vid, month, inv.currency)].append(_Charge(inv, tuple(lines)))
    linked: dict[str, int] = defaultdict(int)
    for m in history.memos:
        if m.status != "void":
            linked[m.invoice_id] += m.total_minor
    out = []
    for (vid, start, currency), charges in sorted(groups.items()):
        found = _one(history.customer_id, vid, start, currency, charges, in_month[start],
                     policies, credited, linked, (variant_names or {}).get(vid, vid))
        if found is not None:
            out.append(found)
    return out


def _by_month(incidents: Sequence[Incident],
              months: Iterable[datetime]) -> dict[datetime, list[Incident]]:
    """The incidents overlapping each of ``months`` (month starts), in the order given: each
    incident visits only the months it spans (a sorted list, bisected), not every month."""
    ordered = sorted(months)
    found: dict[datetime, list[Incident]] = defaultdict(list)
    for i in incidents:
        k = max(bisect.bisect_right(ordered, i.started_at) - 1, 0)
        while k < len(ordered) and ordered[k] < i.ended_at:
            if next_month(ordered[k]) > i.started_at:
                found[ordered[k]].append(i)
            k += 1
    return found


def _one(customer_id: str, vid: str, start: datetime, currency: str, charges: list[_Charge],
         incidents: Sequence[Incident], policies: Sequence[Policy], credited: Credited,
         linked: Mapping[str, int], product: str) -> Suggestion | None:
    policy = policy_for(policies, vid)
    if policy is None:
        return None
    end = next_month(start)
    hits = sorted((i for i in incidents if i.touches(customer_id, vid)
                   and i.started_at < end and i.ended_at > start),
                  key=lambda i: (i.started_at, i.id))
    down = downtime(hits, start, end)
    if down == 0:
        return None
    avail = availability(down, start, end)
    band = band_for(avail, policy.bands)
    if band is None:
        return None
    month = start.strftime("%Y-%m")
    if (vid, month) in credited.months or any(c.invoice.id in credited.invoices
                                              for c in charges):
        return None
    charge = sum(c.amount for c in charges)
    amount = credit_minor(charge, band.credit_percent)
    if amount <= 0:
        return None
    main = max(charges, key=lambda c: (c.amount, -c.invoice.issue_date.toordinal(),
                                       c.invoice.id))
    if amount > main.invoice.total_minor - linked.get(main.invoice.id, 0):
        return None  # C5: the invoice can't be credited that much any more
    ordered = sorted(charges, key=lambda c: (c.invoice.issue_date, c.invoice.number))
    invoice_ids = tuple(c.invoice.id for c in ordered)
    line_ids = tuple(sorted(li.id for c in charges for li in c.lines))
    names = "; ".join(f'"{i.description}" ({_when(i.started_at)} to {_when(i.ended_at)} UTC)'
                      for i in hits)
    length = (end - start) // _US
    billed = ", ".join(f"{Money(c.amount, currency).shown()} on {c.invoice.number}"
                       for c in ordered)
    text = (f"{'Incident' if len(hits) == 1 else 'Incidents'} {names} left {product} at "
            f"{percent_shown(avail)}% availability in {start.strftime('%B %Y')} "
            f"({_duration(down)} down{' — overlaps counted once' if len(hits) > 1 else ''}; "
            f"{tax.percent_text(policy.availability_promised)}% promised). The SLA policy "
            f"credits {tax.percent_text(band.credit_percent)}% below "
            f"{tax.percent_text(band.below)}%: {tax.percent_text(band.credit_percent)}% of "
            f"the month's recurring charge of {Money(charge, currency).shown()} ({billed}) "
            f"= {Money(amount, currency).shown()}.")
    key = hashlib.sha256("|".join([REASON, customer_id, vid, month, currency,
                                   ",".join(sorted(i.id for i in hits))]).encode()).hexdigest()
    features = {"availability": float(avail), "downtime_seconds": down / 1_000_000,
                "month_seconds": length / 1_000_000, "incidents": float(len(hits))}
    return Suggestion(reason=REASON, customer_id=customer_id, invoice_id=main.invoice.id,
                      invoice_ids=invoice_ids, line_ids=line_ids, amount_minor=amount,
                      currency=currency, confidence=CONFIDENCE, explanation=text,
                      evidence_key=key, features=features)
