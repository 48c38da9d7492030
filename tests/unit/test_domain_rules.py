"""Rules the domain owns since issue 12 (pure; no database)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from creditdesk.domain import errors
from creditdesk.domain.application import (
    InvoiceStatus,
    balance_due,
    check_memo_link,
    invoice_status,
)
from creditdesk.domain.inventory import StockMove, moves_for_lines
from creditdesk.domain.memo import (
    MAX_VOID_REASON,
    Action,
    MemoStatus,
    Source,
    allowed_actions,
    check_allowed,
    parse_void_reason,
)
from creditdesk.domain.money import Money
from creditdesk.domain.visibility import credit_visible, may_apply_in_portal, portal_credit_source


def _line(id_: str, variant_id: str | None, quantity: int) -> SimpleNamespace:
    return SimpleNamespace(id=id_, variant_id=variant_id, quantity=quantity)


def test_i3_l2_stock_moves_only_for_variant_lines_with_sign():
    """I3/L2: lines with a variant move stock (sale -, restock +); free-text lines don't."""
    lines = [_line("l1", "v1", 3), _line("l2", None, 5), _line("l3", "v2", 1)]
    assert moves_for_lines(lines, sign=-1) == [StockMove("v1", -3, "l1"),
                                               StockMove("v2", -1, "l3")]
    assert moves_for_lines(lines, sign=1) == [StockMove("v1", 3, "l1"), StockMove("v2", 1, "l3")]
    assert moves_for_lines([_line("l4", None, 2)], sign=1) == []


def test_i4_balance_due_is_total_less_paid_less_credited():
    """I4: balance due = total - paid - credit applied, in the invoice's currency."""
    assert balance_due(total_minor=339000, paid_minor=100000, credited_minor=12000,
                       currency="USD") == Money(227000, "USD")
    assert balance_due(total_minor=5000, paid_minor=0, credited_minor=0,
                       currency="EUR") == Money(5000, "EUR")


def test_i5_invoice_status_from_stored_amounts():
    """I5: open with nothing paid or credited, partially paid, paid when nothing is due."""
    def status(paid: int, credited: int) -> InvoiceStatus:
        return invoice_status(total_minor=10000, paid_minor=paid, credited_minor=credited,
                              currency="USD")

    assert status(0, 0) is InvoiceStatus.OPEN
    assert status(2500, 0) is InvoiceStatus.PARTIALLY_PAID
    assert status(0, 2500) is InvoiceStatus.PARTIALLY_PAID
    assert status(6000, 4000) is InvoiceStatus.PAID
    assert status(9999, 0) is InvoiceStatus.PARTIALLY_PAID  # one cent still due


def test_l5_allowed_actions_match_the_transition_table_and_check_allowed():
    """L5: void only once nothing is applied; synced memos (Y3) offer nothing; and every
    action offered is one ``check_allowed`` lets through (and no other)."""
    def offered(status: MemoStatus, applied: int = 0,
                source: Source = Source.NATIVE) -> frozenset[Action]:
        return allowed_actions(status=status, source=source, applied_minor=applied)

    assert offered(MemoStatus.DRAFT) == {Action.UPDATE, Action.DELETE, Action.ISSUE,
                                         Action.VOID}
    assert offered(MemoStatus.ISSUED) == {Action.APPLY, Action.VOID}
    assert offered(MemoStatus.PARTIALLY_APPLIED, 100) == {Action.APPLY, Action.REMOVE}
    assert offered(MemoStatus.ISSUED, 100) == {Action.APPLY}
    assert offered(MemoStatus.VOID) == frozenset()
    assert offered(MemoStatus.ISSUED, source=Source.XERO) == frozenset()
    for status in MemoStatus:
        for applied in (0, 100):
            for action in Action:
                try:
                    check_allowed(status=status, action=action, number="CM-0001",
                                  source=Source.NATIVE, applied_minor=applied)
                    passes = True
                except errors.DomainError:
                    passes = False
                assert passes == (action in offered(status, applied)), (status, applied, action)


def test_l4_void_reason_is_required_in_words_and_at_most_1000_characters():
    """L4: a void needs a reason; blank or non-text is refused, long is refused, spaces go."""
    assert parse_void_reason("  Customer kept the goods  ") == "Customer kept the goods"
    assert parse_void_reason("x" * MAX_VOID_REASON) == "x" * MAX_VOID_REASON
    for bad, words in ((None, "is required"), ("   ", "is required"), (42, "is required"),
                       ("x" * (MAX_VOID_REASON + 1), "at most 1000 characters")):
        with pytest.raises(errors.ValidationError) as caught:
            parse_void_reason(bad)
        assert words in str(caught.value), bad


def _link(**changes: str) -> None:
    given = {"memo_customer_id": "cus_1", "memo_currency": "USD",
             "invoice_customer_id": "cus_1", "invoice_currency": "USD",
             "invoice_status": "open", "invoice_number": "INV-0001"} | changes
    check_memo_link(**given)


def test_c5_memo_links_only_to_own_customers_issued_invoice_in_its_currency():
    """C5: same customer, same currency, and an invoice that is issued (not draft or void)."""
    for status in ("open", "partially_paid", "paid"):
        _link(invoice_status=status)
    with pytest.raises(errors.CustomerMismatch, match="another customer"):
        _link(invoice_customer_id="cus_2")
    with pytest.raises(errors.CurrencyMismatch, match="is in EUR but the memo is in USD"):
        _link(invoice_currency="EUR")
    for status in ("draft", "void"):
        with pytest.raises(errors.InvalidState, match="only issued invoices"):
            _link(invoice_status=status)


def test_p3_credit_visible_when_the_setting_and_the_exception_disagree():
    """P2/P3: "show to all" on shows credit to everyone but the exceptions; off (or never
    set) shows it only to the exceptions."""
    assert credit_visible(show_to_all=True, is_exception=False) is True
    assert credit_visible(show_to_all=True, is_exception=True) is False
    assert credit_visible(show_to_all=False, is_exception=False) is False
    assert credit_visible(show_to_all=False, is_exception=True) is True


@pytest.mark.parametrize(("source", "system"), [
    ("quickbooks_online", "QuickBooks Online"), ("quickbooks_desktop", "QuickBooks Desktop"),
    ("sage_intacct", "Sage Intacct"), ("xero", "Xero")])
def test_y9_y3_a_synced_invoice_is_read_only_naming_its_system(source, system):
    from creditdesk.domain import invoice

    with pytest.raises(errors.ReadOnly) as refused:
        invoice.check_writable(source=source, number="1042")
    assert refused.value.detail == f"Invoice 1042 is managed in {system}; change it there."
    assert refused.value.code == "read_only"
    invoice.check_writable(source="native", number="INV-0001")  # a native one: no refusal


def test_source_filter_lists_the_sources_when_unknown():
    from creditdesk.domain.memo import Source, parse_source

    assert parse_source("xero") is Source.XERO
    with pytest.raises(errors.ValidationError) as bad:
        parse_source("sage")
    assert bad.value.errors[0].field == "source" and "sage_intacct" in bad.value.detail


def test_p5_a_customer_applies_credit_only_when_the_preference_reaches_it_and_it_sees_credit():
    """P5: the preference (exceptions get the opposite) AND credit visible (P3)."""
    for enabled, is_exception, visible, allowed in [
            (True, False, True, True), (True, True, True, False),
            (False, False, True, False), (False, True, True, True),
            (True, False, False, False), (False, True, False, False)]:
        assert may_apply_in_portal(enabled=enabled, is_exception=is_exception,
                                   credit_visible=visible) is allowed


def test_p5_the_portal_offers_credit_of_the_invoices_own_source_only():
    assert portal_credit_source("native") == "native"
    for system in ("quickbooks_online", "xero", "sage_intacct", "quickbooks_desktop"):
        assert portal_credit_source(system) == system  # Y11: written back there
    assert portal_credit_source("sage") is None
