"""The pure rules of refunds (R1, R2): methods, the cap and its words, what can be refunded,
and L5's rule for refunds (memo_has_refunds)."""

from __future__ import annotations

from datetime import date

import pytest

from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.domain import refund as rules
from creditdesk.domain.memo import Action, MemoStatus, Source
from creditdesk.domain.money import Money


def test_r1_methods_are_exactly_the_five() -> None:
    assert [m.value for m in rules.Method] == ["card", "bank_transfer", "check", "cash", "other"]
    assert rules.parse_method("bank_transfer") is rules.Method.BANK_TRANSFER
    for bad in ("", "Card", "paypal", None, 1):
        with pytest.raises(errors.ValidationError) as caught:
            rules.parse_method(bad)
        assert [e.field for e in caught.value.errors] == ["method"]


def test_r1_reference_and_date() -> None:
    assert rules.parse_reference("  ") is None and rules.parse_reference(" 7 ") == "7"
    with pytest.raises(errors.ValidationError):
        rules.parse_reference("x" * 201)
    today = date(2026, 12, 6)
    assert rules.parse_refunded_at(None, today) == today
    assert rules.parse_refunded_at("2026-01-31", today) == date(2026, 1, 31)
    for bad in ("2026-02-30", "yesterday", 5):
        with pytest.raises(errors.ValidationError) as caught:
            rules.parse_refunded_at(bad, today)
        assert [e.field for e in caught.value.errors] == ["refunded_at"]


def test_r1_cap_is_the_remaining_credit_and_its_refusal_names_both_figures() -> None:
    rules.check_refund_cap(amount=Money(500, "USD"), memo_remaining=Money(500, "USD"),
                           memo_number="CM-0042")
    with pytest.raises(errors.ExceedsMemoRemaining) as caught:
        rules.check_refund_cap(amount=Money(501, "USD"), memo_remaining=Money(500, "USD"),
                               memo_number="CM-0042")
    assert caught.value.detail == (
        "Can't refund $5.01: credit memo CM-0042 has only $5.00 remaining.")


@pytest.mark.parametrize("status", list(MemoStatus))
@pytest.mark.parametrize("source", [Source.NATIVE, Source.XERO])
def test_r1_only_issued_or_partially_applied_native_memos_refund(status, source) -> None:
    allowed = source is Source.NATIVE and status in (MemoStatus.ISSUED,
                                                     MemoStatus.PARTIALLY_APPLIED)
    assert rules.refundable(status=status, source=source) is allowed
    if allowed:
        rules.check_refundable(status=status, source=source, number="CM-1")
        return
    expected = errors.ReadOnly if source is not Source.NATIVE else errors.InvalidState
    with pytest.raises(expected):
        rules.check_refundable(status=status, source=source, number="CM-1")


def test_r2_l5_a_memo_with_refunds_cannot_be_voided() -> None:
    def void(applied: int, refunded: int) -> None:
        memo_rules.check_allowed(status=MemoStatus.PARTIALLY_APPLIED, action=Action.VOID,
                                 number="CM-7", source=Source.NATIVE, applied_minor=applied,
                                 refunded_minor=refunded)

    with pytest.raises(errors.MemoHasRefunds, match="CM-7 has refunds; void its refunds"):
        void(300, 300)
    with pytest.raises(errors.MemoHasApplications,
                       match="remove its applications and void its refunds first"):
        void(500, 300)
    with pytest.raises(errors.MemoHasApplications, match="remove its applications first"):
        void(500, 0)


def test_r2_a_voided_refund_or_one_of_a_void_memo_is_not_voided_again() -> None:
    rules.check_voidable(voided=False, memo_status=MemoStatus.APPLIED, memo_number="CM-1",
                         source=Source.NATIVE)
    with pytest.raises(errors.InvalidState, match="already voided"):
        rules.check_voidable(voided=True, memo_status=MemoStatus.ISSUED, memo_number="CM-1",
                             source=Source.NATIVE)
    with pytest.raises(errors.InvalidState, match="is void"):
        rules.check_voidable(voided=False, memo_status=MemoStatus.VOID, memo_number="CM-1",
                             source=Source.NATIVE)
