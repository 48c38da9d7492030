"""Applying and removing credit: M4, A1-A5, U1-U3 (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.common import context
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.invoicing import invoices
from tests import factories as f

NOW = datetime(2025, 4, 5, 6, 7, 8, tzinfo=UTC)


def _apply(db, actor, memo_id, invoice_id, amount):
    return credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
                               amount=amount)


def _inv(db, actor, invoice_id):
    return invoices.get_invoice(db, actor=actor, invoice_id=invoice_id)


def _memo(db, actor, memo_id):
    return memos.get_memo(db, actor=actor, memo_id=memo_id)


@pytest.fixture
def cus(db, actor):
    return f.customer(db, actor)


# --- A1, M4 -------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["draft", "void", "applied"])
def test_a1_memo_must_be_issued_or_partially_applied(db, actor, cus, status):
    inv = f.invoice(db, actor, cus, "500.00")
    m = f.memo(db, actor, cus, "50.00", issue=status != "draft")
    if status == "void":
        memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="x")
    if status == "applied":
        _apply(db, actor, m, inv, "50.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState, match="can't be applied"):
        _apply(db, actor, m, inv, "1.00")
    assert f.snapshot(db, actor) == before


@pytest.mark.parametrize("status", ["draft", "paid", "void"])
def test_a1_invoice_must_be_open_or_partially_paid(db, actor, cus, status):
    inv = f.invoice(db, actor, cus, "100.00", issue=status != "draft")
    if status == "paid":
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount="100.00")
    if status == "void":
        invoices.void_invoice(db, actor=actor, invoice_id=inv)
    m = f.memo(db, actor, cus, "50.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState, match="open or partially paid"):
        _apply(db, actor, m, inv, "1.00")
    assert f.snapshot(db, actor) == before


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.001", 1.5, None])
def test_a1_amount_must_be_an_exact_positive_amount(db, actor, cus, amount):
    inv, m = f.invoice(db, actor, cus), f.memo(db, actor, cus, "50.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ValidationError, match="amount"):
        _apply(db, actor, m, inv, amount)
    assert f.snapshot(db, actor) == before


def test_m4_credit_only_within_the_same_customer(db, actor, cus):
    other = f.customer(db, actor, "Initech")
    inv, m = f.invoice(db, actor, other), f.memo(db, actor, cus, "50.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.CustomerMismatch, match="same customer"):
        _apply(db, actor, m, inv, "10.00")
    assert f.snapshot(db, actor) == before


def test_m4_credit_only_within_the_same_currency(db, actor, cus):
    inv, m = f.invoice(db, actor, cus, currency="EUR"), f.memo(db, actor, cus, "50.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.CurrencyMismatch, match="same currency"):
        _apply(db, actor, m, inv, "10.00")
    assert f.snapshot(db, actor) == before


# --- A2 -----------------------------------------------------------------------------

def test_a2_application_capped_by_memo_remaining(db, actor, cus):
    inv, m = f.invoice(db, actor, cus, "200.00"), f.memo(db, actor, cus, "50.00")
    _apply(db, actor, m, inv, "20.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ExceedsMemoRemaining) as exc:
        _apply(db, actor, m, inv, "30.01")
    assert all(s in exc.value.detail for s in ("30.01", "30.00", "180.00", "remaining"))
    assert f.snapshot(db, actor) == before
    assert _apply(db, actor, m, inv, "30.00").credit_memo.status == "applied"


def test_a2_application_capped_by_invoice_balance(db, actor, cus):
    inv, m = f.invoice(db, actor, cus, "100.00"), f.memo(db, actor, cus, "500.00")
    invoices.record_payment(db, actor=actor, invoice_id=inv, amount="70.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ExceedsInvoiceBalance) as exc:
        _apply(db, actor, m, inv, "30.01")
    assert all(s in exc.value.detail for s in ("30.01", "30.00", "500.00", "balance due"))
    assert f.snapshot(db, actor) == before
    r = _apply(db, actor, m, inv, "30.00")
    assert r.invoice.status == "paid" and r.invoice.balance_due == Money(0, "USD")
    assert r.credit_memo.remaining_amount == Money(47000, "USD")


def test_a2_refused_over_application_changes_nothing_anywhere(db, actor, cus):
    inv, m = f.invoice(db, actor, cus, "100.00"), f.memo(db, actor, cus, "40.00")
    before = f.snapshot(db, actor)
    tb = ledger.trial_balance(db, actor=actor)
    with pytest.raises(errors.ExceedsMemoRemaining):
        _apply(db, actor, m, inv, "40.01")
    assert f.snapshot(db, actor) == before  # memo, invoice, journal, inventory, audit
    assert ledger.trial_balance(db, actor=actor) == tb
    assert credit.list_applications(db, actor=actor, memo_id=m) == []


# --- A3, A4 -------------------------------------------------------------------------

def test_a3_application_records_memo_invoice_amount_time_and_user(db, actor, cus, monkeypatch):
    inv, m = f.invoice(db, actor, cus), f.memo(db, actor, cus, "50.00")
    monkeypatch.setattr(context.clock, "now", lambda: NOW)
    r = _apply(db, actor, m, inv, "12.34")
    a = r.application
    assert (a.credit_memo_id, a.invoice_id, a.amount, a.applied_at, a.applied_by) == (
        m, inv, Money(1234, "USD"), NOW, actor.name)
    assert credit.list_applications(db, actor=actor, memo_id=m) == [a]
    [seen] = _inv(db, actor, inv).credits_applied
    assert (seen.credit_memo_id, seen.credit_memo_number, seen.amount, seen.applied_at) == (
        m, "CM-0001", Money(1234, "USD"), NOW)


def test_a4_apply_moves_credit_on_both_sides_and_posts_no_journal_entry(db, actor, cus):
    inv, m = f.invoice(db, actor, cus, "100.00"), f.memo(db, actor, cus, "50.00")
    journal = ledger.list_entries(db, actor=actor, limit=200).data
    r = _apply(db, actor, m, inv, "20.00")
    assert (r.credit_memo.applied_amount, r.credit_memo.remaining_amount) == (
        Money(2000, "USD"), Money(3000, "USD"))
    assert (r.invoice.credit_applied, r.invoice.balance_due) == (
        Money(2000, "USD"), Money(8000, "USD"))
    assert (r.credit_memo.status, r.invoice.status) == ("partially_applied", "partially_paid")
    assert (_memo(db, actor, m), _inv(db, actor, inv)) == (r.credit_memo, r.invoice)
    assert ledger.list_entries(db, actor=actor, limit=200).data == journal
    f.assert_books(db, actor)


def test_a4_one_memo_across_several_invoices(db, actor, cus):
    a, b = f.invoice(db, actor, cus, "30.00"), f.invoice(db, actor, cus, "80.00")
    m = f.memo(db, actor, cus, "100.00")
    assert _apply(db, actor, m, a, "30.00").invoice.status == "paid"
    r = _apply(db, actor, m, b, "70.00")
    assert (r.credit_memo.status, r.invoice.status) == ("applied", "partially_paid")
    assert r.invoice.balance_due == Money(1000, "USD")
    f.assert_books(db, actor)


def test_a5_credits_and_payments_work_together_on_one_invoice(db, actor, cus):
    inv, m = f.invoice(db, actor, cus, "100.00"), f.memo(db, actor, cus, "50.00")
    invoices.record_payment(db, actor=actor, invoice_id=inv, amount="30.00")
    r = _apply(db, actor, m, inv, "50.00")
    assert (r.invoice.amount_paid, r.invoice.credit_applied, r.invoice.balance_due) == (
        Money(3000, "USD"), Money(5000, "USD"), Money(2000, "USD"))
    with pytest.raises(errors.ExceedsInvoiceBalance):
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount="20.01")
    v = invoices.record_payment(db, actor=actor, invoice_id=inv, amount="20.00")
    assert v.status == "paid" and v.balance_due == Money(0, "USD")
    f.assert_books(db, actor)


def test_apply_and_remove_only_make_the_same_change_and_name_it(db, actor, cus):
    """The ``*_only`` variants (for a caller that only says what happened): the same rows,
    and the amount with both documents' ids and numbers instead of the documents."""
    inv, m = f.invoice(db, actor, cus, "100.00"), f.memo(db, actor, cus, "50.00")
    memo_number, invoice_number = _memo(db, actor, m).number, _inv(db, actor, inv).number
    applied = credit.apply_credit_only(db, actor=actor, memo_id=m, invoice_id=inv,
                                       amount="20.00")
    assert applied == credit.Change(Money(2000, "USD"), m, memo_number, inv, invoice_number)
    assert (_memo(db, actor, m).remaining_amount, _inv(db, actor, inv).balance_due) == (
        Money(3000, "USD"), Money(8000, "USD"))
    removed = credit.remove_credit_only(db, actor=actor, memo_id=m, invoice_id=inv)
    assert removed == applied
    assert credit.list_applications(db, actor=actor, memo_id=m) == []
    assert _inv(db, actor, inv).balance_due == Money(10000, "USD")


# --- U1-U3 --------------------------------------------------------------------------

def test_u1_remove_from_the_invoice_side(db, actor, cus):
    inv, m = f.invoice(db, actor, cus), f.memo(db, actor, cus, "50.00")
    _apply(db, actor, m, inv, "10.00")
    [listed] = _inv(db, actor, inv).credits_applied
    r = credit.remove_credit(db, actor=actor, memo_id=listed.credit_memo_id, invoice_id=inv)
    assert r.invoice.credits_applied == [] and r.credit_memo.applied_amount == Money(0, "USD")


def test_u1_remove_from_the_memo_side(db, actor, cus):
    inv, m = f.invoice(db, actor, cus), f.memo(db, actor, cus, "50.00")
    _apply(db, actor, m, inv, "10.00")
    [listed] = credit.list_applications(db, actor=actor, memo_id=m)
    r = credit.remove_credit(db, actor=actor, memo_id=m, invoice_id=listed.invoice_id)
    assert credit.list_applications(db, actor=actor, memo_id=m) == []
    assert r.invoice.balance_due == Money(10000, "USD")


def test_u2_remove_deletes_every_application_of_that_pair_only(db, actor, cus):
    a, b = f.invoice(db, actor, cus, "100.00"), f.invoice(db, actor, cus, "100.00")
    m = f.memo(db, actor, cus, "50.00")
    _apply(db, actor, m, a, "10.00")
    _apply(db, actor, m, a, "15.00")
    _apply(db, actor, m, b, "5.00")
    r = credit.remove_credit(db, actor=actor, memo_id=m, invoice_id=a)
    assert (r.credit_memo.status, r.credit_memo.applied_amount) == (
        "partially_applied", Money(500, "USD"))
    assert r.credit_memo.remaining_amount == Money(4500, "USD")
    assert [x.invoice_id for x in credit.list_applications(db, actor=actor, memo_id=m)] == [b]
    assert (r.invoice.status, r.invoice.balance_due) == ("open", Money(10000, "USD"))
    assert _inv(db, actor, b).credit_applied == Money(500, "USD")
    f.assert_books(db, actor)


def test_u2_remove_rolls_an_applied_memo_back_to_issued_and_clears_applied_at(db, actor, cus):
    inv, m = f.invoice(db, actor, cus, "100.00"), f.memo(db, actor, cus, "40.00")
    assert _apply(db, actor, m, inv, "40.00").credit_memo.applied_at is not None
    r = credit.remove_credit(db, actor=actor, memo_id=m, invoice_id=inv)
    assert (r.credit_memo.status, r.credit_memo.applied_at) == ("issued", None)
    assert r.credit_memo.remaining_amount == Money(4000, "USD")
    assert _memo(db, actor, m) == r.credit_memo


def test_u2_remove_from_applied_to_partially_applied(db, actor, cus):
    a, b = f.invoice(db, actor, cus), f.invoice(db, actor, cus)
    m = f.memo(db, actor, cus, "40.00")
    _apply(db, actor, m, a, "25.00")
    _apply(db, actor, m, b, "15.00")
    r = credit.remove_credit(db, actor=actor, memo_id=m, invoice_id=b)
    assert (r.credit_memo.status, r.credit_memo.applied_at) == ("partially_applied", None)


@pytest.mark.parametrize("paid", [None, "30.00"])
def test_u3_invoice_status_recomputed_and_no_journal_entry(db, actor, cus, paid):
    inv, m = f.invoice(db, actor, cus, "100.00"), f.memo(db, actor, cus, "100.00")
    if paid:
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount=paid)
    r = _apply(db, actor, m, inv, "70.00" if paid else "100.00")
    assert r.invoice.status == "paid"
    journal = ledger.list_entries(db, actor=actor, limit=200).data
    r = credit.remove_credit(db, actor=actor, memo_id=m, invoice_id=inv)
    assert r.invoice.status == ("partially_paid" if paid else "open")
    assert r.invoice.balance_due == Money(7000 if paid else 10000, "USD")
    assert ledger.list_entries(db, actor=actor, limit=200).data == journal
    f.assert_books(db, actor)


def test_u2_remove_without_an_application_is_refused_and_changes_nothing(db, actor, cus):
    inv, m = f.invoice(db, actor, cus), f.memo(db, actor, cus, "50.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.NotFound, match="no credit applied"):
        credit.remove_credit(db, actor=actor, memo_id=m, invoice_id=inv)
    assert f.snapshot(db, actor) == before


def test_a6_pair_changed_between_reads_is_a_clear_conflict_and_changes_nothing(
        db, actor, monkeypatch):
    """If the locked read finds no pair but the unlocked reads find a matching one (a
    document changed in between), the application is refused as a 409, never a 500."""
    from creditdesk.db import credit_statements

    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    memo_id = f.memo(db, actor, cus, "10.00")
    monkeypatch.setattr(credit_statements, "lock_pair", lambda *_a, **_k: None)
    with pytest.raises(errors.Conflict, match="changed while this request ran"):
        credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=inv, amount="5.00")
    monkeypatch.undo()
    assert credit.list_applications(db, actor=actor, memo_id=memo_id) == []
