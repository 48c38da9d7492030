"""Fitted calibration parameters: reason -> (intercept, weights in calibration.FEATURES order).

Written by ``python -m creditdesk_devtools.evaluation.fit`` on seeds 1-12; do not edit by hand.
"""

PARAMS: dict[str, tuple[float, tuple[float, ...]]] = {
    'duplicate_charge': (
        3.5821,
        (-1.55239, -6.183336, 2.835574, 2.689691, 1.567908, -0.009828, -0.971962, -1.78828),
    ),
    'pricing_error': (
        -2.420273,
        (0.407641, -2.066996, 2.681591, 1.991757, 3.480859, -4.613124, -4.064244),
    ),
    'billing_adjustment': (
        -16.087901,
        (0.927087, -0.826169, 2.624693, 0.22478, 1.968731, 1.509356, 2.969353, 3.351246, -4.497297),
    ),
}
