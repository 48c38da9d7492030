"""Domain errors carry the stable codes API.md promises and say what was wrong (E3)."""

from __future__ import annotations

import pytest

from creditdesk.domain import errors
from creditdesk.domain.errors import FieldError

CODES = {
    errors.Unauthenticated: "unauthenticated",
    errors.NotFound: "not_found",
    errors.InvalidState: "invalid_state",
    errors.MemoHasApplications: "memo_has_applications",
    errors.ReadOnly: "read_only",
    errors.ValidationError: "validation_error",
    errors.ExceedsMemoRemaining: "exceeds_memo_remaining",
    errors.ExceedsInvoiceBalance: "exceeds_invoice_balance",
    errors.ExceedsInvoiceTotal: "exceeds_invoice_total",
    errors.CurrencyMismatch: "currency_mismatch",
    errors.CustomerMismatch: "customer_mismatch",
    errors.IdempotencyKeyReused: "idempotency_key_reused",
}


@pytest.mark.parametrize(("error", "code"), list(CODES.items()), ids=list(CODES.values()))
def test_e3_each_error_has_the_api_md_code(error: type[errors.DomainError], code: str) -> None:
    raised = error("Something specific went wrong.")
    assert isinstance(raised, errors.DomainError)
    assert raised.code == code
    assert raised.detail == str(raised) == "Something specific went wrong."
    assert raised.errors == []


def test_e3_codes_are_distinct_so_clients_can_tell_errors_apart() -> None:
    assert len(set(CODES.values())) == len(CODES)


def test_l4_l5_y3_state_errors_are_not_each_other() -> None:
    # The transition table relies on telling these three apart (409 each, different codes).
    kinds = [errors.InvalidState, errors.MemoHasApplications, errors.ReadOnly]
    for kind in kinds:
        assert [issubclass(kind, other) for other in kinds].count(True) == 1


def test_e3_validation_error_for_a_field_names_it() -> None:
    error = errors.ValidationError.for_field("lines[1].quantity", "must be a whole number")
    assert error.code == "validation_error"
    assert error.errors == [FieldError("lines[1].quantity", "must be a whole number")]
    assert error.detail == "lines[1].quantity: must be a whole number"
