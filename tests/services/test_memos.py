"""Draft credit memos through the service layer: M1, M2, C1-C6, L1 (both databases)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.credit_memos import memo_lifecycle, memos
from tests import factories as f

REASONS = ["returned_goods", "damaged_goods", "service_issue", "pricing_error",
           "billing_adjustment", "goodwill", "duplicate_charge", "other"]


def _create(db, actor, customer_id, **kwargs):
    kwargs.setdefault("reason", "goodwill")
    return memos.create_memo(db, actor=actor, customer_id=customer_id, **kwargs)


# --- M1, M2 -------------------------------------------------------------------------

def test_m1_amount_is_exact_in_the_currency_minor_units(db, actor):
    cus = f.customer(db, actor)
    assert _create(db, actor, cus, amount="0.10").total == Money(10, "USD")
    assert _create(db, actor, cus, amount=Decimal("1234.5")).total == Money(123450, "USD")
    kwd = _create(db, actor, cus, amount="1.234", currency="KWD")
    assert kwd.total == Money(1234, "KWD") and kwd.total.to_str() == "1.234"
    assert _create(db, actor, cus, amount="500", currency="JPY").total == Money(500, "JPY")


@pytest.mark.parametrize(("amount", "currency"), [("10.001", "USD"), ("10.5", "JPY"),
                                                  ("1.2345", "KWD")])
def test_m1_more_digits_than_the_currency_has_are_rejected_not_rounded(db, actor, amount,
                                                                       currency):
    cus = f.customer(db, actor)
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ValidationError, match="decimal place") as exc:
        _create(db, actor, cus, amount=amount, currency=currency)
    assert exc.value.errors[0].field == "amount"
    assert f.snapshot(db, actor) == before


def test_m1_binary_float_and_unknown_currency_are_rejected(db, actor):
    cus = f.customer(db, actor)
    with pytest.raises(errors.ValidationError, match="float"):
        _create(db, actor, cus, amount=10.5)
    with pytest.raises(errors.ValidationError, match="currency"):
        _create(db, actor, cus, amount="10.00", currency="XYZ")
    assert memos.list_memos(db, actor=actor).data == []


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
def test_m2_amount_must_be_greater_than_zero(db, actor, amount):
    cus = f.customer(db, actor)
    with pytest.raises(errors.ValidationError, match="greater than zero"):
        _create(db, actor, cus, amount=amount)
    assert memos.list_memos(db, actor=actor).data == []


def test_m2_amounts_above_the_maximum_are_rejected(db, actor):
    cus = f.customer(db, actor)
    top = _create(db, actor, cus, amount="999999999999")
    assert top.total.to_decimal() == Decimal("999999999999")
    with pytest.raises(errors.ValidationError, match="exceed"):
        _create(db, actor, cus, amount="999999999999.01")
    with pytest.raises(errors.ValidationError, match="exceed"):  # a lines total too
        _create(db, actor, cus, lines=[
            {"description": "a", "quantity": 2, "unit_price": "999999999999"}])
    assert [m.id for m in memos.list_memos(db, actor=actor).data] == [top.id]


# --- C1-C4 --------------------------------------------------------------------------

def test_c1_memo_carries_every_field(db, actor):
    cus = f.customer(db, actor)
    var = f.variant(db, actor)
    inv = f.invoice(db, actor, cus, "500.00")
    m = _create(db, actor, cus, reason="returned_goods", invoice_id=inv,
                issue_date=date(2024, 3, 1), notes="Box came back dented", lines=[
                    {"description": "Router", "quantity": 2, "unit_price": "25.00",
                     "variant_id": var}])
    assert m.number == "CM-0001" and m.customer_id == cus and m.currency == "USD"
    assert m.reason == "returned_goods" and m.issue_date == date(2024, 3, 1)
    assert m.invoice_id == inv and m.notes == "Box came back dented"
    assert m.status == "draft" and m.source == "native" and not m.read_only
    [line] = m.lines
    assert (line.description, line.quantity, line.unit_price, line.amount, line.variant_id) == (
        "Router", 2, Money(2500, "USD"), Money(5000, "USD"), var)
    assert m.total == Money(5000, "USD") and m.applied_amount == Money(0, "USD")
    assert m.remaining_amount == Money(5000, "USD")
    assert memos.get_memo(db, actor=actor, memo_id=m.id) == m


@pytest.mark.parametrize("reason", REASONS)
def test_c2_each_of_the_eight_reasons_is_accepted(db, actor, reason):
    m = _create(db, actor, f.customer(db, actor), reason=reason, amount="5.00")
    assert m.reason == reason


@pytest.mark.parametrize("reason", ["refund", "", None, "GOODWILL"])
def test_c2_any_other_reason_is_refused_and_names_the_eight(db, actor, reason):
    cus = f.customer(db, actor)
    with pytest.raises(errors.ValidationError) as exc:
        _create(db, actor, cus, reason=reason, amount="5.00")
    assert exc.value.errors[0].field == "reason"
    assert all(r in exc.value.detail for r in REASONS)
    assert memos.list_memos(db, actor=actor).data == []


def test_c3_numbers_are_sequential_per_partner(db, actor, other_actor):
    cus, other_cus = f.customer(db, actor), f.customer(db, other_actor)
    numbers = [_create(db, actor, cus, amount="1.00").number for _ in range(3)]
    assert numbers == ["CM-0001", "CM-0002", "CM-0003"]
    assert _create(db, other_actor, other_cus, amount="1.00").number == "CM-0001"
    memos.delete_memo(db, actor=actor, memo_id=memos.list_memos(db, actor=actor).data[0].id)
    assert _create(db, actor, cus, amount="1.00").number == "CM-0004"  # never reused


def test_c3_number_simply_grows_past_9999(db, actor):
    cus = f.customer(db, actor)
    with db.write() as s:
        s.execute(update(models.Counter).where(models.Counter.partner_id == actor.partner_id,
                                               models.Counter.name == "credit_memo")
                  .values(value=9998))
    assert _create(db, actor, cus, amount="1.00").number == "CM-9999"
    assert _create(db, actor, cus, amount="1.00").number == "CM-10000"


def test_c3_a_refused_create_uses_no_number(db, actor):
    cus = f.customer(db, actor)
    with pytest.raises(errors.ValidationError):
        _create(db, actor, cus, amount="-1")
    assert _create(db, actor, cus, amount="1.00").number == "CM-0001"


def test_c4_memo_with_lines_has_the_total_of_its_lines(db, actor):
    m = _create(db, actor, f.customer(db, actor), lines=[
        {"description": "Licence", "quantity": 3, "unit_price": "10.10"},
        {"description": "Setup", "quantity": 1, "unit_price": "4.70"}])
    assert m.total == Money(3500, "USD") and len(m.lines) == 2


def test_c4_memo_without_lines_carries_its_amount(db, actor):
    m = _create(db, actor, f.customer(db, actor), reason="service_issue", amount="42.42")
    assert m.lines == [] and m.total == Money(4242, "USD")


def test_c4_amount_and_lines_exclusive_and_one_required(db, actor):
    cus = f.customer(db, actor)
    with pytest.raises(errors.ValidationError, match="either amount or lines"):
        _create(db, actor, cus, amount="5.00",
                lines=[{"description": "x", "quantity": 1, "unit_price": "5.00"}])
    with pytest.raises(errors.ValidationError, match="amount"):
        _create(db, actor, cus)
    assert memos.list_memos(db, actor=actor).data == []


def test_c4_changing_a_drafts_currency_keeps_lines_and_total_in_agreement(db, actor):
    cus = f.customer(db, actor)
    m = _create(db, actor, cus, lines=[{"description": "x", "quantity": 2,
                                         "unit_price": "300"}])
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={"currency": "JPY"})
    assert m.total == Money(600, "JPY")
    assert [li.amount for li in m.lines] == [Money(600, "JPY")]
    assert sum(li.amount.minor for li in m.lines) == m.total.minor


# --- C5 -----------------------------------------------------------------------------

def test_c5_customer_level_memo_has_no_link(db, actor):
    assert _create(db, actor, f.customer(db, actor), amount="5.00").invoice_id is None


def test_c5_linked_invoice_must_be_the_same_customer(db, actor):
    cus, other = f.customer(db, actor), f.customer(db, actor, "Initech")
    inv = f.invoice(db, actor, other)
    with pytest.raises(errors.CustomerMismatch, match="another customer"):
        _create(db, actor, cus, amount="5.00", invoice_id=inv)
    assert memos.list_memos(db, actor=actor).data == []


def test_c5_linked_invoice_must_be_the_same_currency(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    assert _create(db, actor, cus, amount="5.00", invoice_id=inv).currency == "USD"
    with pytest.raises(errors.CurrencyMismatch, match="EUR"):
        _create(db, actor, cus, amount="5.00", currency="EUR", invoice_id=inv)


def test_c5_linked_memo_capped_by_invoice_total_less_other_memos(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    first = f.memo(db, actor, cus, "60.00", invoice_id=inv)
    with pytest.raises(errors.ExceedsInvoiceTotal) as exc:
        _create(db, actor, cus, amount="40.01", invoice_id=inv)
    assert all(s in exc.value.detail for s in ("100.00", "60.00", "40.00"))
    second = _create(db, actor, cus, amount="40.00", invoice_id=inv)
    # updating a linked draft does not count the draft against itself
    assert memos.update_memo(db, actor=actor, memo_id=second.id,
                             changes={"amount": "40.00"}).total == Money(4000, "USD")
    with pytest.raises(errors.ExceedsInvoiceTotal):
        memos.update_memo(db, actor=actor, memo_id=second.id, changes={"amount": "40.01"})
    # a void memo no longer counts
    memo_lifecycle.void_memo(db, actor=actor, memo_id=first, reason="entered twice")
    assert memos.update_memo(db, actor=actor, memo_id=second.id,
                             changes={"amount": "100.00"}).total == Money(10000, "USD")


# --- C6 -----------------------------------------------------------------------------

def test_c6_start_from_invoice_prefills_customer_currency_lines_and_link(db, actor):
    cus = f.customer(db, actor)
    var = f.variant(db, actor)
    inv = f.invoice(db, actor, cus, "19.99", currency="EUR", variant_id=var, quantity=3)
    m = memos.create_from_invoice(db, actor=actor, invoice_id=inv, reason="returned_goods")
    assert (m.customer_id, m.currency, m.invoice_id, m.status) == (cus, "EUR", inv, "draft")
    [line] = m.lines
    assert (line.description, line.quantity, line.unit_price, line.variant_id) == (
        "Managed services", 3, Money(1999, "EUR"), var)
    assert m.total == Money(5997, "EUR")


def test_c6_start_from_invoice_with_an_amount_override(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "80.00")
    m = memos.create_from_invoice(db, actor=actor, invoice_id=inv, reason="pricing_error",
                                  amount="12.50")
    assert m.lines == [] and m.total == Money(1250, "USD") and m.invoice_id == inv


# --- L1 -----------------------------------------------------------------------------

def test_l1_draft_fields_can_be_updated(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "90.00")
    m = _create(db, actor, cus, amount="10.00")
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={
        "reason": "pricing_error", "amount": "12.34", "invoice_id": inv,
        "issue_date": date(2024, 5, 6), "notes": "per phone call"})
    assert (m.reason, m.total, m.invoice_id, m.issue_date, m.notes) == (
        "pricing_error", Money(1234, "USD"), inv, date(2024, 5, 6), "per phone call")
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={
        "lines": [{"description": "x", "quantity": 2, "unit_price": "3.00"}]})
    assert m.total == Money(600, "USD") and len(m.lines) == 1
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={"lines": [],
                                                                  "amount": "7.00"})
    assert m.lines == [] and m.total == Money(700, "USD")
    assert memos.get_memo(db, actor=actor, memo_id=m.id) == m


def test_l1_lineless_draft_can_be_given_lines(db, actor):
    m = _create(db, actor, f.customer(db, actor), amount="10.00")
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={
        "lines": [{"description": "x", "quantity": 3, "unit_price": "2.50"}]})
    assert m.total == Money(750, "USD") and [li.quantity for li in m.lines] == [3]
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={"lines": [],
                                                                  "amount": "4.00"})
    assert (m.lines, m.total) == ([], Money(400, "USD"))
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={"lines": []})
    assert (m.lines, m.total) == ([], Money(400, "USD"))  # no lines either way: amount kept


def test_l1_unknown_field_or_bad_value_is_refused_and_changes_nothing(db, actor):
    m = _create(db, actor, f.customer(db, actor), amount="10.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ValidationError, match="status"):
        memos.update_memo(db, actor=actor, memo_id=m.id, changes={"status": "issued"})
    with pytest.raises(errors.ValidationError):
        memos.update_memo(db, actor=actor, memo_id=m.id, changes={"amount": "0"})
    assert f.snapshot(db, actor) == before


def test_l1_draft_can_be_deleted(db, actor):
    cus = f.customer(db, actor)
    m = _create(db, actor, cus, lines=[{"description": "x", "quantity": 1, "unit_price": "1"}])
    memos.delete_memo(db, actor=actor, memo_id=m.id)
    with pytest.raises(errors.NotFound):
        memos.get_memo(db, actor=actor, memo_id=m.id)
    assert memos.list_memos(db, actor=actor).data == []


@pytest.mark.parametrize("action", ["update", "delete"])
def test_l1_only_drafts_can_be_updated_or_deleted(db, actor, action):
    cus = f.customer(db, actor)
    m = f.memo(db, actor, cus, "10.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState, match="is issued and can't be") as exc:
        if action == "update":
            memos.update_memo(db, actor=actor, memo_id=m, changes={"notes": "x"})
        else:
            memos.delete_memo(db, actor=actor, memo_id=m)
    assert "Only drafts" in exc.value.detail
    assert f.snapshot(db, actor) == before
