"""Every posting balances (J1) and debits/credits the accounts API.md lists (I3, I4, L2, L4)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditdesk.domain import journal
from creditdesk.domain.journal import Account, EntryKind, Posting
from creditdesk.domain.money import Money

AR, CASH, REVENUE, RETURNS = "1100", "1000", "4000", "4900"
POSTINGS: list[tuple[Callable[[Money, str], Posting], EntryKind, str, str, str]] = [
    (journal.invoice_issued, EntryKind.INVOICE_ISSUE, AR, REVENUE, "Invoice X-0001 issued"),
    (journal.invoice_voided, EntryKind.INVOICE_VOID, REVENUE, AR, "Invoice X-0001 voided"),
    (journal.payment_recorded, EntryKind.PAYMENT, CASH, AR, "Payment on invoice X-0001"),
    (journal.memo_issued, EntryKind.MEMO_ISSUE, RETURNS, AR, "Credit memo X-0001 issued"),
    (journal.memo_voided, EntryKind.MEMO_VOID, AR, RETURNS, "Credit memo X-0001 voided"),
    (journal.refund_recorded, EntryKind.REFUND, AR, CASH, "Refund of credit memo X-0001"),
    (journal.refund_voided, EntryKind.REFUND_VOID, CASH, AR,
     "Refund of credit memo X-0001 voided"),
]


def test_j1_chart_of_accounts_is_the_one_api_md_lists() -> None:
    names = {account.value: journal.ACCOUNT_NAMES[account] for account in Account}
    assert names == {CASH: "Cash", AR: "Accounts Receivable", REVENUE: "Sales Revenue",
                     RETURNS: "Sales Returns and Allowances",
                     "2200": "Sales Tax Payable"}  # T4


def test_j1_entry_kinds_are_stable() -> None:
    assert {k.value for k in EntryKind} == {"invoice_issue", "invoice_void", "payment",
                                            "credit_memo_issue", "credit_memo_void",
                                            "refund", "refund_void",
                                            # T4: the tax legs
                                            "invoice_issue_tax", "invoice_void_tax",
                                            "credit_memo_issue_tax", "credit_memo_void_tax"}


@pytest.mark.parametrize(("post", "kind", "debit", "credit", "description"), POSTINGS,
                         ids=[p[0].__name__ for p in POSTINGS])
def test_i3_i4_l2_l4_postings_debit_and_credit_the_right_accounts(
        post: Callable[[Money, str], Posting], kind: EntryKind, debit: str, credit: str,
        description: str) -> None:
    amount = Money.parse("123.45", "USD")
    posting = post(amount, "X-0001")
    assert posting.kind is kind
    assert (posting.debit.value, posting.credit.value) == (debit, credit)
    assert posting.amount == amount
    assert posting.description == description


def test_i3_invoice_issue_is_dr_ar_cr_sales_revenue() -> None:
    posting = journal.invoice_issued(Money(5000, "USD"), "INV-0003")
    assert (posting.debit, posting.credit) == (Account.ACCOUNTS_RECEIVABLE, Account.SALES_REVENUE)


def test_i4_payment_is_dr_cash_cr_ar() -> None:
    posting = journal.payment_recorded(Money(5000, "USD"), "INV-0003")
    assert (posting.debit, posting.credit) == (Account.CASH, Account.ACCOUNTS_RECEIVABLE)


def test_l2_memo_issue_is_dr_sales_returns_cr_ar() -> None:
    posting = journal.memo_issued(Money(5000, "USD"), "CM-0001")
    assert (posting.debit, posting.credit) == (Account.SALES_RETURNS, Account.ACCOUNTS_RECEIVABLE)
    assert "CM-0001" in posting.description


def test_l4_memo_void_reverses_memo_issue_exactly() -> None:
    amount = Money(5000, "CAD")
    issued, voided = journal.memo_issued(amount, "CM-0001"), journal.memo_voided(amount, "CM-0001")
    assert (voided.debit, voided.credit) == (issued.credit, issued.debit)
    assert voided.amount == issued.amount
    assert (voided.debit, voided.credit) == (Account.ACCOUNTS_RECEIVABLE, Account.SALES_RETURNS)


def test_i3_invoice_void_reverses_invoice_issue_exactly() -> None:
    amount = Money(5000, "USD")
    issued = journal.invoice_issued(amount, "INV-1")
    voided = journal.invoice_voided(amount, "INV-1")
    assert (voided.debit, voided.credit, voided.amount) == (issued.credit, issued.debit, amount)


@pytest.mark.parametrize("minor", [0, -1, -5000])
@pytest.mark.parametrize("post", [p[0] for p in POSTINGS], ids=[p[0].__name__ for p in POSTINGS])
def test_j1_postings_refuse_zero_and_negative_amounts(
        post: Callable[[Money, str], Posting], minor: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        post(Money(minor, "USD"), "X-1")


@pytest.mark.parametrize("account", list(Account))
def test_j1_a_posting_moves_value_between_two_different_accounts(account: Account) -> None:
    with pytest.raises(ValueError, match="two different accounts"):
        Posting(EntryKind.PAYMENT, account, account, Money(100, "USD"), "nothing moves")


def test_j1_posted_entries_are_immutable() -> None:
    posting = journal.payment_recorded(Money(100, "USD"), "INV-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        posting.amount = Money(1, "USD")  # type: ignore[misc]


events = st.lists(st.tuples(st.sampled_from([p[0] for p in POSTINGS]), st.integers(1, 10**12)),
                  max_size=40)


@given(events)
def test_j1_j2_any_sequence_of_postings_keeps_the_trial_balance_balanced(
        sequence: list[tuple[Callable[[Money, str], Posting], int]]) -> None:
    debits: Counter[Account] = Counter()
    credits: Counter[Account] = Counter()
    expected_ar = 0
    sign_on_ar = {journal.invoice_issued: 1, journal.invoice_voided: -1,
                  journal.payment_recorded: -1, journal.memo_issued: -1, journal.memo_voided: 1,
                  journal.refund_recorded: 1, journal.refund_voided: -1}
    for post, minor in sequence:
        posting = post(Money(minor, "USD"), "X-1")
        assert posting.debit is not posting.credit
        debits[posting.debit] += posting.amount.minor
        credits[posting.credit] += posting.amount.minor
        expected_ar += sign_on_ar[post] * minor
    assert sum(debits.values()) == sum(credits.values())
    assert sum(debits[a] - credits[a] for a in Account) == 0
    # J2 at the ledger level: AR = invoices - payments - credit memos (net of reversals).
    ar = Account.ACCOUNTS_RECEIVABLE
    assert debits[ar] - credits[ar] == expected_ar
