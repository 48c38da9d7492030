"""Fitted calibration parameters: reason -> (intercept, weights in calibration.FEATURES order).

Written by ``python -m creditdesk_devtools.evaluation.fit`` on seeds 1-12; do not edit by hand.
"""

PARAMS: dict[str, tuple[float, tuple[float, ...]]] = {
    'duplicate_charge': (
        0.349882,
        (
            -1.34968, -5.283568, 0.939693, 4.212351, 3.456731,
            0.982742, -0.052931, -2.525469, 0.483739, 0.863161,
            -0.830087,
        ),
    ),
    'pricing_error': (
        3.99292,
        (
            -0.289642, -4.393165, 1.734339, 0.493316, 8.533543,
            -3.839846, -2.761442, 1.147805, -0.668752, -0.601696,
            1.793043,
        ),
    ),
    'billing_adjustment': (
        -9.56091,
        (
            1.300842, -1.63449, 2.449736, 0.426195, -1.362079,
            2.429593, 3.547393, 2.118871, -3.172706, 1.518811,
            -1.384965,
        ),
    ),
}
