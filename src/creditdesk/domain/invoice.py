"""What may be done to an invoice by its source (Y9 with Y3): a native invoice follows
I2-I5; a synced one is the accounting system's and read-only here.

The statuses and amounts of invoices are ``domain.application``'s (I4, I5).
"""

from __future__ import annotations

from creditdesk.domain import errors
from creditdesk.domain.memo import SOURCE_NAMES, Source


def check_writable(*, source: str, number: str) -> None:
    """Y9/Y3: refuse any change to a synced invoice (issue, void, a payment, a credit memo
    started from it or linked to it), naming the system where it is changed."""
    src = Source(source)
    if src is not Source.NATIVE:
        raise errors.ReadOnly(
            f"Invoice {number} is managed in {SOURCE_NAMES[src]}; change it there.")


def source_name(source: str) -> str:
    """The system an invoice comes from, in words ("QuickBooks Online"; "CreditDesk")."""
    return SOURCE_NAMES[Source(source)]
