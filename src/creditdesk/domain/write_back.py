"""Applying synced credit, written back to its accounting system (Y11-Y13): which pairs may
meet, the states of a write-back and how long to wait before trying again.

An application of synced credit is ``pending`` while a write-back waits for the system's
answer (``apply``: make the record there; ``remove``: delete it), ``applied`` once the
system made it, ``failed`` when the system refused it (or a removal) with its words. A
failed write-back changes nothing here and can be retried or cancelled (Y12).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from creditdesk.domain import errors
from creditdesk.domain.memo import SOURCE_NAMES, Source


class Status(StrEnum):
    APPLIED = "applied"
    PENDING = "pending"
    FAILED = "failed"


class Action(StrEnum):
    APPLY = "apply"
    REMOVE = "remove"


class Origin(StrEnum):
    USER = "user"
    AUTOMATIC = "automatic"
    PORTAL = "portal"
    SOURCE_SYSTEM = "source_system"


# Transient failures (timeouts, throttling, 5xx) tried this many times in all before the
# write-back is marked failed; each waits twice as long as the one before (API.md:
# CREDITDESK_RETRY_BASE_SECONDS, 60 by default): 1, 2, 4 … 128 minutes, about 4 hours.
MAX_ATTEMPTS = 8

# An attempt's lease: no other worker takes the write-back for this long (its HTTP calls end
# well within it). A write-back sent more than two leases ago that the system does not show
# was never received (Y14).
LEASE = timedelta(minutes=5)
NEVER_RECEIVED_AFTER = 2 * LEASE


def retry_after(attempts: int, base_seconds: float) -> timedelta:
    """The wait before attempt ``attempts + 1`` (``attempts`` ≥ 1 made so far)."""
    return timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))


def check_sources(*, memo_source: str, invoice_source: str, memo_number: str,
                  invoice_number: str) -> None:
    """Y11: native credit meets native invoices only, synced credit invoices of the same
    system only (Y3: anything else would change a synced document)."""
    if memo_source == invoice_source:
        return
    if memo_source == Source.NATIVE.value:
        system = SOURCE_NAMES[Source(invoice_source)]
        raise errors.ReadOnly(
            f"Invoice {invoice_number} is synced from {system}: only {system} credit can be "
            f"applied to it (and is written back there). Credit memo {memo_number} is "
            "CreditDesk credit; apply it to a CreditDesk invoice.")
    system = SOURCE_NAMES[Source(memo_source)]
    raise errors.ReadOnly(
        f"Credit memo {memo_number} is synced from {system}: its credit can only be applied "
        f"to {system} invoices of the same customer, where it is written back. Invoice "
        f"{invoice_number} is not a {system} invoice.")


def check_not_pending(*, status: str, memo_number: str, invoice_number: str,
                      system: str) -> None:
    """Y11: an application whose write-back is unanswered can't be changed (409)."""
    if status == Status.PENDING.value:
        raise errors.WriteBackPending(
            f"The application of credit memo {memo_number} to invoice {invoice_number} is "
            f"waiting for {SOURCE_NAMES[Source(system)]}'s answer; try again once it has "
            "answered.")


def check_retryable(*, status: str, memo_number: str, invoice_number: str) -> None:
    """Y12: only a failed write-back can be retried."""
    if status != Status.FAILED.value:
        raise errors.InvalidState(
            f"The application of credit memo {memo_number} to invoice {invoice_number} is "
            f"{status}; only a failed write-back can be retried.")
