"""Named points between the steps of a request that must survive a crash at any instant
(E2). Each is a no-op unless a test installs a hook, which may raise to act out a crash
there, or wait to hold a request mid-flight.

The points, in the order a keyed request with an effect passes them:
``idempotency.looked_up`` (no stored answer: the operation will run), ``unit.claimed`` (the
key's row inserted as the transaction's first statement), ``unit.step_written`` (a use
case's writes done), ``idempotency.answered`` (the route's answer complete, nothing
committed), ``unit.before_commit`` (the answer written into the transaction),
``unit.committed`` (effect and answer committed, the client not answered yet).

Jobs pass their own: ``suggestion_run.batch_committed`` (a partner-wide refresh committed
one batch of customers and its progress).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

POINTS = ("idempotency.looked_up", "unit.claimed", "unit.step_written",
          "idempotency.answered", "unit.before_commit", "unit.committed")

_hook: Callable[[str], None] | None = None


def point(name: str) -> None:
    """Call the installed hook, if any, with the point's name."""
    if _hook is not None:
        _hook(name)


@contextmanager
def installed(hook: Callable[[str], None]) -> Iterator[None]:
    """Install ``hook`` for the duration of the block (tests only)."""
    global _hook
    previous, _hook = _hook, hook
    try:
        yield
    finally:
        _hook = previous
