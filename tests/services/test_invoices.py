"""Customers, invoices and payments, the context a memo needs: I1-I5, M3 (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import catalog, invoices
from tests import factories as f


def _entries(db, actor, source_id):
    return [[(x.account_code, x.debit.minor, x.credit.minor) for x in e.lines]
            for e in ledger.list_entries(db, actor=actor, source_id=source_id).data]


# --- I1 -----------------------------------------------------------------------------

def test_i1_customer_has_a_default_currency_used_by_its_documents(db, actor):
    assert customers.create_customer(db, actor=actor, name="Globex").currency == "USD"
    cus = f.customer(db, actor, "Euro GmbH", currency="EUR")
    assert customers.get_customer(db, actor=actor, customer_id=cus).currency == "EUR"
    inv = invoices.create_invoice(db, actor=actor, customer_id=cus, lines=[
        {"description": "x", "quantity": 1, "unit_price": "5.00"}])
    assert inv.currency == "EUR" and inv.total == Money(500, "EUR")
    m = memos.create_memo(db, actor=actor, customer_id=cus, reason="goodwill", amount="5.00")
    assert m.currency == "EUR"


@pytest.mark.parametrize(("name", "currency", "field"), [
    ("", "USD", "name"), ("  ", "USD", "name"), ("Ok", "usd", "currency"),
    ("Ok", "XXX", "currency")])
def test_i1_customer_needs_a_name_and_a_known_currency(db, actor, name, currency, field):
    with pytest.raises(errors.ValidationError) as exc:
        customers.create_customer(db, actor=actor, name=name, currency=currency)
    assert [e.field for e in exc.value.errors] == [field]
    assert customers.list_customers(db, actor=actor).data == []


def test_i1_customer_belongs_to_one_partner(db, actor, other_actor):
    cus = f.customer(db, actor)
    assert [c.id for c in customers.list_customers(db, actor=actor).data] == [cus]
    assert customers.list_customers(db, actor=other_actor).data == []


# --- I2 -----------------------------------------------------------------------------

def test_i2_invoice_has_lines_number_and_starts_as_draft(db, actor, other_actor):
    cus, var = f.customer(db, actor), f.variant(db, actor)
    inv = invoices.create_invoice(
        db, actor=actor, customer_id=cus, issue_date=date(2024, 1, 2),
        due_date=date(2024, 2, 1), lines=[
            {"description": "Router", "quantity": 2, "unit_price": "25.00", "variant_id": var},
            {"description": "Install", "quantity": 1, "unit_price": "40.00"}])
    assert (inv.number, inv.status, inv.total) == ("INV-0001", "draft", Money(9000, "USD"))
    assert [(li.description, li.quantity, li.unit_price.minor, li.amount.minor, li.variant_id)
            for li in inv.lines] == [("Router", 2, 2500, 5000, var), ("Install", 1, 4000, 4000,
                                                                       None)]
    assert (inv.issue_date, inv.due_date) == (date(2024, 1, 2), date(2024, 2, 1))
    second = f.invoice(db, actor, cus, issue=False)
    assert invoices.get_invoice(db, actor=actor, invoice_id=second).number == "INV-0002"
    other = f.invoice(db, other_actor, f.customer(db, other_actor), issue=False)
    assert invoices.get_invoice(db, actor=other_actor, invoice_id=other).number == "INV-0001"


def test_i2_invoice_lines_are_validated(db, actor):
    cus = f.customer(db, actor)
    with pytest.raises(errors.ValidationError) as exc:
        invoices.create_invoice(db, actor=actor, customer_id=cus, lines=[
            {"description": "", "quantity": 0, "unit_price": "1.001"}])
    assert {e.field for e in exc.value.errors} == {
        "lines[0].description", "lines[0].quantity", "lines[0].unit_price"}
    with pytest.raises(errors.ValidationError, match="variant"):
        invoices.create_invoice(db, actor=actor, customer_id=cus, lines=[
            {"description": "x", "quantity": 1, "unit_price": "1", "variant_id": "var_nope"}])
    assert invoices.list_invoices(db, actor=actor).data == []


# --- I3 -----------------------------------------------------------------------------

def test_i3_issue_posts_receivable_against_revenue_and_takes_stock(db, actor):
    cus, var = f.customer(db, actor), f.variant(db, actor, stock=10)
    inv = f.invoice(db, actor, cus, "25.00", variant_id=var, quantity=4, issue=False)
    assert _entries(db, actor, inv) == []
    v = invoices.issue_invoice(db, actor=actor, invoice_id=inv)
    assert v.status == "open" and v.issued_at is not None and v.issue_date is not None
    assert _entries(db, actor, inv) == [[("1100", 10000, 0), ("4000", 0, 10000)]]
    assert catalog.get_variant(db, actor=actor, variant_id=var).stock_on_hand == 6
    [act] = ledger.list_activities(db, actor=actor, source_id=inv).data
    assert (act.variant_id, act.quantity, act.kind) == (var, -4, "sale")
    f.assert_books(db, actor, variant_ids=(var,))


def test_i3_invoice_is_issued_once(db, actor):
    cus, var = f.customer(db, actor), f.variant(db, actor, stock=10)
    inv = f.invoice(db, actor, cus, "25.00", variant_id=var, quantity=4)
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState, match="only draft"):
        invoices.issue_invoice(db, actor=actor, invoice_id=inv)
    assert f.snapshot(db, actor) == before
    assert catalog.get_variant(db, actor=actor, variant_id=var).stock_on_hand == 6


def test_i3_voiding_an_issued_invoice_reverses_posting_and_stock(db, actor):
    cus, var = f.customer(db, actor), f.variant(db, actor, stock=10)
    inv = f.invoice(db, actor, cus, "25.00", variant_id=var, quantity=4)
    v = invoices.void_invoice(db, actor=actor, invoice_id=inv)
    assert v.status == "void" and v.voided_at is not None
    assert _entries(db, actor, inv)[0] == [("4000", 10000, 0), ("1100", 0, 10000)]
    assert catalog.get_variant(db, actor=actor, variant_id=var).stock_on_hand == 10
    f.assert_books(db, actor, variant_ids=(var,))


def test_i3_invoice_with_payment_or_credit_cannot_be_voided(db, actor):
    cus = f.customer(db, actor)
    paid, credited = f.invoice(db, actor, cus), f.invoice(db, actor, cus)
    invoices.record_payment(db, actor=actor, invoice_id=paid, amount="1.00")
    credit.apply_credit(db, actor=actor, memo_id=f.memo(db, actor, cus, "5.00"),
                        invoice_id=credited, amount="1.00")
    before = f.snapshot(db, actor)
    for inv in (paid, credited):
        with pytest.raises(errors.InvalidState, match="before voiding"):
            invoices.void_invoice(db, actor=actor, invoice_id=inv)
    assert f.snapshot(db, actor) == before


# --- I4, I5, M3 ---------------------------------------------------------------------

def test_i4_payment_reduces_balance_due_and_posts_cash_against_receivable(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    paid_at = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    v = invoices.record_payment(db, actor=actor, invoice_id=inv, amount="30.25",
                                paid_at=paid_at)
    assert (v.amount_paid, v.balance_due) == (Money(3025, "USD"), Money(6975, "USD"))
    assert [(p.amount, p.paid_at) for p in v.payments] == [(Money(3025, "USD"), paid_at)]
    [entry] = ledger.list_entries(db, actor=actor, source_type="payment").data
    assert [(x.account_code, x.debit.minor, x.credit.minor) for x in entry.lines] == [
        ("1000", 3025, 0), ("1100", 0, 3025)]
    assert entry.date == date(2025, 1, 15)
    f.assert_books(db, actor)


def test_i4_balance_due_is_total_less_payments_less_credit(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    invoices.record_payment(db, actor=actor, invoice_id=inv, amount="10.00")
    invoices.record_payment(db, actor=actor, invoice_id=inv, amount="20.00")
    credit.apply_credit(db, actor=actor, memo_id=f.memo(db, actor, cus, "15.00"),
                        invoice_id=inv, amount="15.00")
    v = invoices.get_invoice(db, actor=actor, invoice_id=inv)
    assert (v.total, v.amount_paid, v.credit_applied, v.balance_due) == (
        Money(10000, "USD"), Money(3000, "USD"), Money(1500, "USD"), Money(5500, "USD"))


def test_i4_payment_cannot_exceed_balance_due(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    invoices.record_payment(db, actor=actor, invoice_id=inv, amount="60.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ExceedsInvoiceBalance, match=r"40\.00"):
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount="40.01")
    assert f.snapshot(db, actor) == before


@pytest.mark.parametrize("amount", ["0", "-5", "1.001", 2.5])
def test_i4_payment_amount_must_be_exact_and_positive(db, actor, amount):
    inv = f.invoice(db, actor, f.customer(db, actor))
    before = f.snapshot(db, actor)
    with pytest.raises(errors.ValidationError, match="amount"):
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount=amount)
    assert f.snapshot(db, actor) == before


@pytest.mark.parametrize("status", ["draft", "void", "paid"])
def test_i4_payment_only_on_open_or_partially_paid_invoices(db, actor, status):
    inv = f.invoice(db, actor, f.customer(db, actor), issue=status != "draft")
    if status == "void":
        invoices.void_invoice(db, actor=actor, invoice_id=inv)
    if status == "paid":
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount="100.00")
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState):
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount="1.00")
    assert f.snapshot(db, actor) == before


def test_i5_status_recomputed_after_every_payment_and_credit_change(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "100.00")
    m = f.memo(db, actor, cus, "60.00")
    assert invoices.get_invoice(db, actor=actor, invoice_id=inv).status == "open"
    r = credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=inv, amount="60.00")
    assert r.invoice.status == "partially_paid"
    assert invoices.record_payment(db, actor=actor, invoice_id=inv,
                                   amount="40.00").status == "paid"
    assert credit.remove_credit(db, actor=actor, memo_id=m,
                                invoice_id=inv).invoice.status == "partially_paid"


@pytest.mark.parametrize(("currency", "total", "short"), [
    ("USD", "100.00", "99.99"), ("JPY", "1000", "999"), ("KWD", "1.000", "0.999")])
def test_m3_paid_only_when_balance_is_below_one_minor_unit(db, actor, currency, total, short):
    cus = f.customer(db, actor, currency=currency)
    inv = f.invoice(db, actor, cus, total)
    v = invoices.record_payment(db, actor=actor, invoice_id=inv, amount=short)
    assert v.balance_due.minor == 1 and v.status == "partially_paid"
    v = invoices.record_payment(db, actor=actor, invoice_id=inv, amount=Money(1, currency)
                                .to_str())
    assert v.balance_due.minor == 0 and v.status == "paid"


# --- S2 lists: one page, a fixed number of reads ---------------------------------------

def _statements_of(db, fn):
    from sqlalchemy import event
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return result, len(seen)


def test_invoice_list_page_reads_payments_and_credits_once_per_page_not_per_invoice(db, actor):
    cus = f.customer(db, actor)

    def add_invoice(k: int) -> str:
        inv = f.invoice(db, actor, cus, "100.00")
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount=f"{k + 1}.00")
        credit.apply_credit(db, actor=actor, memo_id=f.memo(db, actor, cus, "10.00"),
                            invoice_id=inv, amount="10.00")
        return inv

    made = [add_invoice(k) for k in range(2)]
    _, with_two = _statements_of(db, lambda: invoices.list_invoices(db, actor=actor))
    made += [add_invoice(k) for k in range(2, 8)]
    page, with_eight = _statements_of(db, lambda: invoices.list_invoices(db, actor=actor))

    assert with_eight == with_two  # no read per invoice (was 2 more per invoice)
    by_id = {i.id: i for i in page.data}
    assert set(by_id) == set(made)
    for k, inv in enumerate(made):
        view = by_id[inv]  # each invoice has its own payment and credit, none of another's
        assert [p.amount for p in view.payments] == [Money((k + 1) * 100, "USD")]
        assert [c.amount for c in view.credits_applied] == [Money(1000, "USD")]
        assert view.balance_due == Money(10000 - (k + 1) * 100 - 1000, "USD")
