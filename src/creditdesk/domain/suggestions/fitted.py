"""Fitted calibration parameters: reason -> (intercept, weights in calibration.FEATURES order).

Written by ``python -m creditdesk_devtools.evaluation.fit`` on seeds 1-12; do not edit by hand.
"""

PARAMS: dict[str, tuple[float, tuple[float, ...]]] = {
    'duplicate_charge': (
        5.841728,
        (
            -3.818625, -4.198294, 2.919909, 2.061957, 2.391556,
            0.360215, -0.240868, -2.30307, 0.086856, 0.153134,
        ),
    ),
    'pricing_error': (
        3.627575,
        (
            -0.260383, -5.308726, 1.721821, 0.997035, 8.172259,
            -2.977848, -2.897588, 1.215479, -0.202164, -0.511316,
            1.555988,
        ),
    ),
    'billing_adjustment': (
        -7.671595,
        (
            1.022545, -1.025923, 1.882491, -0.094707, -1.411208,
            1.697724, 4.392812, 1.762306, -2.609182, 2.329531,
            -2.100474,
        ),
    ),
}
