"""Issue, apply, void and immutability of credit memos: L2-L6, C7 (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import context
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import catalog
from tests import factories as f

NOW = datetime(2025, 2, 3, 10, 30, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(context.clock, "now", lambda: NOW)
    return NOW


def _entries(db, actor, memo_id):
    return ledger.list_entries(db, actor=actor, source_id=memo_id, limit=200).data


def _activities(db, actor, memo_id):
    return ledger.list_activities(db, actor=actor, source_id=memo_id, limit=200).data


def _stock(db, actor, variant_id):
    return catalog.get_variant(db, actor=actor, variant_id=variant_id).stock_on_hand


def _memo_with_variant_and_service_line(db, actor, cus, var):
    return memos.create_memo(db, actor=actor, customer_id=cus, reason="returned_goods", lines=[
        {"description": "Router", "quantity": 3, "unit_price": "20.00", "variant_id": var},
        {"description": "Support hours", "quantity": 2, "unit_price": "5.00"}]).id


# --- L2 -----------------------------------------------------------------------------

def test_l2_issue_stamps_issued_at_and_defaults_issue_date_to_today(db, actor, frozen):
    cus = f.customer(db, actor)
    m = memo_lifecycle.issue_memo(db, actor=actor, memo_id=f.memo(db, actor, cus, issue=False))
    assert (m.status, m.issued_at, m.issue_date) == ("issued", frozen, date(2025, 2, 3))
    given = f.memo(db, actor, cus, issue=False, issue_date=date(2024, 12, 31))
    m = memo_lifecycle.issue_memo(db, actor=actor, memo_id=given)
    assert m.issue_date == date(2024, 12, 31)
    assert _entries(db, actor, given)[0].date == date(2024, 12, 31)


def test_l2_issue_posts_sales_returns_against_receivable(db, actor):
    cus = f.customer(db, actor)
    m = f.memo(db, actor, cus, "45.67")
    [entry] = _entries(db, actor, m)
    assert entry.source_type == "credit_memo"
    assert [(x.account_code, x.debit.minor, x.credit.minor) for x in entry.lines] == [
        ("4900", 4567, 0), ("1100", 0, 4567)]


def test_l2_issue_restocks_variant_lines_only(db, actor):
    cus, var = f.customer(db, actor), f.variant(db, actor, stock=10)
    m = _memo_with_variant_and_service_line(db, actor, cus, var)
    assert _stock(db, actor, var) == 10  # a draft restocks nothing
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m)
    assert _stock(db, actor, var) == 13
    [act] = _activities(db, actor, m)
    assert (act.variant_id, act.quantity, act.kind) == (var, 3, "credit_memo_restock")
    f.assert_books(db, actor, variant_ids=(var,))


def test_l2_issue_posts_and_restocks_once(db, actor):
    cus, var = f.customer(db, actor), f.variant(db, actor, stock=10)
    m = _memo_with_variant_and_service_line(db, actor, cus, var)
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m)
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState, match="is issued and can't be issued"):
        memo_lifecycle.issue_memo(db, actor=actor, memo_id=m)
    assert f.snapshot(db, actor) == before
    assert len(_entries(db, actor, m)) == 1 and len(_activities(db, actor, m)) == 1
    assert _stock(db, actor, var) == 13


def test_l2_only_drafts_are_issued(db, actor):
    cus = f.customer(db, actor)
    void = f.memo(db, actor, cus, issue=False)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void, reason="typo")
    with pytest.raises(errors.InvalidState, match="is void"):
        memo_lifecycle.issue_memo(db, actor=actor, memo_id=void)
    assert _entries(db, actor, void) == []


# --- L3 -----------------------------------------------------------------------------

def test_l3_partial_then_full_application_sets_status_and_applied_at(db, actor, frozen):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "500.00")
    m = f.memo(db, actor, cus, "100.00")
    r = credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=inv, amount="40.00")
    assert r.credit_memo.status == "partially_applied" and r.credit_memo.applied_at is None
    r = credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=inv, amount="60.00")
    assert r.credit_memo.status == "applied" and r.credit_memo.applied_at == frozen
    assert r.credit_memo.remaining_amount == Money(0, "USD")
    assert memos.get_memo(db, actor=actor, memo_id=m) == r.credit_memo


# --- L4, L5 -------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["", "   ", None])
def test_l4_void_needs_a_non_empty_reason(db, actor, reason):
    m = f.memo(db, actor, f.customer(db, actor))
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ValidationError, match="reason"):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason=reason)
    assert f.snapshot(db, actor) == before


def test_l4_void_draft_keeps_reason_and_time_and_posts_nothing(db, actor, frozen):
    m = f.memo(db, actor, f.customer(db, actor), issue=False)
    v = memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="  wrong customer ")
    assert (v.status, v.void_reason, v.voided_at) == ("void", "wrong customer", frozen)
    assert v.remaining_amount == Money(0, "USD")
    assert _entries(db, actor, m) == []


def test_l4_void_issued_reverses_posting_and_restock(db, actor):
    cus, var = f.customer(db, actor), f.variant(db, actor, stock=10)
    m = _memo_with_variant_and_service_line(db, actor, cus, var)
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m)
    v = memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="goods never arrived")
    assert v.status == "void" and v.void_reason == "goods never arrived"
    reversal = next(e for e in _entries(db, actor, m) if "voided" in e.description)
    assert [(x.account_code, x.debit.minor, x.credit.minor) for x in reversal.lines] == [
        ("1100", 7000, 0), ("4900", 0, 7000)]
    acts = {a.kind: a.quantity for a in _activities(db, actor, m)}
    assert acts == {"credit_memo_restock": 3, "credit_memo_restock_reversal": -3}
    assert _stock(db, actor, var) == 10
    tb = ledger.trial_balance(db, actor=actor)
    assert all(a.balance.minor == 0 for a in tb.accounts)
    f.assert_books(db, actor, variant_ids=(var,))


@pytest.mark.parametrize("applied", ["40.00", "100.00"])
def test_l5_memo_with_credit_applied_cannot_be_voided(db, actor, applied):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    m = f.memo(db, actor, cus, "100.00")
    credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=inv, amount=applied)
    before = f.snapshot(db, actor)
    with pytest.raises(errors.MemoHasApplications, match="remove its applications first"):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="customer left")
    assert f.snapshot(db, actor) == before
    credit.remove_credit(db, actor=actor, memo_id=m, invoice_id=inv)
    assert memo_lifecycle.void_memo(db, actor=actor, memo_id=m,
                                    reason="customer left").status == "void"
    f.assert_books(db, actor)


def test_l4_void_memo_cannot_be_voided_again(db, actor):
    m = f.memo(db, actor, f.customer(db, actor))
    memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="first")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState, match="is void"):
        memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="second")
    assert f.snapshot(db, actor) == before
    assert len(_entries(db, actor, m)) == 2


# --- L6 -----------------------------------------------------------------------------

def _memo_in(db, actor, status):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    m = f.memo(db, actor, cus, "50.00", issue=status != "void")
    if status in ("partially_applied", "applied"):
        credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=inv,
                            amount="10.00" if status == "partially_applied" else "50.00")
    if status == "void":
        memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="x")
    assert memos.get_memo(db, actor=actor, memo_id=m).status == status
    return m


@pytest.mark.parametrize("status", ["issued", "partially_applied", "applied", "void"])
def test_l6_issued_applied_and_void_memos_are_immutable(db, actor, status):
    m = _memo_in(db, actor, status)
    before = f.snapshot(db, actor)
    refusals = [
        lambda: memos.update_memo(db, actor=actor, memo_id=m, changes={"notes": "edit"}),
        lambda: memos.update_memo(db, actor=actor, memo_id=m, changes={"amount": "1.00"}),
        lambda: memos.delete_memo(db, actor=actor, memo_id=m),
        lambda: memo_lifecycle.issue_memo(db, actor=actor, memo_id=m),
    ]
    for refuse in refusals:
        with pytest.raises(errors.InvalidState, match=f"is {status.replace('_', ' ')}"):
            refuse()
    assert f.snapshot(db, actor) == before


# --- C7 -----------------------------------------------------------------------------

def test_c7_applied_plus_remaining_is_total_in_every_view(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    m = f.memo(db, actor, cus, "70.00")
    r = credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=inv, amount="25.50")
    void = f.memo(db, actor, cus, "9.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void, reason="dup")
    views = [r.credit_memo, memos.get_memo(db, actor=actor, memo_id=m),
             *[x for x in memos.list_memos(db, actor=actor).data if x.id == m]]
    for v in views:
        assert (v.applied_amount, v.remaining_amount) == (Money(2550, "USD"), Money(4450, "USD"))
        assert v.applied_amount + v.remaining_amount == v.total
    [s] = customers.credit_summary(db, actor=actor, customer_id=cus).memos
    assert (s.id, s.total, s.remaining_amount) == (m, Money(7000, "USD"), Money(4450, "USD"))
    assert r.invoice.credit_applied == Money(2550, "USD")
    assert sum(a.amount.minor for a in credit.list_applications(db, actor=actor, memo_id=m)) \
        == 2550
    assert memos.get_memo(db, actor=actor, memo_id=void).remaining_amount == Money(0, "USD")
