"""One pass over a customer's history: detect, resolve overlaps, drop what memos already
cover, calibrate, keep the confident ones (G1-G3). O(n log n) in the customer's lines."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from creditdesk.domain.suggestions import billing, calibration, duplicates, pricing
from creditdesk.domain.suggestions.model import Candidate, History, MemoData, Suggestion

# Few, right suggestions: below this calibrated confidence nothing is shown.
MIN_CONFIDENCE = 0.55
VOID = "void"


def evidence_key(c: Candidate) -> str:
    """The same situation gets the same key on every refresh: reason, invoices, lines."""
    text = "|".join([c.reason, ",".join(c.invoice_ids), ",".join(sorted(c.line_ids))])
    return hashlib.sha256(text.encode()).hexdigest()


def candidates(history: History) -> list[Candidate]:
    """Every detector's candidates, one per situation, not yet covered by a memo."""
    found = duplicates.detect(history) + pricing.detect(history) + billing.detect(history)
    return _not_covered(history, _resolve_overlaps(found))


def suggest(history: History, *, min_confidence: float = MIN_CONFIDENCE) -> list[Suggestion]:
    out = []
    for c in candidates(history):
        own = calibration.confidence(c.reason, c.features)
        conf = calibration.for_partner(own, history.feedback.get(c.reason))
        if conf < min_confidence and own < calibration.FLOOR:
            continue
        out.append(Suggestion(
            reason=c.reason, customer_id=c.customer_id, invoice_id=c.invoice_id,
            invoice_ids=c.invoice_ids, line_ids=c.line_ids, amount_minor=c.amount_minor,
            currency=c.currency, confidence=round(conf, 4), explanation=c.explanation,
            evidence_key=evidence_key(c), features=c.features))
    out.sort(key=lambda s: (-s.confidence, s.invoice_id, s.reason))
    return out


def _resolve_overlaps(found: list[Candidate]) -> list[Candidate]:
    """One finding per line: a unit price above the catalogue is a pricing error even on a
    recurring charge; the billing adjustment is dropped then. A duplicate invoice is
    credited whole, so line findings on it are dropped too."""
    duplicate_invoices = {c.invoice_id for c in found if c.reason == duplicates.REASON}
    priced = {(c.invoice_id, lid) for c in found if c.reason == pricing.REASON
              for lid in c.line_ids}
    out = []
    for c in found:
        if c.reason != duplicates.REASON and c.invoice_id in duplicate_invoices:
            continue
        if c.reason == billing.REASON and any((c.invoice_id, lid) in priced
                                              for lid in c.line_ids):
            continue
        out.append(c)
    return out


def _not_covered(history: History, found: list[Candidate]) -> list[Candidate]:
    """Drop what is already credited: a non-void memo linked to the invoice for the same
    reason, or an invoice whose remaining creditable amount (C5) no longer holds it."""
    totals = {i.id: i.total_minor for i in history.invoices}
    linked: dict[str, list[MemoData]] = defaultdict(list)
    for m in history.memos:
        if m.status != VOID:
            linked[m.invoice_id].append(m)
    out = []
    for c in found:
        memos = linked.get(c.invoice_id, [])
        if any(m.reason == c.reason for m in memos):
            continue
        if c.amount_minor > totals.get(c.invoice_id, 0) - sum(m.total_minor for m in memos):
            continue
        out.append(c)
    return out
