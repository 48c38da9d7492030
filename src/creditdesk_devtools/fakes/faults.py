"""Fault injection shared by the fake accounting systems: a test queues faults, and each
following API request takes the next one."""

from __future__ import annotations

import threading


class FaultInjection:
    """Mixin for a fake's state; it needs ``lock``, ``faults`` and ``KNOWN_FAULTS``."""

    KNOWN_FAULTS: tuple[str, ...] = ()
    lock: threading.RLock
    faults: list[str | None]  # None: that request goes through untouched

    def inject(self, *faults: str) -> None:
        """Queue faults, one per following API request (the fake's KNOWN_FAULTS)."""
        unknown = set(faults) - set(self.KNOWN_FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {self.KNOWN_FAULTS}")
        with self.lock:
            self.faults.extend(faults)

    def inject_after(self, requests: int, *faults: str) -> None:
        """Let the next ``requests`` API requests through, then fault the ones after them:
        a fault in the middle of a paged read."""
        unknown = set(faults) - set(self.KNOWN_FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {self.KNOWN_FAULTS}")
        with self.lock:
            self.faults.extend([None] * requests)
            self.faults.extend(faults)

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None
