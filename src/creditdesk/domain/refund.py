"""Refunds of a native memo's remaining credit (R1, R2): methods, the cap, what can be voided.

A refund is recorded here (the money moves outside CreditDesk). It uses the memo's credit as
an application does: the memo's used amount (``applied_minor``) grows by it and its refunded
part (``refunded_minor``) too, so the memo's status follows ``memo.status_for_amounts`` (L3)
and its remaining credit is total - used (C7: applied + refunded + remaining = total).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain.money import Money


class Method(StrEnum):
    """R1: how the money went back to the customer (required)."""

    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CHECK = "check"
    CASH = "cash"
    OTHER = "other"


METHOD_NAMES = {
    Method.CARD: "Card",
    Method.BANK_TRANSFER: "Bank transfer",
    Method.CHECK: "Check",
    Method.CASH: "Cash",
    Method.OTHER: "Other",
}

MAX_REFERENCE = 200


def parse_method(value: object) -> Method:
    """R1: one of the five methods, else a validation error listing them."""
    if isinstance(value, str):
        try:
            return Method(value)
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in Method)
    raise errors.ValidationError.for_field("method", f"must be one of: {allowed}")


def parse_reference(value: object) -> str | None:
    """R1: an optional reference (a check number, the card transaction), 1-200 characters
    once trimmed; empty means none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.ValidationError.for_field("reference", "must be text")
    if len(value.strip()) > MAX_REFERENCE:
        raise errors.ValidationError.for_field(
            "reference", f"must be at most {MAX_REFERENCE} characters")
    return value.strip() or None


def parse_refunded_at(value: object, today: date) -> date:
    """R1: the day of the refund, ``YYYY-MM-DD``; today when not given."""
    if value is None or value == "":
        return today
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise errors.ValidationError.for_field("refunded_at", "must be a date (YYYY-MM-DD)")


def refundable(*, status: memo_rules.MemoStatus, source: memo_rules.Source) -> bool:
    """R1: whether ``check_refundable`` lets the memo be refunded (what its page offers)."""
    return source is memo_rules.Source.NATIVE and status in memo_rules.CREDIT_STATUSES


def check_refundable(*, status: memo_rules.MemoStatus, source: memo_rules.Source,
                     number: str) -> None:
    """R1: only a native memo that is issued or partially applied has credit to refund."""
    if source is not memo_rules.Source.NATIVE:
        name = memo_rules.SOURCE_NAMES[source]
        raise errors.ReadOnly(
            f"Credit memo {number} is synced from {name} and is read-only here; "
            f"record the refund in {name}.")
    if status not in memo_rules.CREDIT_STATUSES:
        raise errors.InvalidState(
            f"Credit memo {number} is {status.value.replace('_', ' ')} and can't be refunded. "
            "Only issued or partially applied memos have credit to refund.")


def check_refund_cap(*, amount: Money, memo_remaining: Money, memo_number: str) -> None:
    """R1 (A2's rule): a refund can't exceed the memo's remaining credit."""
    if amount > memo_remaining:
        raise errors.ExceedsMemoRemaining(
            f"Can't refund {amount}: credit memo {memo_number} has only {memo_remaining} "
            "remaining.")


def check_voidable(*, voided: bool, memo_status: memo_rules.MemoStatus, memo_number: str,
                   source: memo_rules.Source) -> None:
    """R2: a refund not yet voided, of a native memo that is not void, can be voided."""
    if source is not memo_rules.Source.NATIVE:
        check_refundable(status=memo_status, source=source, number=memo_number)
    if voided:
        raise errors.InvalidState(
            f"This refund of credit memo {memo_number} is already voided.")
    if memo_status is memo_rules.MemoStatus.VOID:
        raise errors.InvalidState(
            f"Credit memo {memo_number} is void; its refunds can't be voided.")
