"""``python -m creditdesk_devtools.evaluation [--seed N ...] [--customers N]``: the G4 figures.

Without ``--seed``, the held-out seeds (evaluate.HELD_OUT_SEEDS): each seed's overall
precision and recall, their mean and worst, and the pooled table per reason with the
calibration, and whether the regression bar (evaluate.BAR) is met on them pooled: the exit
status is 1 when it is not (``--no-bar``: report only).
"""

from __future__ import annotations

import argparse
import sys

from creditdesk_devtools.evaluation import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, action="append",
                        help="a seed to measure (repeatable; default: the held-out seeds)")
    parser.add_argument("--customers", type=int, default=evaluate.CUSTOMERS)
    parser.add_argument("--no-bar", action="store_true",
                        help="report only: do not fail below the regression bar")
    args = parser.parse_args()
    seeds = args.seed or list(evaluate.HELD_OUT_SEEDS)
    summary = evaluate.evaluate_seeds(seeds, args.customers)
    print(evaluate.render_seeds(summary, args.customers))
    if not args.no_bar and summary.pooled.shortfalls():
        sys.exit(1)


if __name__ == "__main__":
    main()
