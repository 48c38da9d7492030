"""``python -m creditdesk.evaluation [--seed N] [--customers N]``: the G4 figures."""

from __future__ import annotations

import argparse

from creditdesk.evaluation import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=evaluate.HELD_OUT_SEED)
    parser.add_argument("--customers", type=int, default=evaluate.CUSTOMERS)
    args = parser.parse_args()
    report = evaluate.evaluate(args.seed, args.customers)
    print(evaluate.render(report, args.seed, args.customers))


if __name__ == "__main__":
    main()
