"""Per-partner calibration measured on simulated feedback (issue 16, item 5):
``python -m creditdesk_devtools.evaluation.feedback [--seed N] [--customers N]``.

One held-out data set is split in two: the partner decides on the suggestions for the first
half of the customers (accept or dismiss), and the suggestions for the second half are
measured with and without those decisions fed back. Partners simulated:

- *truthful*: accepts the right suggestions and dismisses the wrong ones;
- *never <reason>*: dismisses every suggestion of one reason, truthful otherwise. They must
  see that reason less, and never none at all (the floor).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

from creditdesk.domain.suggestions import REASONS, History, Suggestion, suggest
from creditdesk_devtools.evaluation.evaluate import CUSTOMERS, HELD_OUT_SEED, key, score
from creditdesk_devtools.evaluation.generator import Generator, Label

Decide = Callable[[Suggestion, bool], bool]  # (suggestion, right) -> accepted


def feedback_of(histories: list[History], wanted: set[tuple[str, str, str]],
                decide: Decide) -> dict[str, tuple[int, int]]:
    counts = {r: [0, 0] for r in REASONS}
    for h in histories:
        for s in suggest(h):
            right = key(s.reason, s.customer_id, s.invoice_id) in wanted
            counts[s.reason][0 if decide(s, right) else 1] += 1
    return {r: (a, d) for r, (a, d) in counts.items()}


def run(histories: list[History], feedback: dict[str, tuple[int, int]]) -> list[Suggestion]:
    return [s for h in histories for s in suggest(dataclasses.replace(h, feedback=feedback))]


def simulate(seed: int = HELD_OUT_SEED, customers: int = CUSTOMERS) -> list[str]:
    data = Generator(seed).generate(customers)
    half = len(data.histories) // 2
    first, second = data.histories[:half], data.histories[half:]
    wanted = {key(lb.reason, lb.customer_id, lb.invoice_id) for lb in data.labels}
    later = {h.customer_id for h in second}
    labels: list[Label] = [lb for lb in data.labels if lb.customer_id in later]
    plain = run(second, {})
    base = score(plain, labels).overall()
    out = [f"seed {seed}, {customers} customers: decisions on the first {half}, measured on "
           f"the other {len(second)}",
           f"  no feedback             precision {base.precision:.3f} recall {base.recall:.3f}"]
    fb = feedback_of(first, wanted, lambda s, right: right)
    o = score(run(second, fb), labels).overall()
    out.append(f"  truthful partner        precision {o.precision:.3f} recall {o.recall:.3f}"
               f"   (decisions: {fb})")
    for reason in REASONS:
        fb = feedback_of(first, wanted,
                         lambda s, right, r=reason: right and s.reason != r)  # type: ignore[misc]
        shown = [s for s in run(second, fb) if s.reason == reason]
        before = [s for s in plain if s.reason == reason]
        out.append(f"  never {reason:<19} {reason} shown {len(shown)} of {len(before)} "
                   f"({len(shown) / max(len(before), 1):.0%}; floor keeps the most confident)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    args = parser.parse_args()
    print("\n".join(simulate(args.seed, args.customers)))


if __name__ == "__main__":
    main()
