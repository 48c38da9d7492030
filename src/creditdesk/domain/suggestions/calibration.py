"""Confidence: a logistic model per reason over the detectors' features (Platt scaling).

The weights are fitted on labelled histories by ``python -m creditdesk_devtools.evaluation.fit``
and committed in ``fitted.py``; a confidence above 0.8 is right at least 80% of the time on
held-out data (docs/suggestions.md has the table).
"""

from __future__ import annotations

import math

from creditdesk.domain.suggestions import fitted

FEATURES: dict[str, tuple[str, ...]] = {
    "duplicate_charge": ("log_gap", "weeks_late", "log_lines", "regular", "gain", "log_surprise",
                         "log_repeats", "log_density", "same_day", "same_day_dense"),
    "pricing_error": ("log_z", "has_history", "log_ratio", "log_history",
                      "log_over_catalogue", "log_seen", "market_known", "steady",
                      "at_catalogue", "qty_off", "both_sides"),
    "billing_adjustment": ("log_z", "log_ratio", "returned", "unknown_after", "log_history",
                           "steady", "regularity", "same_shape", "crowded", "annual",
                           "qty_changed"),
}


def vector(reason: str, features: dict[str, float]) -> list[float]:
    return [float(features.get(name, 0.0)) for name in FEATURES[reason]]


def confidence(reason: str, features: dict[str, float]) -> float:
    """P(the suggestion is right | its features), between 0 and 1."""
    params = fitted.PARAMS.get(reason)
    if params is None:
        return 0.5
    intercept, weights = params
    x = intercept + sum(w * v for w, v in zip(weights, vector(reason, features), strict=True))
    x = max(min(x, 40.0), -40.0)
    return 1.0 / (1.0 + math.exp(-x))
