"""Applying credit and payments obey A1, A2, M3, M4, I4, I5 and C5, with messages that explain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditdesk.domain import application as rules
from creditdesk.domain import errors
from creditdesk.domain.application import InvoiceStatus
from creditdesk.domain.money import Money, MoneyError


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def caps(amount: str, remaining: str, balance: str) -> None:
    rules.check_application_caps(amount=usd(amount), memo_remaining=usd(remaining),
                                 invoice_balance=usd(balance), memo_number="CM-0007",
                                 invoice_number="INV-0012")


amounts = st.integers(1, 10**14)

# --- A2: two caps --------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "remaining", "balance"), [
    ("60.00", "60.00", "60.00"), ("0.01", "60.00", "100.00"), ("60.00", "60.00", "100.00"),
    ("100.00", "250.00", "100.00"),
])
def test_a2_amount_up_to_both_caps_is_allowed(amount: str, remaining: str, balance: str) -> None:
    caps(amount, remaining, balance)


def test_a2_application_capped_by_memo_remaining() -> None:
    with pytest.raises(errors.ExceedsMemoRemaining) as caught:
        caps("60.01", "60.00", "100.00")
    detail = caught.value.detail
    assert caught.value.code == "exceeds_memo_remaining"
    assert "$60.01" in detail and "$60.00" in detail
    assert "remaining" in detail and "CM-0007" in detail


def test_a2_application_capped_by_invoice_balance() -> None:
    with pytest.raises(errors.ExceedsInvoiceBalance) as caught:
        caps("40.01", "100.00", "40.00")
    detail = caught.value.detail
    assert caught.value.code == "exceeds_invoice_balance"
    assert "$40.01" in detail and "$40.00" in detail
    assert "balance due" in detail and "INV-0012" in detail


@given(amounts, amounts, amounts)
def test_a2_refused_exactly_when_over_the_smaller_cap(amount: int, remaining: int,
                                                      balance: int) -> None:
    args = dict(amount=Money(amount, "USD"), memo_remaining=Money(remaining, "USD"),
                invoice_balance=Money(balance, "USD"), memo_number="CM-1", invoice_number="INV-1")
    if amount > remaining:
        with pytest.raises(errors.ExceedsMemoRemaining):
            rules.check_application_caps(**args)
    elif amount > balance:
        with pytest.raises(errors.ExceedsInvoiceBalance):
            rules.check_application_caps(**args)
    else:
        rules.check_application_caps(**args)
    largest = rules.max_application(Money(remaining, "USD"), Money(balance, "USD"))
    assert largest == Money(min(remaining, balance), "USD")
    rules.check_application_caps(**{**args, "amount": largest})


def test_a2_m4_caps_refuse_an_amount_in_another_currency() -> None:
    with pytest.raises(MoneyError):
        rules.check_application_caps(amount=Money(100, "EUR"), memo_remaining=usd("5.00"),
                                     invoice_balance=usd("5.00"), memo_number="CM-1",
                                     invoice_number="INV-1")


# --- M4: same customer, same currency --------------------------------------------------

def party(memo_customer: str = "cus_1", memo_currency: str = "USD",
          invoice_customer: str = "cus_1", invoice_currency: str = "USD") -> None:
    rules.check_same_party(memo_customer_id=memo_customer, memo_currency=memo_currency,
                           invoice_customer_id=invoice_customer,
                           invoice_currency=invoice_currency, memo_number="CM-0003",
                           invoice_number="INV-0009")


def test_m4_same_customer_and_currency_is_allowed() -> None:
    party()


def test_m4_credit_is_refused_across_customers() -> None:
    with pytest.raises(errors.CustomerMismatch) as caught:
        party(invoice_customer="cus_2")
    assert caught.value.code == "customer_mismatch"
    assert "INV-0009" in caught.value.detail and "CM-0003" in caught.value.detail


def test_m4_credit_is_refused_across_currencies() -> None:
    with pytest.raises(errors.CurrencyMismatch) as caught:
        party(invoice_currency="CAD")
    assert caught.value.code == "currency_mismatch"
    assert "CAD" in caught.value.detail and "USD" in caught.value.detail


def test_m4_refused_when_both_customer_and_currency_differ() -> None:
    with pytest.raises((errors.CustomerMismatch, errors.CurrencyMismatch)):
        party(invoice_customer="cus_2", invoice_currency="EUR")


# --- A1: invoice status --------------------------------------------------------------

def test_a1_invoice_statuses_are_the_specified_ones() -> None:
    assert {s.value for s in InvoiceStatus} == {"draft", "open", "partially_paid", "paid", "void"}


@pytest.mark.parametrize("status", list(InvoiceStatus))
def test_a1_only_open_or_partially_paid_invoices_take_credit(status: InvoiceStatus) -> None:
    if status in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID):
        rules.check_invoice_accepts_credit(status=status, number="INV-0005")
        return
    with pytest.raises(errors.InvalidState) as caught:
        rules.check_invoice_accepts_credit(status=status, number="INV-0005")
    assert caught.value.code == "invalid_state"
    assert "INV-0005" in caught.value.detail
    assert f"is {status.value.replace('_', ' ')}" in caught.value.detail


# --- I4: payments ----------------------------------------------------------------------

def test_i4_payment_up_to_the_balance_due_is_allowed() -> None:
    rules.check_payment(amount=usd("40.00"), invoice_balance=usd("40.00"), invoice_number="INV-1")
    rules.check_payment(amount=usd("0.01"), invoice_balance=usd("40.00"), invoice_number="INV-1")


def test_i4_payment_cannot_exceed_the_balance_due() -> None:
    with pytest.raises(errors.ExceedsInvoiceBalance) as caught:
        rules.check_payment(amount=usd("40.01"), invoice_balance=usd("40.00"),
                            invoice_number="INV-0002")
    assert caught.value.code == "exceeds_invoice_balance"
    detail = caught.value.detail
    assert "$40.01" in detail and "$40.00" in detail and "INV-0002" in detail


@given(amounts, amounts)
def test_i4_payment_refused_exactly_when_over_the_balance(amount: int, balance: int) -> None:
    args = dict(amount=Money(amount, "JPY"), invoice_balance=Money(balance, "JPY"),
                invoice_number="INV-1")
    if amount > balance:
        with pytest.raises(errors.ExceedsInvoiceBalance):
            rules.check_payment(**args)
    else:
        rules.check_payment(**args)


# --- I5 and M3: invoice status from its amounts ----------------------------------------

@pytest.mark.parametrize(("paid", "credited", "status"), [
    ("0.00", "0.00", InvoiceStatus.OPEN),
    ("10.00", "0.00", InvoiceStatus.PARTIALLY_PAID),
    ("0.00", "0.01", InvoiceStatus.PARTIALLY_PAID),
    ("60.00", "39.99", InvoiceStatus.PARTIALLY_PAID),
    ("60.00", "40.00", InvoiceStatus.PAID),
    ("100.00", "0.00", InvoiceStatus.PAID),
    ("0.00", "100.00", InvoiceStatus.PAID),
])
def test_i5_invoice_status_recomputed_from_payments_and_credits(
        paid: str, credited: str, status: InvoiceStatus) -> None:
    assert rules.invoice_status_for_amounts(total=usd("100.00"), paid=usd(paid),
                                            credited=usd(credited)) is status


@pytest.mark.parametrize(("currency", "total", "settled", "status"), [
    ("USD", 10_000, 10_000, InvoiceStatus.PAID),             # balance 0.00
    ("USD", 10_000, 9_999, InvoiceStatus.PARTIALLY_PAID),    # balance 0.01: not below a cent
    ("JPY", 10_000, 9_999, InvoiceStatus.PARTIALLY_PAID),    # balance 1 yen
    ("KWD", 10_000, 9_999, InvoiceStatus.PARTIALLY_PAID),    # balance 0.001 dinar
    ("USD", 10_000, 10_001, InvoiceStatus.PARTIALLY_PAID),   # |-0.01| is not below a cent
])
def test_m3_paid_only_when_the_balance_is_below_one_minor_unit(
        currency: str, total: int, settled: int, status: InvoiceStatus) -> None:
    assert rules.invoice_status_for_amounts(
        total=Money(total, currency), paid=Money(settled, currency),
        credited=Money(0, currency)) is status


@given(st.integers(1, 10**14), st.data())
def test_i5_status_for_any_payments_and_credits(total: int, data: st.DataObject) -> None:
    paid = data.draw(st.integers(0, total))
    credited = data.draw(st.integers(0, total - paid))
    status = rules.invoice_status_for_amounts(total=Money(total, "EUR"), paid=Money(paid, "EUR"),
                                              credited=Money(credited, "EUR"))
    assert (status is InvoiceStatus.PAID) == (paid + credited == total)
    assert (status is InvoiceStatus.OPEN) == (paid == 0 and credited == 0)
    assert (status is InvoiceStatus.PARTIALLY_PAID) == (0 < paid + credited < total)


# --- C5: a linked memo can't credit more than its invoice can still be credited ----------

def test_c5_linked_memo_up_to_what_the_invoice_can_still_be_credited() -> None:
    rules.check_linked_memo_cap(amount=usd("70.00"), invoice_total=usd("100.00"),
                                other_linked=usd("30.00"), invoice_number="INV-1")
    rules.check_linked_memo_cap(amount=usd("100.00"), invoice_total=usd("100.00"),
                                other_linked=usd("0.00"), invoice_number="INV-1")


def test_c5_linked_memo_capped_by_invoice_total_less_other_memos() -> None:
    with pytest.raises(errors.ExceedsInvoiceTotal) as caught:
        rules.check_linked_memo_cap(amount=usd("70.01"), invoice_total=usd("100.00"),
                                    other_linked=usd("30.00"), invoice_number="INV-0004")
    detail = caught.value.detail
    assert caught.value.code == "exceeds_invoice_total"
    for figure in ("$70.01", "$100.00", "$30.00", "$70.00", "INV-0004"):
        assert figure in detail


@given(amounts, amounts, st.integers(0, 10**14))
def test_c5_refused_exactly_when_over_the_invoice_total_less_others(
        amount: int, total: int, others: int) -> None:
    args = dict(amount=Money(amount, "GBP"), invoice_total=Money(total, "GBP"),
                other_linked=Money(others, "GBP"), invoice_number="INV-1")
    if amount + others > total:
        with pytest.raises(errors.ExceedsInvoiceTotal):
            rules.check_linked_memo_cap(**args)
    else:
        rules.check_linked_memo_cap(**args)
