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
        3.63848,
        (
            -0.304423, -5.229628, 1.64116, 0.983447, 8.272889,
            -2.97655, -2.919811, 1.24555, -0.288024, -0.468346,
            1.573692,
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
