"""Credit suggestions (G1-G4): detectors over a customer's history, calibrated confidence.

Pure functions over plain data (model.py); the service layer loads the history and stores
the results.
"""

from creditdesk.domain.suggestions.engine import MIN_CONFIDENCE, candidates, evidence_key, suggest
from creditdesk.domain.suggestions.model import (
    Candidate,
    History,
    InvoiceData,
    LineData,
    MemoData,
    PriceSeen,
    Suggestion,
)

REASONS = ("duplicate_charge", "pricing_error", "billing_adjustment")

__all__ = ["MIN_CONFIDENCE", "REASONS", "Candidate", "History", "InvoiceData", "LineData",
           "MemoData", "PriceSeen", "Suggestion", "candidates", "evidence_key", "suggest"]
