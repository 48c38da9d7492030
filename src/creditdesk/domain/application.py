"""Rules for applying and removing credit (A1, A2, M4, C5, I4, I5)."""

from __future__ import annotations

from enum import StrEnum

from creditdesk.domain import errors
from creditdesk.domain.money import Money


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


APPLICABLE_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)


def invoice_status_for_amounts(*, total: Money, paid: Money, credited: Money) -> InvoiceStatus:
    """I5: paid within the penny tolerance (M3), else partially paid, else open."""
    balance = total - paid - credited
    if balance.within_penny():
        return InvoiceStatus.PAID
    if paid.minor > 0 or credited.minor > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def balance_due(*, total_minor: int, paid_minor: int, credited_minor: int,
                currency: str) -> Money:
    """I4: what is still owed on an invoice: total - paid - credit applied."""
    return Money(total_minor - paid_minor - credited_minor, currency)


def invoice_status(*, total_minor: int, paid_minor: int, credited_minor: int,
                   currency: str) -> InvoiceStatus:
    """I5 from an issued invoice's stored amounts (``invoice_status_for_amounts``)."""
    return invoice_status_for_amounts(total=Money(total_minor, currency),
                                      paid=Money(paid_minor, currency),
                                      credited=Money(credited_minor, currency))


def check_same_party(
    *, memo_customer_id: str, memo_currency: str, invoice_customer_id: str,
    invoice_currency: str, memo_number: str, invoice_number: str,
) -> None:
    """M4/C5: a memo and an invoice meet only within one customer and one currency."""
    if memo_customer_id != invoice_customer_id:
        raise errors.CustomerMismatch(
            f"Invoice {invoice_number} belongs to another customer than credit memo "
            f"{memo_number}; credit can only be used on the same customer's invoices."
        )
    if memo_currency != invoice_currency:
        raise errors.CurrencyMismatch(
            f"Invoice {invoice_number} is in {invoice_currency} but credit memo {memo_number} "
            f"is in {memo_currency}; credit can only be applied in the same currency."
        )


def check_memo_link(
    *, memo_customer_id: str, memo_currency: str, invoice_customer_id: str,
    invoice_currency: str, invoice_status: str, invoice_number: str,
) -> None:
    """C5: a memo links only to its own customer's issued invoice, in the invoice's currency."""
    if invoice_customer_id != memo_customer_id:
        raise errors.CustomerMismatch(
            f"Invoice {invoice_number} belongs to another customer; a memo can only be linked "
            "to its own customer's invoice.")
    if invoice_currency != memo_currency:
        raise errors.CurrencyMismatch(
            f"Invoice {invoice_number} is in {invoice_currency} but the memo is in "
            f"{memo_currency}; a linked memo uses its invoice's currency.")
    if invoice_status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        raise errors.InvalidState(
            f"Invoice {invoice_number} is {invoice_status}; only issued invoices can be credited.")


def check_invoice_accepts_credit(*, status: InvoiceStatus, number: str) -> None:
    """A1: only open or partially paid invoices take credit."""
    if status not in APPLICABLE_INVOICE_STATUSES:
        raise errors.InvalidState(
            f"Invoice {number} is {status.value.replace('_', ' ')}; credit can only be applied "
            "to open or partially paid invoices."
        )


def check_application_caps(
    *, amount: Money, memo_remaining: Money, invoice_balance: Money,
    memo_number: str, invoice_number: str,
) -> None:
    """A2: the amount can exceed neither the memo's remaining credit nor the balance due."""
    if amount > memo_remaining:
        raise errors.ExceedsMemoRemaining(
            f"Can't apply {amount}: credit memo {memo_number} has only {memo_remaining} "
            f"remaining (invoice {invoice_number} balance due is {invoice_balance})."
        )
    if amount > invoice_balance:
        raise errors.ExceedsInvoiceBalance(
            f"Can't apply {amount}: invoice {invoice_number} has a balance due of only "
            f"{invoice_balance} (credit memo {memo_number} has {memo_remaining} remaining)."
        )


def max_application(memo_remaining: Money, invoice_balance: Money) -> Money:
    """The largest amount A2 allows: the smaller of the two caps."""
    return memo_remaining if memo_remaining <= invoice_balance else invoice_balance


def check_payment(*, amount: Money, invoice_balance: Money, invoice_number: str) -> None:
    """I4: a payment can't exceed the balance due."""
    if amount > invoice_balance:
        raise errors.ExceedsInvoiceBalance(
            f"Can't record a payment of {amount}: invoice {invoice_number} has a balance due "
            f"of only {invoice_balance}."
        )


def check_linked_memo_cap(
    *, amount: Money, invoice_total: Money, other_linked: Money, invoice_number: str
) -> None:
    """C5: a linked memo can't credit more than the invoice total less other non-void memos."""
    available = invoice_total - other_linked
    if amount > available:
        raise errors.ExceedsInvoiceTotal(
            f"A credit memo of {amount} is more than invoice {invoice_number} can still be "
            f"credited: its total is {invoice_total} and other credit memos linked to it "
            f"already credit {other_linked}, leaving {available}."
        )
