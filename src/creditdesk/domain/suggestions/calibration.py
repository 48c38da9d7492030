"""Confidence: a logistic model per reason over the detectors' features (Platt scaling),
then shifted per partner by what that partner accepted and dismissed (issue 16, item 5).

The weights are fitted on labelled histories by ``python -m creditdesk_devtools.evaluation.fit``
and committed in ``fitted.py``; a confidence of 0.8 or more is right at least 90% of the time
on held-out data (docs/suggestions.md has the table).

Per partner: the share of a reason's suggestions the partner accepted, smoothed towards the
rate the model expects (PRIOR pseudo-decisions), moves the log-odds by the difference with
that expected rate, at most MAX_SHIFT down and MAX_RISE up. A partner who always dismisses a kind of
suggestion sees fewer of them; a suggestion whose own confidence is at least FLOOR is still
shown, so nothing is silenced for good by feedback alone.
"""

from __future__ import annotations

import math

from creditdesk.domain.suggestions import fitted

FEATURES: dict[str, tuple[str, ...]] = {
    "duplicate_charge": ("log_gap", "weeks_late", "log_lines", "regular", "gain", "log_surprise",
                         "log_repeats", "log_density", "same_day", "same_day_dense",
                         "log_short"),
    "pricing_error": ("log_z", "has_history", "log_ratio", "log_history",
                      "log_over_catalogue", "log_seen", "market_known", "steady",
                      "at_catalogue", "qty_off", "both_sides"),
    "billing_adjustment": ("log_z", "log_ratio", "returned", "unknown_after", "log_history",
                           "steady", "regularity", "same_shape", "crowded", "annual",
                           "qty_changed"),
}


EXPECTED = 0.95  # the share a partner accepts when the model is as right as its bar (0.95)
PRIOR = 4.0  # pseudo-decisions at the expected rate: a few dismissals move little
MAX_SHIFT = 4.0  # log-odds, downwards
# Upwards much less: a partner who accepts what is shown says little about the candidates
# below the threshold, which are mostly wrong.
MAX_RISE = 0.25
FLOOR = 0.99  # shown whatever the partner's feedback


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def partner_shift(feedback: tuple[int, int] | None) -> float:
    """Log-odds added to a reason's confidence for a partner: (accepted, dismissed)."""
    if not feedback:
        return 0.0
    accepted, dismissed = feedback
    rate = (accepted + PRIOR * EXPECTED) / (accepted + dismissed + PRIOR)
    return max(-MAX_SHIFT, min(MAX_RISE, _logit(rate) - _logit(EXPECTED)))


def for_partner(conf: float, feedback: tuple[int, int] | None) -> float:
    """The model's confidence as this partner's decisions on the reason bear it out."""
    shift = partner_shift(feedback)
    if shift == 0.0:
        return conf
    return 1.0 / (1.0 + math.exp(-max(min(_logit(conf) + shift, 40.0), -40.0)))


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
