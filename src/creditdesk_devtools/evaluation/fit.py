"""Fit the calibration (a logistic model per reason) on training seeds and write
``domain/suggestions/fitted.py``: ``python -m creditdesk_devtools.evaluation.fit``.

Training seeds never include the held-out seed of evaluate.py. Plain Newton iterations with
a small L2 penalty: a handful of features needs nothing more.
"""

from __future__ import annotations

import math
from pathlib import Path

from creditdesk.domain.suggestions import REASONS, calibration, candidates
from creditdesk_devtools.evaluation.evaluate import HELD_OUT_SEEDS, TUNING_SEEDS, key
from creditdesk_devtools.evaluation.generator import Generator

TRAIN_SEEDS = range(1, 13)
L2 = 1.0
TARGET = (Path(__file__).resolve().parents[2] / "creditdesk" / "domain" / "suggestions"
          / "fitted.py")


def training_rows() -> dict[str, list[tuple[list[float], int]]]:
    rows: dict[str, list[tuple[list[float], int]]] = {r: [] for r in REASONS}
    for seed in TRAIN_SEEDS:
        assert seed not in HELD_OUT_SEEDS and seed not in TUNING_SEEDS
        data = Generator(seed).generate(200)
        wanted = {key(lb.reason, lb.customer_id, lb.invoice_id) for lb in data.labels}
        for h in data.histories:
            for c in candidates(h):
                y = int(key(c.reason, c.customer_id, c.invoice_id) in wanted)
                rows[c.reason].append((calibration.vector(c.reason, c.features), y))
    return rows


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [[*row[:], b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col and m[col][col]:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] if m[i][i] else 0.0 for i in range(n)]


def logistic(rows: list[tuple[list[float], int]]) -> list[float]:
    """Weights [intercept, w1..wk] maximising the penalised likelihood."""
    k = len(rows[0][0]) + 1
    w = [0.0] * k
    for _ in range(50):
        grad = [0.0] * k
        hess = [[0.0] * k for _ in range(k)]
        for x, y in rows:
            v = [1.0, *x]
            p = 1 / (1 + math.exp(-max(min(sum(a * b for a, b in zip(w, v, strict=True)), 40),
                                       -40)))
            for i in range(k):
                grad[i] += (y - p) * v[i]
                for j in range(k):
                    hess[i][j] += p * (1 - p) * v[i] * v[j]
        for i in range(1, k):
            grad[i] -= L2 * w[i]
            hess[i][i] += L2
        step = _solve(hess, grad)
        w = [a + b for a, b in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return w


def main() -> None:
    params = {}
    for reason, rows in training_rows().items():
        positives = sum(y for _, y in rows)
        print(f"{reason}: {len(rows)} candidates, {positives} right")
        w = logistic(rows)
        params[reason] = (round(w[0], 6), tuple(round(v, 6) for v in w[1:]))
    def weights(ws: tuple[float, ...]) -> str:  # five a line: the file stays lint-clean
        rows = [", ".join(repr(w) for w in ws[k:k + 5]) for k in range(0, len(ws), 5)]
        return "(\n" + "".join(f"            {row},\n" for row in rows) + "        )"

    body = "\n".join(f"    {r!r}: (\n        {p[0]!r},\n        {weights(p[1])},\n    ),"
                     for r, p in params.items())
    TARGET.write_text(
        '"""Fitted calibration parameters: reason -> (intercept, weights in '
        'calibration.FEATURES order).\n\nWritten by '
        '``python -m creditdesk_devtools.evaluation.fit`` on '
        f'seeds {TRAIN_SEEDS.start}-{TRAIN_SEEDS.stop - 1}; do not edit by hand.\n"""\n\n'
        "PARAMS: dict[str, tuple[float, tuple[float, ...]]] = {\n" + body + "\n}\n")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
