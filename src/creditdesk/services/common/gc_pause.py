"""The cyclic garbage collector paused around a bulk computation (suggestion refreshes).

A batch of the suggestion detectors allocates about a million short-lived objects, which
reference counting frees; with the collector on, those allocations set off full collections
that scan the whole heap (some 225,000 objects in a worker before any work, more with a
request's), several times a batch: a third of a large refresh. Paused, nothing is lost —
cycles made meanwhile are collected once it resumes.

Process-wide, so paused and resumed under a lock with a depth count: threads that pause at
once resume it only when the last one is done, and a collector someone else disabled is
left disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
