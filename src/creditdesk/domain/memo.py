"""Credit memo statuses, reasons and the one transition table (C2, C7, L1-L6, Y3, Y4).

``partially_applied`` and ``applied`` are never set by hand: ``status_for_amounts`` derives
them from the applied amount after every apply and remove.
"""

from __future__ import annotations

from enum import StrEnum

from creditdesk.domain import errors


class MemoStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_APPLIED = "partially_applied"
    APPLIED = "applied"
    VOID = "void"


class Reason(StrEnum):
    """C2: exactly these eight."""

    RETURNED_GOODS = "returned_goods"
    DAMAGED_GOODS = "damaged_goods"
    SERVICE_ISSUE = "service_issue"
    PRICING_ERROR = "pricing_error"
    BILLING_ADJUSTMENT = "billing_adjustment"
    GOODWILL = "goodwill"
    DUPLICATE_CHARGE = "duplicate_charge"
    OTHER = "other"


class Source(StrEnum):
    NATIVE = "native"
    QUICKBOOKS_ONLINE = "quickbooks_online"
    QUICKBOOKS_DESKTOP = "quickbooks_desktop"
    SAGE_INTACCT = "sage_intacct"
    XERO = "xero"


SOURCE_NAMES = {
    Source.NATIVE: "CreditDesk",
    Source.QUICKBOOKS_ONLINE: "QuickBooks Online",
    Source.QUICKBOOKS_DESKTOP: "QuickBooks Desktop",
    Source.SAGE_INTACCT: "Sage Intacct",
    Source.XERO: "Xero",
}


class Action(StrEnum):
    UPDATE = "update"
    DELETE = "delete"
    ISSUE = "issue"
    APPLY = "apply"
    REMOVE = "remove"
    VOID = "void"


S, A = MemoStatus, Action

# The one transition table: which action each status allows. Apply and remove land on a
# status derived from the amounts (status_for_amounts); the others land on a fixed one.
TRANSITIONS: dict[MemoStatus, frozenset[Action]] = {
    S.DRAFT: frozenset({A.UPDATE, A.DELETE, A.ISSUE, A.VOID}),
    S.ISSUED: frozenset({A.APPLY, A.VOID}),
    S.PARTIALLY_APPLIED: frozenset({A.APPLY, A.REMOVE}),
    S.APPLIED: frozenset({A.REMOVE}),
    S.VOID: frozenset(),
}

FIXED_TARGET: dict[Action, MemoStatus] = {A.ISSUE: S.ISSUED, A.VOID: S.VOID}

# Statuses whose remaining amount is credit the customer can use (S1).
CREDIT_STATUSES = (S.ISSUED, S.PARTIALLY_APPLIED)

_VERBS = {
    A.UPDATE: "edited", A.DELETE: "deleted", A.ISSUE: "issued", A.APPLY: "applied to an invoice",
    A.REMOVE: "have credit removed", A.VOID: "voided",
}

_HINTS = {
    A.UPDATE: "Only drafts can be edited; void the memo and create a new one instead.",
    A.DELETE: "Only drafts can be deleted; void an issued memo instead.",
    A.ISSUE: "Only drafts can be issued.",
    A.APPLY: "Only issued or partially applied memos can be applied.",
    A.REMOVE: "Only a memo with credit applied has applications to remove.",
    A.VOID: "Only draft or issued memos can be voided.",
}


def parse_source(value: str, field: str = "source") -> Source:
    """A ``source`` filter (memos' and invoices'): one of the sources, else a validation
    error listing them."""
    try:
        return Source(value)
    except ValueError:
        raise errors.ValidationError.for_field(
            field, f"must be one of: {', '.join(s.value for s in Source)}") from None


def check_allowed(
    *, status: MemoStatus, action: Action, number: str, source: Source, applied_minor: int,
    refunded_minor: int = 0,
) -> None:
    """Raise unless ``action`` is allowed on a memo in ``status`` (L1, L4-L6, A1, Y3, R2).

    ``applied_minor`` is the credit used (applied to invoices and refunded), ``refunded_minor``
    its refunded part (R1): a memo with either can't be voided (L5, R2)."""
    if source is not Source.NATIVE:
        raise errors.ReadOnly(
            f"Credit memo {number} is synced from {SOURCE_NAMES[source]} and is read-only here; "
            f"change it in {SOURCE_NAMES[source]}."
        )
    if action is A.VOID and status is not S.VOID and applied_minor > 0:
        if applied_minor > refunded_minor:
            also = " and void its refunds" if refunded_minor else ""
            raise errors.MemoHasApplications(
                f"Credit memo {number} has credit applied to invoices; remove its applications"
                f"{also} first, then void it."
            )
        raise errors.MemoHasRefunds(
            f"Credit memo {number} has refunds; void its refunds first, then void it.")
    if action not in TRANSITIONS[status]:
        raise errors.InvalidState(
            f"Credit memo {number} is {status.value.replace('_', ' ')} and can't be "
            f"{_VERBS[action]}. {_HINTS[action]}"
        )


def allowed_actions(*, status: MemoStatus, source: Source,
                    applied_minor: int) -> frozenset[Action]:
    """L5 (with L1-L6, Y3): the actions a memo offers, as ``check_allowed`` would allow.

    A synced memo offers none (Y3); a memo with credit applied can't be voided (L5).
    """
    if source is not Source.NATIVE:
        return frozenset()
    allowed = TRANSITIONS[status]
    if applied_minor > 0:
        allowed = allowed - {A.VOID}
    return allowed


def status_for_amounts(*, total_minor: int, applied_minor: int) -> MemoStatus:
    """L3/U2/Y4: the status an issued memo has for its applied amount."""
    if not 0 <= applied_minor <= total_minor:
        raise ValueError("applied amount outside 0..total")
    if applied_minor == 0:
        return S.ISSUED
    if applied_minor == total_minor:
        return S.APPLIED
    return S.PARTIALLY_APPLIED


def remaining_minor(*, status: MemoStatus, total_minor: int, applied_minor: int) -> int:
    """C7: remaining = total - applied, and a void memo has nothing remaining."""
    return 0 if status is S.VOID else total_minor - applied_minor


def parse_reason(value: object, field: str = "reason") -> Reason:
    """C2: one of the eight reasons, else a validation error listing them."""
    if isinstance(value, str):
        try:
            return Reason(value)
        except ValueError:
            pass
    allowed = ", ".join(r.value for r in Reason)
    raise errors.ValidationError.for_field(field, f"must be one of: {allowed}")


MAX_VOID_REASON = 1000


def parse_void_reason(value: object) -> str:
    """L4: voiding needs a reason in words (1-1000 characters); kept without the outer
    spaces."""
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError.for_field("reason", "is required to void a credit memo")
    if len(value) > MAX_VOID_REASON:
        raise errors.ValidationError.for_field(
            "reason", f"must be at most {MAX_VOID_REASON} characters")
    return value.strip()


def format_number(prefix: str, sequence: int) -> str:
    """C3/I2: CM-0001 ... CM-9999, CM-10000 (the number simply grows)."""
    return f"{prefix}-{sequence:04d}"
