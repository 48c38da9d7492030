"""The plain data the detectors read and write (G1, G2): no database, no framework.

A customer's history is given as invoices with their lines, the memos linked to them and
the catalogue's current prices; detectors return ``Candidate`` values with their evidence
and the features the calibration turns into a confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class LineData:
    id: str
    description: str
    quantity: int
    unit_price_minor: int
    amount_minor: int
    variant_id: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceData:
    id: str
    number: str
    issue_date: date
    currency: str
    total_minor: int
    lines: tuple[LineData, ...]


@dataclass(frozen=True, slots=True)
class MemoData:
    """A memo linked to an invoice; void memos are left out by the caller or here."""

    invoice_id: str
    reason: str
    total_minor: int
    status: str


@dataclass(frozen=True, slots=True)
class PriceSeen:
    """One unit price of a variant across the partner's invoices: first and last day it was
    charged, on how many lines, to how many customers (0: not known)."""

    first: date
    last: date
    lines: int
    customers: int = 0


@dataclass(frozen=True, slots=True)
class History:
    """One customer's issued, non-void invoices plus context (any order)."""

    customer_id: str
    invoices: tuple[InvoiceData, ...]
    memos: tuple[MemoData, ...] = ()
    catalogue: dict[str, int] = field(default_factory=dict)  # variant id -> current price
    catalogue_currency: str | None = None  # prices compare only with invoices in it
    # What the partner's customers (this one included) were charged per variant, in the
    # catalogue currency: variant id -> unit price -> (first day, last day, lines).
    market: dict[str, dict[int, PriceSeen]] = field(default_factory=dict)
    # The partner's decisions on earlier suggestions: reason -> (accepted, dismissed); the
    # per-partner calibration (calibration.for_partner) shifts confidence with them.
    feedback: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The list prices read from ``market`` (prices.list_price), variant id -> ListPrice: the
    # same for every customer of a refresh, so the histories of one refresh share this dict.
    list_prices: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A detector's finding before calibration.

    ``invoice_id`` is the invoice a memo would be linked to; ``line_ids`` the lines the
    evidence is about (empty for a whole-invoice duplicate); ``features`` plain numbers
    for the calibration; ``facts`` what the explanation cites.
    """

    reason: str
    customer_id: str
    invoice_id: str
    invoice_ids: tuple[str, ...]
    line_ids: tuple[str, ...]
    amount_minor: int
    currency: str
    features: dict[str, float]
    explanation: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    reason: str
    customer_id: str
    invoice_id: str
    invoice_ids: tuple[str, ...]
    line_ids: tuple[str, ...]
    amount_minor: int
    currency: str
    confidence: float
    explanation: str
    evidence_key: str
    features: dict[str, float]
