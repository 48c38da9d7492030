"""Fitted calibration parameters: reason -> (intercept, weights in calibration.FEATURES order).

Written by ``python -m creditdesk_devtools.evaluation.fit`` on seeds 1-12; do not edit by hand.
"""

PARAMS: dict[str, tuple[float, tuple[float, ...]]] = {
    'duplicate_charge': (
        2.323486,
        (-1.533108, -6.608398, 3.749547, 2.150542, 1.535081, 0.106873, -0.376479, -2.353045, -0.21554),
    ),
    'pricing_error': (
        3.845528,
        (-0.111799, -5.639721, 1.268363, 0.840023, 8.287338, -2.748399, -2.204861, 1.136639, -1.057684, -0.526551, 1.808909),
    ),
    'billing_adjustment': (
        -9.35761,
        (0.797481, -0.230874, 2.459309, 0.430943, -0.581971, 1.584039, 4.104576, 2.407054, -2.169681, 1.515318, -1.99406),
    ),
}
