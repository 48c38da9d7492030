"""The chart of accounts and the posting rules (I3, I4, L2, L4, J1).

Every posting here is a two-legged entry: one debit account, one credit account, one
positive amount. An entry balances by construction, and the database states it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from creditdesk.domain.money import Money


class Account(StrEnum):
    CASH = "1000"
    ACCOUNTS_RECEIVABLE = "1100"
    SALES_TAX_PAYABLE = "2200"
    SALES_REVENUE = "4000"
    SALES_RETURNS = "4900"


ACCOUNT_NAMES = {
    Account.CASH: "Cash",
    Account.ACCOUNTS_RECEIVABLE: "Accounts Receivable",
    Account.SALES_TAX_PAYABLE: "Sales Tax Payable",
    Account.SALES_REVENUE: "Sales Revenue",
    Account.SALES_RETURNS: "Sales Returns and Allowances",
}


class EntryKind(StrEnum):
    INVOICE_ISSUE = "invoice_issue"
    INVOICE_VOID = "invoice_void"
    PAYMENT = "payment"
    MEMO_ISSUE = "credit_memo_issue"
    MEMO_VOID = "credit_memo_void"
    REFUND = "refund"
    REFUND_VOID = "refund_void"
    # T4: the tax leg of an issue or void, its own two-legged entry beside the net one
    INVOICE_ISSUE_TAX = "invoice_issue_tax"
    INVOICE_VOID_TAX = "invoice_void_tax"
    MEMO_ISSUE_TAX = "credit_memo_issue_tax"
    MEMO_VOID_TAX = "credit_memo_void_tax"


@dataclass(frozen=True)
class Posting:
    """Dr ``debit`` / Cr ``credit`` for ``amount`` (> 0): balanced by construction (J1)."""

    kind: EntryKind
    debit: Account
    credit: Account
    amount: Money
    description: str

    def __post_init__(self) -> None:
        if self.amount.minor <= 0:
            raise ValueError("a posting amount is positive")
        if self.debit is self.credit:
            raise ValueError("a posting moves value between two different accounts")


def invoice_issued(total: Money, number: str) -> Posting:
    """I3: Dr Accounts Receivable / Cr Sales Revenue."""
    return Posting(EntryKind.INVOICE_ISSUE, Account.ACCOUNTS_RECEIVABLE, Account.SALES_REVENUE,
                   total, f"Invoice {number} issued")


def invoice_voided(total: Money, number: str) -> Posting:
    """Reverses I3 when an unpaid, uncredited invoice is voided."""
    return Posting(EntryKind.INVOICE_VOID, Account.SALES_REVENUE, Account.ACCOUNTS_RECEIVABLE,
                   total, f"Invoice {number} voided")


def payment_recorded(amount: Money, invoice_number: str) -> Posting:
    """I4: Dr Cash / Cr Accounts Receivable."""
    return Posting(EntryKind.PAYMENT, Account.CASH, Account.ACCOUNTS_RECEIVABLE, amount,
                   f"Payment on invoice {invoice_number}")


def memo_issued(total: Money, number: str) -> Posting:
    """L2: Dr Sales Returns and Allowances / Cr Accounts Receivable."""
    return Posting(EntryKind.MEMO_ISSUE, Account.SALES_RETURNS, Account.ACCOUNTS_RECEIVABLE,
                   total, f"Credit memo {number} issued")


def memo_voided(total: Money, number: str) -> Posting:
    """L4: the reversal, Dr Accounts Receivable / Cr Sales Returns and Allowances."""
    return Posting(EntryKind.MEMO_VOID, Account.ACCOUNTS_RECEIVABLE, Account.SALES_RETURNS,
                   total, f"Credit memo {number} voided")


def refund_recorded(amount: Money, memo_number: str) -> Posting:
    """R1: credit paid back to the customer, Dr Accounts Receivable / Cr Cash."""
    return Posting(EntryKind.REFUND, Account.ACCOUNTS_RECEIVABLE, Account.CASH, amount,
                   f"Refund of credit memo {memo_number}")


def refund_voided(amount: Money, memo_number: str) -> Posting:
    """R2: the refund's reversal, Dr Cash / Cr Accounts Receivable."""
    return Posting(EntryKind.REFUND_VOID, Account.CASH, Account.ACCOUNTS_RECEIVABLE, amount,
                   f"Refund of credit memo {memo_number} voided")


def _with_tax(net: Posting, kind: EntryKind, debit: Account, credit: Account,
              tax: Money) -> list[Posting]:
    """``net``, then its tax leg Dr ``debit`` / Cr ``credit`` (T4): none for no tax; a
    negative tax (a memo line completing an invoice line whose partial credits were each
    rounded up, T3) moves the other way round."""
    if tax.minor == 0:
        return [net]
    description = f"{net.description}: sales tax"
    if tax.minor < 0:
        return [net, Posting(kind, credit, debit, Money(-tax.minor, tax.currency), description)]
    return [net, Posting(kind, debit, credit, tax, description)]


_AR, _TAX = Account.ACCOUNTS_RECEIVABLE, Account.SALES_TAX_PAYABLE


def invoice_issued_with_tax(net: Money, tax: Money, number: str) -> list[Posting]:
    """T4: Dr Accounts Receivable (total) / Cr Sales Revenue (net), Cr Sales Tax Payable
    (tax), as two two-legged entries: AR receives net + tax = the total."""
    return _with_tax(invoice_issued(net, number), EntryKind.INVOICE_ISSUE_TAX, _AR, _TAX, tax)


def invoice_voided_with_tax(net: Money, tax: Money, number: str) -> list[Posting]:
    """The reversal of ``invoice_issued_with_tax``."""
    return _with_tax(invoice_voided(net, number), EntryKind.INVOICE_VOID_TAX, _TAX, _AR, tax)


def _either_way(kind: EntryKind, debit: Account, credit: Account, amount: Money,
                description: str) -> list[Posting]:
    """Dr ``debit`` / Cr ``credit`` for ``amount``; a negative amount the other way round;
    nothing for zero."""
    if amount.minor == 0:
        return []
    if amount.minor < 0:
        return [Posting(kind, credit, debit, Money(-amount.minor, amount.currency), description)]
    return [Posting(kind, debit, credit, amount, description)]


def memo_issued_with_tax(net: Money, tax: Money, number: str) -> list[Posting]:
    """T4: Dr Sales Returns and Allowances (net), Dr Sales Tax Payable (tax) / Cr Accounts
    Receivable (total), as two two-legged entries. A tax-inclusive memo line completing an
    invoice line takes the line's remaining tax (T3), which can be more than its gross at
    very low prices: its net is then zero (no net entry) or negative (the other way round)."""
    text = f"Credit memo {number} issued"
    return (_either_way(EntryKind.MEMO_ISSUE, Account.SALES_RETURNS, _AR, net, text)
            + _either_way(EntryKind.MEMO_ISSUE_TAX, _TAX, _AR, tax, f"{text}: sales tax"))


def memo_voided_with_tax(net: Money, tax: Money, number: str) -> list[Posting]:
    """The reversal of ``memo_issued_with_tax``."""
    text = f"Credit memo {number} voided"
    return (_either_way(EntryKind.MEMO_VOID, _AR, Account.SALES_RETURNS, net, text)
            + _either_way(EntryKind.MEMO_VOID_TAX, _AR, _TAX, tax, f"{text}: sales tax"))
