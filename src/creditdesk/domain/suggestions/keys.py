"""How lines are recognised as "the same charge" across invoices."""

from __future__ import annotations

import re

from creditdesk.domain.suggestions.model import LineData

_SPACE = re.compile(r"\s+")
# Period labels that change from one recurring invoice to the next ("March 2025", "03/2025",
# "Q1", "week 12"): removed so the series keeps one key.
_PERIOD = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\bq[1-4]\b|[0-9]+",
    re.IGNORECASE)


def exact_key(line: LineData) -> str:
    """Identity of a line for duplicate detection: variant, or the description as written."""
    if line.variant_id:
        return "v:" + line.variant_id
    return "d:" + _SPACE.sub(" ", line.description.strip().lower())


def series_key(line: LineData) -> str:
    """Identity of a recurring charge: the variant, or the description without period labels."""
    if line.variant_id:
        return "v:" + line.variant_id
    text = _PERIOD.sub(" ", line.description.lower())
    text = re.sub(r"[^\w]+", " ", text)
    return "d:" + _SPACE.sub(" ", text).strip()


# An invoice's lines as sorted (charge, quantity, unit price) triples.
Signature = tuple[tuple[str, int, int], ...]


def signature(lines: tuple[LineData, ...]) -> Signature:
    """The multiset of (charge, quantity, unit price) of an invoice, order-free."""
    return tuple(sorted((exact_key(li), li.quantity, li.unit_price_minor) for li in lines))


def loose_signature(lines: tuple[LineData, ...]) -> tuple[tuple[str, int, int], ...]:
    """The multiset of (variant or nothing, quantity, unit price): wording left out."""
    return tuple(sorted((li.variant_id or "", li.quantity, li.unit_price_minor)
                        for li in lines))


def wording(lines: tuple[LineData, ...]) -> str:
    """The descriptions of the lines without a variant, without period labels, order-free."""
    return " | ".join(sorted(series_key(li)[2:] for li in lines if not li.variant_id))
