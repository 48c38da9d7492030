"""Duplicate charge: an invoice repeating another's lines within a short window that the
customer's own pattern for those lines does not explain (G1). The later one is credited.

Two cases, by the rhythm of the invoices carrying exactly those lines:

- regular (a plan, a standing order): a repeat is a duplicate when it is an extra beat,
  i.e. taking it out leaves the series on its cadence, and leaving it in breaks it;
- irregular (ad-hoc orders): the repeat is compared with how often this customer orders
  that exact basket; a copy days apart of a basket ordered every few months is surprising,
  one of a basket ordered every few days is not.

"The same lines" is order-free and wording-tolerant: the same variants (or descriptions that
read alike once period labels are set aside), quantities and unit prices, so a copy keyed in
again with its lines reordered or reworded is still a copy. An invoice whose whole amount
was credited back (voided by a memo) is neither an original nor a copy: its re-issue is not
a duplicate.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from difflib import SequenceMatcher

from creditdesk.domain.money import Money
from creditdesk.domain.suggestions import stats
from creditdesk.domain.suggestions.keys import loose_signature, wording
from creditdesk.domain.suggestions.model import Candidate, History, InvoiceData

REASON = "duplicate_charge"
# Beyond a month apart, a repeat is an order, not a double charge.
MAX_GAP_DAYS = 31
# A last repeat closer than this share of the lines' own cadence is not explained by it.
CADENCE_SHARE = 0.5
# An extra beat must put the series this share of a period further from its cadence.
MIN_GAIN = 0.5
MIN_REGULARITY = 0.6
# Two beats this share of a period apart, both extra: the later is the copy.
CLOSE = 0.25
# Two descriptions "read alike" above this similarity (difflib ratio, period labels removed).
ALIKE = 0.7


def detect(history: History) -> list[Candidate]:
    credited: dict[str, int] = defaultdict(int)
    for m in history.memos:
        if m.status != "void":
            credited[m.invoice_id] += m.total_minor
    loose: dict[tuple[str, object], list[InvoiceData]] = defaultdict(list)  # by currency
    for inv in history.invoices:
        if inv.lines and not (inv.total_minor > 0 and credited[inv.id] >= inv.total_minor):
            loose[(inv.currency, loose_signature(inv.lines))].append(inv)
    groups = [g for same in loose.values() for g in _by_wording(same)]
    dates = [i.issue_date for i in history.invoices]
    span = (max(dates) - min(dates)).days + 30 if dates else 30
    density = len(dates) * 30 / span  # the customer's invoices per month
    out: list[Candidate] = []
    for group in groups:
        if len(group) < 2:
            continue
        group.sort(key=lambda i: (i.issue_date, i.number))
        # The lines' own rhythm: a median, so one double charge does not change it.
        cad = stats.cadence([i.issue_date for i in group])
        if cad is not None and cad[1] >= MIN_REGULARITY:
            pairs = _extra_beats(group, cad[0])
        else:
            pairs = [(i, 0.0) for i in range(1, len(group))]
            cad = None
        # How often this customer bills exactly these lines, apart from the repeat itself.
        typical = span / max(len(group) - 1, 1)
        gaps = sorted(stats.gaps_in_days([i.issue_date for i in group]))
        for idx, gain in pairs:
            gap = (group[idx].issue_date - group[idx - 1].issue_date).days
            # How many other times these lines came this soon after each other: a customer
            # who reorders the same basket every day or two does it again and again.
            short = bisect.bisect_right(gaps, gap) - 1
            cand = _pair(history, group, idx, cad, gain, typical, density, short)
            if cand is not None:
                out.append(cand)
    return out


def _by_wording(invoices: list[InvoiceData]) -> list[list[InvoiceData]]:
    """Invoices with the same variants, quantities and prices, split where the descriptions
    of their non-catalogue lines do not read alike."""
    if len(invoices) < 2:
        return [invoices]
    clusters: list[tuple[str, list[InvoiceData]]] = []
    known: dict[str, int] = {}
    for inv in invoices:
        text = wording(inv.lines)
        at = known.get(text)
        if at is None:
            at = next((k for k, (rep, _) in enumerate(clusters)
                       if _alike(rep, text)), None)
            if at is None:
                at = len(clusters)
                clusters.append((text, []))
            known[text] = at
        clusters[at][1].append(inv)
    return [members for _, members in clusters]


def _alike(a: str, b: str) -> bool:
    if a == b:
        return True
    ta, tb = set(a.split()), set(b.split())
    if ta and tb and (ta <= tb or tb <= ta):
        return True
    return SequenceMatcher(None, a, b).ratio() >= ALIKE


def _extra_beats(group: list[InvoiceData], period: float) -> list[tuple[int, float]]:
    """Indexes of invoices that break a regular series' rhythm, with how much (in periods).

    Taking an extra beat out leaves its neighbours one period apart; of two neighbours that
    both look extra, the one whose removal mends the rhythm most is kept (the later on a
    tie: the copy, not the original)."""
    days = [i.issue_date for i in group]
    gains: dict[int, float] = {}
    for i in range(1, len(days)):
        gap = (days[i] - days[i - 1]).days
        if gap > MAX_GAP_DAYS or gap >= period:
            continue  # an extra beat comes before the next one is due
        if i + 1 < len(days):
            nxt = (days[i + 1] - days[i]).days
            gain = abs(gap - period) + abs(nxt - period) - abs(gap + nxt - period)
        else:  # the latest one: nothing after it to tell
            gain = abs(gap - period) if gap < CADENCE_SHARE * period else 0.0
        if gain >= MIN_GAIN * period:
            gains[i] = gain / period
    def close(i: int) -> bool:  # i - 1 and i both look extra and are days apart: a copy pair
        return i - 1 in gains and (days[i] - days[i - 1]).days <= CLOSE * period

    def misfit(keep: int, a: int) -> float:  # how far ``keep`` is off the rhythm, kept alone
        out = 0.0
        if a > 0:
            out += abs((days[keep] - days[a - 1]).days - period)
        if a + 2 < len(days):
            out += abs((days[a + 2] - days[keep]).days - period)
        return out

    chosen: dict[int, float] = {}
    paired: set[int] = set()
    for i in sorted(gains):
        if close(i) and i - 1 not in paired:
            # Of a copy pair the later one is the copy, unless it clearly sits on the
            # rhythm and the earlier one does not (a copy sent just before the next beat).
            a = i - 1
            pick = a if misfit(i, a) + CLOSE * period < misfit(a, a) else i
            chosen[pick] = gains[pick]
            paired.update((a, i))
    for i, g in gains.items():
        if i not in paired and gains.get(i - 1, -1.0) <= g and gains.get(i + 1, -1.0) < g:
            chosen[i] = g
    return sorted(chosen.items())


def _pair(history: History, group: list[InvoiceData], idx: int, cad: tuple[float, float] | None,
          gain: float, typical: float, density: float, short: int) -> Candidate | None:
    earlier, later = group[idx - 1], group[idx]
    gap = (later.issue_date - earlier.issue_date).days
    if gap > MAX_GAP_DAYS:
        return None
    regular = cad is not None
    n_lines = len(later.lines)
    features = {
        "log_gap": math.log1p(gap),
        # A copy sent again is usually sent within days; past a week the evidence weakens.
        "weeks_late": max(gap - 7, 0) / 7,
        "log_lines": math.log1p(n_lines),
        "regular": 1.0 if regular else 0.0,
        "gain": min(gain, 3.0),
        "log_surprise": 0.0 if regular else math.log(typical / max(gap, 0.5)),
        "log_repeats": math.log1p(len(group) - 2),
        "log_density": math.log1p(density),
        # Billed twice on one day: a double submission, whatever the customer's rhythm.
        "same_day": 1.0 if gap == 0 else 0.0,
        "same_day_dense": math.log1p(density) if gap == 0 else 0.0,
        "log_short": math.log1p(short),
    }
    amount = Money(later.total_minor, later.currency).to_str()
    lines = "same line" if n_lines == 1 else f"same {n_lines} lines"
    days = {0: "the same day", 1: "1 day apart"}.get(gap, f"{gap} days apart")
    if cad is not None:
        pattern = (f"these lines are billed {stats.cadence_name(cad[0])}, "
                   "so a repeat this soon is not the usual rhythm")
    elif len(group) > 2:
        pattern = (f"these lines were billed {len(group)} times, about every "
                   f"{round(typical)} days, with no regular rhythm")
    else:
        pattern = "no recurring pattern of this customer explains it"
    explanation = (f"{later.number} repeats {earlier.number} ({lines}"
                   f", {later.currency} {amount}, {days}); {pattern}.")
    return Candidate(
        reason=REASON, customer_id=history.customer_id, invoice_id=later.id,
        invoice_ids=(later.id, earlier.id), line_ids=(), amount_minor=later.total_minor,
        currency=later.currency, features=features, explanation=explanation)
