"""The memo transition table allows exactly the lifecycle (L1-L6, A1, Y3), and C2/C3/C7 hold."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditdesk.domain import errors
from creditdesk.domain import memo as rules
from creditdesk.domain.memo import Action, MemoStatus, Reason, Source

S, A = MemoStatus, Action

# The lifecycle, written out independently of memo.TRANSITIONS:
# draft -> issued -> partially_applied -> applied, draft | issued -> void,
# plus edit/delete of drafts (L1) and remove from a memo with credit applied (U2).
ALLOWED = {
    (S.DRAFT, A.UPDATE), (S.DRAFT, A.DELETE), (S.DRAFT, A.ISSUE), (S.DRAFT, A.VOID),
    (S.ISSUED, A.APPLY), (S.ISSUED, A.VOID),
    (S.PARTIALLY_APPLIED, A.APPLY), (S.PARTIALLY_APPLIED, A.REMOVE),
    (S.APPLIED, A.REMOVE),
}
TOTAL = 10_000
# The applied amount a memo in each status has (L3, C7): only these two have credit applied.
APPLIED = {S.DRAFT: 0, S.ISSUED: 0, S.PARTIALLY_APPLIED: 4_000, S.APPLIED: TOTAL, S.VOID: 0}
SYNCED = [s for s in Source if s is not Source.NATIVE]
SYSTEM_NAMES = {Source.QUICKBOOKS_ONLINE: "QuickBooks Online",
                Source.QUICKBOOKS_DESKTOP: "QuickBooks Desktop",
                Source.SAGE_INTACCT: "Sage Intacct", Source.XERO: "Xero"}


def check(status: MemoStatus, action: Action, source: Source = Source.NATIVE,
          applied: int | None = None) -> None:
    rules.check_allowed(status=status, action=action, number="CM-0042", source=source,
                        applied_minor=APPLIED[status] if applied is None else applied)


def expected_error(status: MemoStatus, action: Action,
                   source: Source) -> type[errors.DomainError] | None:
    if source is not Source.NATIVE:
        return errors.ReadOnly
    if action is A.VOID and APPLIED[status] > 0:
        return errors.MemoHasApplications
    return None if (status, action) in ALLOWED else errors.InvalidState


def test_statuses_actions_and_sources_are_the_specified_ones() -> None:
    assert {s.value for s in S} == {"draft", "issued", "partially_applied", "applied", "void"}
    assert {a.value for a in A} == {"update", "delete", "issue", "apply", "remove", "void"}
    assert {s.value for s in Source} == {"native", "quickbooks_online", "quickbooks_desktop",
                                         "sage_intacct", "xero"}


@pytest.mark.parametrize(("status", "action", "source"), list(itertools.product(S, A, Source)))
def test_l1_l6_a1_y3_transition_table_is_exactly_the_lifecycle(
        status: MemoStatus, action: Action, source: Source) -> None:
    expected = expected_error(status, action, source)
    if expected is None:
        check(status, action, source)
        return
    with pytest.raises(errors.DomainError) as caught:
        check(status, action, source)
    assert type(caught.value) is expected
    assert "CM-0042" in caught.value.detail


@pytest.mark.parametrize("status", [S.ISSUED, S.PARTIALLY_APPLIED, S.APPLIED, S.VOID])
@pytest.mark.parametrize(("action", "hint"), [(A.UPDATE, "Only drafts can be edited"),
                                              (A.DELETE, "Only drafts can be deleted")])
def test_l1_only_drafts_can_be_updated_or_deleted(status: MemoStatus, action: Action,
                                                  hint: str) -> None:
    check(S.DRAFT, action)
    with pytest.raises(errors.InvalidState, match=hint) as caught:
        check(status, action)
    assert caught.value.code == "invalid_state"
    assert status.value.replace("_", " ") in caught.value.detail


@pytest.mark.parametrize("status", [S.ISSUED, S.PARTIALLY_APPLIED, S.APPLIED, S.VOID])
def test_l2_only_drafts_can_be_issued(status: MemoStatus) -> None:
    check(S.DRAFT, A.ISSUE)
    with pytest.raises(errors.InvalidState, match="Only drafts can be issued"):
        check(status, A.ISSUE)


def test_l2_l4_issue_and_void_land_on_fixed_statuses() -> None:
    assert rules.FIXED_TARGET == {A.ISSUE: S.ISSUED, A.VOID: S.VOID}


@pytest.mark.parametrize("status", [S.DRAFT, S.ISSUED])
def test_l4_draft_or_issued_memo_with_nothing_applied_can_be_voided(status: MemoStatus) -> None:
    check(status, A.VOID, applied=0)


@pytest.mark.parametrize(("status", "applied"), [(S.VOID, 0), (S.PARTIALLY_APPLIED, 0),
                                                 (S.APPLIED, 0)])
def test_l4_void_refused_outside_draft_and_issued(status: MemoStatus, applied: int) -> None:
    with pytest.raises(errors.InvalidState, match="Only draft or issued memos can be voided"):
        check(status, A.VOID, applied=applied)


@pytest.mark.parametrize(("status", "applied"), [(S.PARTIALLY_APPLIED, 4_000), (S.APPLIED, TOTAL),
                                                 (S.PARTIALLY_APPLIED, 1), (S.ISSUED, 1)])
def test_l5_memo_with_credit_applied_cannot_be_voided(status: MemoStatus, applied: int) -> None:
    with pytest.raises(errors.MemoHasApplications) as caught:
        check(status, A.VOID, applied=applied)
    assert caught.value.code == "memo_has_applications"
    assert "remove its applications first" in caught.value.detail


@pytest.mark.parametrize("status", [S.ISSUED, S.PARTIALLY_APPLIED, S.APPLIED])
@pytest.mark.parametrize("action", [A.UPDATE, A.DELETE, A.ISSUE])
def test_l6_issued_and_applied_memos_are_immutable(status: MemoStatus, action: Action) -> None:
    with pytest.raises(errors.InvalidState):
        check(status, action)


@pytest.mark.parametrize("status", list(S))
def test_a1_credit_applies_only_from_issued_or_partially_applied(status: MemoStatus) -> None:
    if status in (S.ISSUED, S.PARTIALLY_APPLIED):
        check(status, A.APPLY)
    else:
        with pytest.raises(errors.InvalidState, match="Only issued or partially applied"):
            check(status, A.APPLY)


@pytest.mark.parametrize("status", list(S))
def test_u2_remove_only_from_a_memo_with_credit_applied(status: MemoStatus) -> None:
    if APPLIED[status] > 0:
        check(status, A.REMOVE)
    else:
        with pytest.raises(errors.InvalidState):
            check(status, A.REMOVE)


@pytest.mark.parametrize(("status", "action", "source"),
                         list(itertools.product(S, A, SYNCED)))
def test_y3_synced_memo_refuses_every_change_naming_its_system(
        status: MemoStatus, action: Action, source: Source) -> None:
    with pytest.raises(errors.ReadOnly) as caught:
        check(status, action, source)
    assert caught.value.code == "read_only"
    assert f"change it in {SYSTEM_NAMES[source]}" in caught.value.detail


# --- L3/U2/Y4: status derived from the amounts ---------------------------------------

@pytest.mark.parametrize(("applied", "status"), [(0, S.ISSUED), (1, S.PARTIALLY_APPLIED),
                                                 (TOTAL - 1, S.PARTIALLY_APPLIED),
                                                 (TOTAL, S.APPLIED)])
def test_l3_u2_status_follows_the_applied_amount(applied: int, status: MemoStatus) -> None:
    assert rules.status_for_amounts(total_minor=TOTAL, applied_minor=applied) is status


@given(st.integers(1, 10**15), st.data())
def test_l3_u2_status_for_any_applied_amount(total: int, data: st.DataObject) -> None:
    applied = data.draw(st.integers(0, total))
    status = rules.status_for_amounts(total_minor=total, applied_minor=applied)
    assert (status is S.ISSUED) == (applied == 0)
    assert (status is S.APPLIED) == (applied == total)
    assert (status is S.PARTIALLY_APPLIED) == (0 < applied < total)


@pytest.mark.parametrize("applied", [-1, TOTAL + 1])
def test_a2_c7_status_for_amounts_refuses_applied_outside_zero_to_total(applied: int) -> None:
    with pytest.raises(ValueError):
        rules.status_for_amounts(total_minor=TOTAL, applied_minor=applied)


@given(st.sampled_from([s for s in S if s is not S.VOID]), st.integers(1, 10**15), st.data())
def test_c7_applied_plus_remaining_is_total(status: MemoStatus, total: int,
                                            data: st.DataObject) -> None:
    applied = data.draw(st.integers(0, total))
    remaining = rules.remaining_minor(status=status, total_minor=total, applied_minor=applied)
    assert applied + remaining == total


@given(st.integers(1, 10**15), st.integers(0, 10**15))
def test_c7_void_memo_has_nothing_remaining(total: int, applied: int) -> None:
    assert rules.remaining_minor(status=S.VOID, total_minor=total, applied_minor=applied) == 0


def test_s1_credit_statuses_are_issued_and_partially_applied() -> None:
    assert set(rules.CREDIT_STATUSES) == {S.ISSUED, S.PARTIALLY_APPLIED}


# --- C2: reasons -----------------------------------------------------------------------

REASONS = ["returned_goods", "damaged_goods", "service_issue", "pricing_error",
           "billing_adjustment", "goodwill", "duplicate_charge", "other"]


def test_c2_there_are_exactly_the_eight_reasons() -> None:
    assert sorted(r.value for r in Reason) == sorted(REASONS)


@pytest.mark.parametrize("value", REASONS)
def test_c2_parse_reason_accepts_each_reason(value: str) -> None:
    assert rules.parse_reason(value) is Reason(value)


@pytest.mark.parametrize("value", ["GOODWILL", " goodwill", "goodwill ", "", "refund", "void",
                                   None, 1, ["goodwill"], {"reason": "other"}])
def test_c2_parse_reason_refuses_anything_else_listing_the_eight(value: object) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        rules.parse_reason(value, field="reason")
    assert caught.value.code == "validation_error"
    assert [e.field for e in caught.value.errors] == ["reason"]
    for reason in REASONS:
        assert reason in caught.value.errors[0].message


def test_c2_parse_reason_reports_the_given_field() -> None:
    with pytest.raises(errors.ValidationError) as caught:
        rules.parse_reason("nope", field="suggestion.reason")
    assert caught.value.errors[0].field == "suggestion.reason"


# --- C3: numbers -----------------------------------------------------------------------

@pytest.mark.parametrize(("prefix", "sequence", "number"), [
    ("CM", 1, "CM-0001"), ("CM", 2, "CM-0002"), ("CM", 9999, "CM-9999"), ("CM", 10000, "CM-10000"),
    ("CM", 123456, "CM-123456"), ("INV", 1, "INV-0001"),
])
def test_c3_i2_numbers_are_zero_padded_to_four_and_then_grow(prefix: str, sequence: int,
                                                             number: str) -> None:
    assert rules.format_number(prefix, sequence) == number
