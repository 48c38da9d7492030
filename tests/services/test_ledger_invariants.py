"""Accounting and inventory invariants J1-J3 through a whole business day (both databases).

``factories.assert_books`` states the three rules; these tests drive every kind of change
and check them after each step, plus the figures they should arrive at.
"""

from __future__ import annotations

import pytest

from creditdesk.domain.money import Money
from creditdesk.services.accounting import ledger
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.invoicing import catalog, invoices
from tests import factories as f


def _ar(db, actor, currency="USD"):
    tb = ledger.trial_balance(db, actor=actor, currency=currency)
    return next(a for a in tb.accounts if a.code == "1100").balance


def _stock(db, actor, variant_id):
    return catalog.get_variant(db, actor=actor, variant_id=variant_id).stock_on_hand


def test_j1_every_entry_and_the_trial_balance_balance(db, actor):
    cus = f.customer(db, actor)
    inv = f.invoice(db, actor, cus, "120.00")
    invoices.record_payment(db, actor=actor, invoice_id=inv, amount="20.00")
    m = f.memo(db, actor, cus, "30.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason="typo")
    entries = ledger.list_entries(db, actor=actor).data
    assert len(entries) == 4
    for e in entries:
        assert len(e.lines) == 2
        assert sum(x.debit.minor for x in e.lines) == sum(x.credit.minor for x in e.lines) > 0
    tb = ledger.trial_balance(db, actor=actor)
    assert tb.total_debit == tb.total_credit == Money(20000, "USD")
    balances = {a.code: a.balance.minor for a in tb.accounts}
    assert balances == {"1000": 2000, "1100": 10000, "2200": 0, "4000": -12000, "4900": 0}
    assert sum(balances.values()) == 0


def test_j1_trial_balance_is_per_currency(db, actor):
    usd, eur = f.customer(db, actor), f.customer(db, actor, "Euro", currency="EUR")
    f.invoice(db, actor, usd, "10.00")
    f.invoice(db, actor, eur, "7.00")
    f.memo(db, actor, eur, "2.00")
    assert _ar(db, actor, "USD") == Money(1000, "USD")
    assert _ar(db, actor, "EUR") == Money(500, "EUR")
    for cur in ("USD", "EUR"):
        tb = ledger.trial_balance(db, actor=actor, currency=cur)
        assert tb.total_debit == tb.total_credit


def test_j2_receivable_is_invoice_balances_less_unapplied_credit(db, actor):
    cus = f.customer(db, actor)
    a, b = f.invoice(db, actor, cus, "100.00"), f.invoice(db, actor, cus, "50.00")
    f.invoice(db, actor, cus, "999.00", issue=False)  # a draft is not receivable
    m = f.memo(db, actor, cus, "80.00")
    f.memo(db, actor, cus, "5.00", issue=False)  # nor is a draft memo credit
    credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=a, amount="60.00")
    invoices.record_payment(db, actor=actor, invoice_id=b, amount="10.00")
    # balances due 40 + 40, unapplied credit 20
    assert _ar(db, actor) == Money(6000, "USD")
    f.assert_books(db, actor)
    credit.apply_credit(db, actor=actor, memo_id=m, invoice_id=b, amount="20.00")
    assert _ar(db, actor) == Money(6000, "USD")  # applying moves no money (A4)
    f.assert_books(db, actor)


def test_j3_stock_on_hand_is_the_sum_of_inventory_activities(db, actor):
    cus = f.customer(db, actor)
    var = f.variant(db, actor, stock=20)
    inv = f.invoice(db, actor, cus, "10.00", variant_id=var, quantity=5)
    m = memos.create_from_invoice(db, actor=actor, invoice_id=inv, reason="returned_goods",
                                  lines=[{"description": "back", "quantity": 2,
                                          "unit_price": "10.00", "variant_id": var}])
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id)
    acts = ledger.list_activities(db, actor=actor, variant_id=var).data
    assert sorted((a.kind, a.quantity) for a in acts) == [
        ("credit_memo_restock", 2), ("opening_stock", 20), ("sale", -5)]
    assert _stock(db, actor, var) == 17 == sum(a.quantity for a in acts)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=m.id, reason="not returned after all")
    assert _stock(db, actor, var) == 15
    f.assert_books(db, actor, variant_ids=(var,))


@pytest.mark.parametrize("currency", ["USD", "JPY"])
def test_j1_j2_j3_hold_after_every_step_of_a_mixed_day(db, actor, currency):
    def amt(usd: str) -> str:  # the same figures in a currency without minor units
        return usd if currency == "USD" else usd.replace(".", "")

    cus = f.customer(db, actor, currency=currency)
    other = f.customer(db, actor, "Initech", currency=currency)
    v1, v2 = f.variant(db, actor, "SKU-A", stock=50), f.variant(db, actor, "SKU-B", stock=5)

    def check():
        f.assert_books(db, actor, currency, (v1, v2))

    inv1 = f.invoice(db, actor, cus, amt("40.00"), variant_id=v1, quantity=3)
    check()
    inv2 = invoices.create_invoice(db, actor=actor, customer_id=cus, lines=[
        {"description": "B", "quantity": 2, "unit_price": amt("15.00"), "variant_id": v2},
        {"description": "Hours", "quantity": 4, "unit_price": amt("12.50")}]).id
    invoices.issue_invoice(db, actor=actor, invoice_id=inv2)
    check()
    inv3 = f.invoice(db, actor, other, amt("70.00"))
    check()
    invoices.record_payment(db, actor=actor, invoice_id=inv1, amount=amt("20.00"))
    check()
    ret = memos.create_from_invoice(db, actor=actor, invoice_id=inv1, reason="returned_goods",
                                    lines=[{"description": "A back", "quantity": 1,
                                            "unit_price": amt("40.00"), "variant_id": v1}]).id
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=ret)
    check()
    good = f.memo(db, actor, cus, amt("55.00"))
    check()
    credit.apply_credit(db, actor=actor, memo_id=ret, invoice_id=inv1, amount=amt("40.00"))
    check()
    credit.apply_credit(db, actor=actor, memo_id=good, invoice_id=inv2, amount=amt("30.00"))
    credit.apply_credit(db, actor=actor, memo_id=good, invoice_id=inv1, amount=amt("25.00"))
    check()
    credit.remove_credit(db, actor=actor, memo_id=good, invoice_id=inv1)
    check()
    invoices.record_payment(db, actor=actor, invoice_id=inv1, amount=amt("60.00"))
    check()
    dmg = memos.create_from_invoice(db, actor=actor, invoice_id=inv2, reason="damaged_goods",
                                    lines=[{"description": "B broken", "quantity": 2,
                                            "unit_price": amt("15.00"), "variant_id": v2}]).id
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=dmg)
    check()
    memo_lifecycle.void_memo(db, actor=actor, memo_id=dmg, reason="wrong invoice")
    check()
    invoices.void_invoice(db, actor=actor, invoice_id=inv3)
    check()
    credit.remove_credit(db, actor=actor, memo_id=good, invoice_id=inv2)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=good, reason="not owed")
    check()
    # the day's net figures: 120 + 80 receivable less 80 paid less the 40 return
    assert _ar(db, actor, currency).minor == int(amt("80.00").replace(".", ""))
    assert (_stock(db, actor, v1), _stock(db, actor, v2)) == (48, 3)
    statuses = {i.id: i.status for i in invoices.list_invoices(db, actor=actor).data}
    assert statuses == {inv1: "paid", inv2: "open", inv3: "void"}
