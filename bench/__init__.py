"""CreditDesk benchmarks (not tests): ``python -m bench`` runs them all, ``make bench`` too.

Each benchmark prints its figures as ratios to a baseline measured in the same run (the
machine is shared and noisy), writes a small JSON summary to ``bench/results/<name>.json``
and is described, with its latest figures and targets, in ``docs/benchmarks.md``.

- b1: apply throughput through the service layer vs a bare loop of the same writes
- b2: workload W(N) side by side with the peer python-accounting
- b3: the HTTP API under load (16 clients, PostgreSQL, multi-worker server)
- b4: reads at scale (1,000,000 memos over 10,000 customers on PostgreSQL)
"""
