"""Domain errors, each with the stable ``code`` that API.md promises.

Only ``web/errors.py`` knows which HTTP status each code maps to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One invalid input field and what is wrong with it."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every refusal the rules can make; ``detail`` is a sentence a person can act on."""

    code = "domain_error"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(DomainError):
    code = "not_found"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class InvalidState(DomainError):
    """The transition is not allowed from the current status (L1, L2, L4, L6, A1)."""

    code = "invalid_state"


class MemoHasApplications(DomainError):
    """Void of a memo with credit applied (L5)."""

    code = "memo_has_applications"


class MemoHasRefunds(DomainError):
    """R2: a memo with refunds not voided can't be voided (L5's rule for refunds)."""

    code = "memo_has_refunds"


class ReadOnly(DomainError):
    """A change to a synced memo (Y3)."""

    code = "read_only"


class WriteBackPending(DomainError):
    """Y11: a change to an application whose write-back the accounting system has not
    answered yet."""

    code = "write_back_pending"


class ValidationError(DomainError):
    """Malformed or out-of-range input (M1, M2, C2, ...)."""

    code = "validation_error"

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationError:
        return cls(f"{field}: {message}", errors=[FieldError(field, message)])


class ExceedsMemoRemaining(DomainError):
    code = "exceeds_memo_remaining"


class ExceedsInvoiceBalance(DomainError):
    code = "exceeds_invoice_balance"


class ExceedsInvoiceTotal(DomainError):
    code = "exceeds_invoice_total"


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"


class CustomerMismatch(DomainError):
    code = "customer_mismatch"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(DomainError):
    """A request with the same Idempotency-Key is still being executed."""

    code = "idempotency_key_in_progress"


class Conflict(DomainError):
    """A uniqueness rule would be broken (e.g. an email already in use)."""

    code = "conflict"


class Forbidden(DomainError):
    """The caller is known but its role does not allow this (a staff user on preferences)."""

    code = "forbidden"


class Unavailable(DomainError):
    """An outside system this request needs (an accounting system) can't be reached now;
    nothing was changed and the same request may be sent again."""

    code = "unavailable"


class NotConfigured(DomainError):
    """This server lacks the set-up a request needs (an accounting system's OAuth app: client
    id and secret); nothing was changed, and asking again won't help until it is set."""

    code = "not_configured"


class TooManyAttempts(DomainError):
    """Too many failed sign-ins for one email from one address; try again later."""

    code = "too_many_attempts"


class ApprovalRequired(DomainError):
    """AP1: issuing a memo at or above its currency's approval threshold without an approved
    approval request."""

    code = "approval_required"
