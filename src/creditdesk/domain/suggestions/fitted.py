"""Fitted calibration parameters: reason -> (intercept, weights in calibration.FEATURES order).

Written by ``python -m creditdesk.evaluation.fit`` on seeds 1-12; do not edit by hand.
"""

PARAMS: dict[str, tuple[float, tuple[float, ...]]] = {
    'duplicate_charge': (
        3.5821,
        (-1.55239, -6.183336, 2.835574, 2.689691, 1.567908, -0.009828, -0.971962, -1.78828),
    ),
    'pricing_error': (
        -3.699372,
        (0.846697, -3.130123, 7.504288, 0.821219, 3.787142),
    ),
    'billing_adjustment': (
        -18.956357,
        (1.032232, -2.621242, 2.333566, 0.275589, 1.754558, 0.576933, 10.812297),
    ),
}
