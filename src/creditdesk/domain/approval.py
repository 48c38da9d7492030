"""Approvals (AP1): which memos need another administrator's approval before they are
issued, who may decide on a request, and the thresholds a partner sets, as pure rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from creditdesk.domain import errors
from creditdesk.domain.money import Money, MoneyError, check_currency

MAX_COMMENT = 2000
MAX_THRESHOLDS = 200


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the draft was edited (or asked again) after it was asked


OPEN = (RequestStatus.PENDING, RequestStatus.APPROVED)


@dataclass(frozen=True)
class Decider:
    """Who decides on a request: a person (a user, signed in or through their own API key)
    or not (a partner-wide API key: ``user_id`` None)."""

    user_id: str | None
    role: str


def needs_approval(total: Money, threshold: Money | None) -> bool:
    """AP1: a memo at or above its currency's threshold needs an approval to be issued."""
    return threshold is not None and total >= threshold


def check_issue(*, number: str, total: Money, threshold: Money | None,
                status: RequestStatus | None, decided_by: str | None = None) -> None:
    """AP1: refuse to issue a memo that needs an approval it does not have (``status``: of
    its latest request, None when it has none), saying what to do next."""
    if not needs_approval(total, threshold) or status == RequestStatus.APPROVED:
        return
    assert threshold is not None
    why = (f"Credit memo {number} totals {total.shown()}, at or above the approval threshold "
           f"of {threshold.shown()}: another administrator must approve it before it is "
           "issued.")
    if status == RequestStatus.PENDING:
        raise errors.ApprovalRequired(f"{why} Its approval request is waiting for an "
                                      "administrator other than the one who asked.")
    if status == RequestStatus.REJECTED:
        raise errors.ApprovalRequired(f"{why} Its approval request was rejected by "
                                      f"{decided_by}; change the draft if needed and request "
                                      "approval again.")
    raise errors.ApprovalRequired(f"{why} Request approval (POST /api/v1/credit-memos/"
                                  "{id}/approval-requests, or Request approval on its page), "
                                  "then have another administrator approve it.")


def check_decider(decider: Decider, *, requested_by_user_id: str | None) -> None:
    """AP1: only a person who is an administrator, other than the one who asked, decides."""
    if decider.user_id is None:
        raise errors.Forbidden("Approving needs a person: sign in, or use your own API key "
                               "(POST /users/{id}/api-keys); a partner-wide API key can't "
                               "approve or reject.")
    if decider.role != "admin":
        raise errors.Forbidden("Only an administrator can approve or reject a credit memo.")
    if decider.user_id == requested_by_user_id:
        raise errors.Forbidden("You asked for this approval: another administrator must "
                               "approve or reject it (four eyes).")


def check_pending(status: RequestStatus) -> None:
    """Only a pending request is decided, once."""
    if status != RequestStatus.PENDING:
        raise errors.InvalidState(f"This approval request is already {status.value}; "
                                  "only a pending request can be approved or rejected.")


def parse_comment(value: object, *, required: bool) -> str | None:
    """An optional (or, to reject, required) comment: text up to MAX_COMMENT characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise errors.ValidationError.for_field(
                "comment", "is required: say why, so whoever asked knows what to change")
        return None
    if not isinstance(value, str):
        raise errors.ValidationError.for_field("comment", "must be text")
    if len(value) > MAX_COMMENT:
        raise errors.ValidationError.for_field("comment",
                                               f"must be at most {MAX_COMMENT} characters")
    return value.strip()


def parse_thresholds(items: object) -> dict[str, Money]:
    """The thresholds of a PUT: ``[{"currency", "amount"}]``, one per currency, each an
    exact amount greater than zero; by currency."""
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise errors.ValidationError.for_field("thresholds", "must be a list")
    if len(items) > MAX_THRESHOLDS:
        raise errors.ValidationError.for_field("thresholds",
                                               f"must have at most {MAX_THRESHOLDS} entries")
    found: dict[str, Money] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise errors.ValidationError.for_field(f"thresholds[{i}]",
                                                   "must be an object with currency and amount")
        try:
            currency = check_currency(item.get("currency"))
        except MoneyError as exc:
            raise errors.ValidationError.for_field(f"thresholds[{i}].currency", str(exc)) from None
        if currency in found:
            raise errors.ValidationError.for_field(
                f"thresholds[{i}].currency", f"{currency} is listed twice; give one threshold "
                "per currency")
        try:
            found[currency] = Money.parse_positive(item.get("amount"), currency)
        except MoneyError as exc:
            raise errors.ValidationError.for_field(f"thresholds[{i}].amount", str(exc)) from None
    return found
