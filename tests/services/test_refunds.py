"""Refunds of a memo's remaining credit (R1, R2, R3 in the audit trail and journal, C7, J2)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.services.accounting import ledger
from creditdesk.services.common.context import new_id
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos, refunds
from creditdesk.services.customer_accounts import customers
from creditdesk.services.read_models import audit_trail
from tests import factories as f


@pytest.fixture
def memo_id(db, actor) -> str:
    cid = f.customer(db, actor)
    return f.memo(db, actor, cid, "100.00")


def c7(view) -> None:
    """C7 on a memo view: applied (to invoices) + refunded + remaining = total."""
    assert view.applied_to_invoices + view.refunded_amount + view.remaining_amount == view.total


def test_r1_partial_refund_records_it_posts_ar_cash_and_leaves_the_rest(db, actor, memo_id):
    done = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="30.00",
                               method="check", refunded_at="2026-11-30", reference=" 1042 ")
    r, m = done.refund, done.credit_memo
    assert (r.amount.to_str(), r.method, r.refunded_at, r.reference, r.voided_at) == (
        "30.00", "check", date(2026, 11, 30), "1042", None)
    assert (m.status, m.refunded_amount.to_str(), m.remaining_amount.to_str()) == (
        "partially_applied", "30.00", "70.00")
    assert m.applied_to_invoices.minor == 0
    c7(m)
    assert [x.id for x in m.refunds] == [r.id]
    assert memos.get_memo(db, actor=actor, memo_id=memo_id) == m
    entries = ledger.list_entries(db, actor=actor, source_type="refund").data
    assert [(e.source_id, e.date, [(x.account_code, x.debit.minor, x.credit.minor)
                                   for x in e.lines]) for e in entries] == [
        (r.id, date(2026, 11, 30), [("1100", 3000, 0), ("1000", 0, 3000)])]
    f.assert_books(db, actor)


def test_r1_refund_of_the_whole_remaining_makes_the_memo_applied(db, actor, memo_id):
    m = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="100", method="card")
    assert (m.credit_memo.status, m.credit_memo.remaining_amount.minor) == ("applied", 0)
    assert m.credit_memo.applied_at is not None
    assert m.refund.refunded_at == m.refund.created_at.date()  # today by default
    c7(m.credit_memo)
    f.assert_books(db, actor)


def test_r1_refund_is_capped_by_the_remaining_credit_naming_both_figures(db, actor, memo_id):
    inv = f.invoice(db, actor, memos.get_memo(db, actor=actor, memo_id=memo_id).customer_id)
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="60.00")
    with pytest.raises(errors.ExceedsMemoRemaining) as caught:
        refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="40.01", method="cash")
    assert "$40.01" in caught.value.detail and "$40.00" in caught.value.detail
    assert "CM-0001" in caught.value.detail
    m = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="40.00",
                            method="cash").credit_memo
    assert (m.status, m.applied_to_invoices.minor, m.refunded_amount.minor) == (
        "applied", 6000, 4000)
    c7(m)
    f.assert_books(db, actor)


@pytest.mark.parametrize(("field", "kwargs"), [
    ("amount", {"amount": "0"}), ("amount", {"amount": "-1"}), ("amount", {"amount": "1.001"}),
    ("amount", {"amount": 1e100}), ("method", {"method": "paypal"}), ("method", {"method": None}),
    ("refunded_at", {"refunded_at": "2026-02-30"}), ("reference", {"reference": "x" * 201}),
])
def test_r1_m1_m2_bad_input_names_its_field_and_changes_nothing(db, actor, memo_id, field,
                                                                 kwargs):
    call = {"amount": "10.00", "method": "card", **kwargs}
    with pytest.raises(errors.ValidationError) as caught:
        refunds.refund_memo(db, actor=actor, memo_id=memo_id, **call)
    assert [e.field for e in caught.value.errors] == [field]
    assert memos.get_memo(db, actor=actor, memo_id=memo_id).refunds == ()


def test_r1_only_issued_or_partially_applied_native_memos_refund(db, actor):
    cid = f.customer(db, actor)
    draft = f.memo(db, actor, cid, "10.00", issue=False)
    void = f.memo(db, actor, cid, "10.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void, reason="typo")
    used = f.memo(db, actor, cid, "10.00")
    refunds.refund_memo(db, actor=actor, memo_id=used, amount="10.00", method="card")
    for memo_id in (draft, void, used):
        with pytest.raises(errors.InvalidState, match="can't be refunded"):
            refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="1.00", method="card")
    with pytest.raises(errors.NotFound):
        refunds.refund_memo(db, actor=actor, memo_id="cm_nope", amount="1.00", method="card")


def test_r1_a_synced_memo_is_read_only(db, actor):
    cid = f.customer(db, actor)
    now = datetime.now(UTC)
    memo_id = new_id("cm")
    with db.write() as session:  # as a sync writes one (Y3)
        session.add(models.CreditMemo(
            id=memo_id, partner_id=actor.partner_id, customer_id=cid, number="CN-0042",
            currency="USD", reason="other", status="issued", total_minor=5000, applied_minor=0,
            source="xero", external_id="xero-cn-42", issued_at=now, created_at=now,
            updated_at=now))
    with pytest.raises(errors.ReadOnly, match="read-only"):
        refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="1.00", method="card")


def test_r2_void_of_a_refund_reverses_it_and_rolls_the_status_back(db, actor, memo_id):
    first = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="100.00",
                                method="bank_transfer").refund
    assert memos.get_memo(db, actor=actor, memo_id=memo_id).status == "applied"
    done = refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=first.id)
    m = done.credit_memo
    assert done.refund.voided_at is not None and done.refund.voided_by == actor.name
    assert (m.status, m.refunded_amount.minor, m.remaining_amount.minor, m.applied_at) == (
        "issued", 0, 10000, None)
    c7(m)
    kinds = [(e.description, e.lines[0].account_code) for e in ledger.list_entries(
        db, actor=actor, source_type="refund", source_id=first.id).data]
    assert sorted(kinds) == [("Refund of credit memo CM-0001", "1100"),
                             ("Refund of credit memo CM-0001 voided", "1000")]
    f.assert_books(db, actor)
    with pytest.raises(errors.InvalidState, match="already voided"):
        refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=first.id)
    # two refunds, one voided: partially applied again
    refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="20.00", method="cash")
    second = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="30.00",
                                 method="cash").refund
    m = refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=second.id).credit_memo
    assert (m.status, m.refunded_amount.minor, m.remaining_amount.minor) == (
        "partially_applied", 2000, 8000)
    assert [r.voided_at is not None for r in m.refunds] == [True, False, True]
    f.assert_books(db, actor)


def test_r2_void_of_a_refund_of_another_memo_is_not_found(db, actor, memo_id):
    other = f.memo(db, actor, memos.get_memo(db, actor=actor, memo_id=memo_id).customer_id)
    r = refunds.refund_memo(db, actor=actor, memo_id=other, amount="1.00", method="card").refund
    for refund_id in (r.id, "rf_nope", ""):
        with pytest.raises(errors.NotFound):
            refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=refund_id)


def test_r2_a_memo_with_refunds_cannot_be_voided_until_they_are(db, actor, memo_id):
    r = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="5.00",
                            method="card").refund
    with pytest.raises(errors.MemoHasRefunds, match="void its refunds first"):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=memo_id, reason="typo")
    refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=r.id)
    m = memo_lifecycle.void_memo(db, actor=actor, memo_id=memo_id, reason="typo")
    assert (m.status, m.remaining_amount.minor) == ("void", 0)  # C7
    f.assert_books(db, actor)


def test_r2_l5_applications_and_refunds_name_both(db, actor, memo_id):
    cid = memos.get_memo(db, actor=actor, memo_id=memo_id).customer_id
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=f.invoice(db, actor, cid),
                        amount="5.00")
    refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="5.00", method="card")
    with pytest.raises(errors.MemoHasApplications, match="void its refunds"):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=memo_id, reason="typo")


def test_u2_removing_an_application_keeps_the_refunded_part(db, actor, memo_id):
    cid = memos.get_memo(db, actor=actor, memo_id=memo_id).customer_id
    inv = f.invoice(db, actor, cid)
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="70.00")
    refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="30.00", method="card")
    m = credit.remove_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv).credit_memo
    assert (m.status, m.applied_to_invoices.minor, m.refunded_amount.minor,
            m.remaining_amount.minor) == ("partially_applied", 0, 3000, 7000)
    c7(m)
    f.assert_books(db, actor)


def test_r3_s1_credit_summary_and_audit_trail_show_refunds(db, actor, memo_id):
    r = refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="25.00", method="check",
                            reference="No. 7", refunded_at="2026-12-01").refund
    refunds.void_refund(db, actor=actor, memo_id=memo_id, refund_id=r.id)
    refunds.refund_memo(db, actor=actor, memo_id=memo_id, amount="10.00", method="cash")
    cid = memos.get_memo(db, actor=actor, memo_id=memo_id).customer_id
    summary = customers.credit_summary(db, actor=actor, customer_id=cid)
    assert [b.to_str() for b in summary.balances] == ["90.00"]
    words = [e.summary for e in audit_trail.list_events(
        db, actor=actor, entity_type="credit_memo", entity_id=memo_id).data]
    assert "Refunded $25.00 by check (reference No. 7) on 2026-12-01" in words
    assert ("Voided the $25.00 refund of 2026-12-01 by check (reference No. 7); the credit "
            "returned to the memo") in words
    assert any(w.startswith("Refunded $10.00 by cash") for w in words)
