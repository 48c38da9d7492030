"""AU1 at the service layer, on SQLite and PostgreSQL: the preference (off by default,
exceptions get the opposite), and what issuing an invoice does with it — the customer's
available native credit in the invoice's currency, oldest memo first (issue date, then
number), up to the balance due, in the issue's own transaction; each application of origin
``automatic``, audited by ``automatic``, removable like any other; only at issue."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.domain import auto_apply as rules
from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.common import context
from creditdesk.services.credit_memos import auto_apply, credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import auto_apply_setting as setting
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import audit_trail
from tests import factories as f


def _memo(db, actor, customer_id, amount, day: date, **kw) -> str:
    return f.memo(db, actor, customer_id, amount, issue_date=day, **kw)


def _draft(db, actor, customer_id, total="100.00", **kw) -> str:
    return f.invoice(db, actor, customer_id, total, issue=False, **kw)


def _issue(db, actor, invoice_id):
    return auto_apply.issue_invoice(db, actor=actor, invoice_id=invoice_id)


def _apps(db, invoice_id) -> list[models.CreditApplication]:
    with db.read() as s:
        return list(s.scalars(select(models.CreditApplication)
                              .where(models.CreditApplication.invoice_id == invoice_id)
                              .order_by(models.CreditApplication.id)))


def _memo_view(db, actor, memo_id):
    return memos.get_memo(db, actor=actor, memo_id=memo_id)


@pytest.fixture
def wayne(db, actor):
    """Wayne with three USD memos issued on two days ($30 on 1 March, CM-0001; $50 on 1
    February, CM-0002; $40 on 1 February, CM-0003), and the preference on."""
    cid = f.customer(db, actor, "Wayne Enterprises")
    march = _memo(db, actor, cid, "30.00", date(2026, 3, 1))
    feb_2 = _memo(db, actor, cid, "50.00", date(2026, 2, 1))
    feb_3 = _memo(db, actor, cid, "40.00", date(2026, 2, 1))
    setting.set_enabled(db, actor=actor, flag=True)
    return {"customer": cid, "march": march, "feb_2": feb_2, "feb_3": feb_3}


# --- the preference ---------------------------------------------------------------------

def test_au1_preference_is_off_by_default_and_exceptions_get_the_opposite(db, actor) -> None:
    a, b = f.customer(db, actor, "A"), f.customer(db, actor, "B")
    assert setting.get_setting(db, actor=actor).value is False
    with db.read() as s:
        assert not setting.applies(s, actor.partner_id, a)
    setting.add_exception(db, actor=actor, customer_id=a)
    with db.read() as s:
        assert setting.applies(s, actor.partner_id, a)  # off, excepted: on
        assert not setting.applies(s, actor.partner_id, b)
    setting.set_enabled(db, actor=actor, flag=True)
    with db.read() as s:
        assert not setting.applies(s, actor.partner_id, a)  # on, excepted: off
        assert setting.applies(s, actor.partner_id, b)


def test_au1_preference_change_is_audited(db, actor) -> None:
    cid = f.customer(db, actor, "A")
    setting.replace_setting(db, actor=actor, flag=True, exceptions=[cid])
    events = [e for e in audit_trail.list_events(db, actor=actor, entity_type="partner").data
              if e.action.startswith("settings.auto_apply")]
    assert [(e.action, e.data) for e in events] == [
        ("settings.auto_apply", {"enabled": True, "exceptions": [cid],
                                 "exception_names": ["A"]})]


def test_au1_unknown_or_other_partners_customer_is_refused_naming_the_field(
        db, actor, other_actor) -> None:
    theirs = f.customer(db, other_actor, "Theirs")
    with pytest.raises(errors.ValidationError) as got:
        setting.replace_setting(db, actor=actor, flag=True, exceptions=[theirs])
    assert got.value.errors[0].field == "exceptions[0]"
    assert setting.get_setting(db, actor=actor).value is False


# --- the rule ------------------------------------------------------------------------------

def test_au1_off_issuing_applies_nothing(db, actor) -> None:
    cid = f.customer(db, actor)
    f.memo(db, actor, cid, "30.00")
    inv = _issue(db, actor, _draft(db, actor, cid))
    assert inv.status == "open" and inv.credit_applied.minor == 0
    assert _apps(db, inv.id) == []


def test_au1_oldest_first_by_issue_date_then_number_up_to_the_balance_due(
        db, actor, wayne) -> None:
    inv = _issue(db, actor, _draft(db, actor, wayne["customer"], "70.00"))
    # 1 February: CM-0002 ($50) then CM-0003 ($20 of $40); the March memo keeps its $30
    assert [(a.credit_memo_id, a.amount_minor) for a in _apps(db, inv.id)] == [
        (wayne["feb_2"], 5000), (wayne["feb_3"], 2000)]
    assert inv.credit_applied == Money(7000, "USD") and inv.balance_due.minor == 0
    assert inv.status == "paid"  # I5 (M3): nothing left to pay
    assert [c.credit_memo_id for c in inv.credits_applied] == [wayne["feb_2"], wayne["feb_3"]]
    feb_2, feb_3, march = (_memo_view(db, actor, wayne[k]) for k in ("feb_2", "feb_3", "march"))
    assert (feb_2.status, feb_2.remaining_amount.minor, feb_2.applied_at is not None) == (
        "applied", 0, True)  # L3
    assert (feb_3.status, feb_3.remaining_amount.minor) == ("partially_applied", 2000)
    assert (march.status, march.remaining_amount.minor) == ("issued", 3000)
    f.assert_books(db, actor)


def test_au1_credit_short_of_the_balance_leaves_the_invoice_partly_due(
        db, actor, wayne) -> None:
    inv = _issue(db, actor, _draft(db, actor, wayne["customer"], "500.00"))
    assert inv.credit_applied == Money(12000, "USD")
    assert inv.balance_due == Money(38000, "USD") and inv.status == "partially_paid"
    assert all(_memo_view(db, actor, wayne[k]).status == "applied"
               for k in ("feb_2", "feb_3", "march"))
    # the March memo last
    assert [a.credit_memo_id for a in _apps(db, inv.id)][-1] == wayne["march"]


def test_au1_each_application_is_automatic_and_audited_by_automatic(db, actor, wayne) -> None:
    inv = _issue(db, actor, _draft(db, actor, wayne["customer"], "60.00"))
    apps = _apps(db, inv.id)
    assert {(a.origin, a.applied_by, a.status) for a in apps} == {
        ("automatic", "automatic", "applied")}
    listed = credit.list_applications(db, actor=actor, memo_id=wayne["feb_2"])
    assert [a.origin for a in listed] == ["automatic"]
    trail = audit_trail.list_events(db, actor=actor, entity_type="credit_memo",
                                    entity_id=wayne["feb_3"]).data
    applied = [e for e in trail if e.action == "credit_memo.apply"]
    assert [(e.actor, e.data["amount"], e.data["origin"]) for e in applied] == [
        ("automatic", "10.00", "automatic")]
    issue = [e for e in audit_trail.list_events(db, actor=actor, entity_type="invoice",
                                                entity_id=inv.id).data
             if e.action == "invoice.issue"]
    assert [e.actor for e in issue] == [actor.name]  # the issue stays the user's


def test_au1_an_automatic_application_is_removed_like_any_other(db, actor, wayne) -> None:
    inv = _issue(db, actor, _draft(db, actor, wayne["customer"], "60.00"))
    removed = credit.remove_credit(db, actor=actor, memo_id=wayne["feb_3"], invoice_id=inv.id)
    assert removed.amount == Money(1000, "USD")
    assert removed.credit_memo.status == "issued"  # U2
    assert removed.credit_memo.remaining_amount == Money(4000, "USD")
    assert removed.invoice.balance_due == Money(1000, "USD")
    assert removed.invoice.status == "partially_paid"  # U3
    f.assert_books(db, actor)


def test_au1_only_native_credit_of_the_invoices_currency_and_customer(db, actor) -> None:
    cid, other = f.customer(db, actor, "Wayne"), f.customer(db, actor, "Stark")
    euro = f.memo(db, actor, cid, "10.00", currency="EUR")
    theirs = f.memo(db, actor, other, "10.00")
    draft = f.memo(db, actor, cid, "10.00", issue=False)
    voided = f.memo(db, actor, cid, "10.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=voided, reason="Mistake")
    synced = _synced_memo(db, actor, cid)  # the oldest, and USD: still never applied
    native = f.memo(db, actor, cid, "10.00")
    setting.set_enabled(db, actor=actor, flag=True)
    inv = _issue(db, actor, _draft(db, actor, cid))
    assert [a.credit_memo_id for a in _apps(db, inv.id)] == [native]
    for untouched in (euro, theirs, draft, voided, synced):
        assert _memo_view(db, actor, untouched).applied_amount.minor == 0


def _synced_memo(db, actor, customer_id) -> str:
    """A QuickBooks Online memo as a sync stores it, issued long ago."""
    now = context.clock.now()
    memo_id = context.new_id("cm")
    with db.write() as s:
        s.add(models.CreditMemo(
            id=memo_id, partner_id=actor.partner_id, customer_id=customer_id, number="QB-1",
            currency="USD", reason="other", status="issued", total_minor=5000,
            applied_minor=0, source="quickbooks_online", external_id=memo_id,
            issue_date=date(2020, 1, 1), created_at=now, updated_at=now))
    return memo_id


def test_au1_exceptions_get_the_opposite_at_issue(db, actor) -> None:
    on, off = f.customer(db, actor, "Excepted"), f.customer(db, actor, "Plain")
    f.memo(db, actor, on, "10.00")
    f.memo(db, actor, off, "10.00")
    setting.add_exception(db, actor=actor, customer_id=on)  # the preference is off
    assert _issue(db, actor, _draft(db, actor, on)).credit_applied.minor == 1000
    assert _issue(db, actor, _draft(db, actor, off)).credit_applied.minor == 0
    setting.set_enabled(db, actor=actor, flag=True)  # now the exception is left out
    assert _issue(db, actor, _draft(db, actor, on)).credit_applied.minor == 0
    assert _issue(db, actor, _draft(db, actor, off)).credit_applied.minor == 1000


def test_au1_only_at_invoice_issue(db, actor) -> None:
    """Not on create, payment or memo issue: an open invoice stays as it is when a memo is
    issued or when it is paid, and a draft takes nothing until it is issued."""
    cid = f.customer(db, actor)
    setting.set_enabled(db, actor=actor, flag=True)
    open_inv = _issue(db, actor, _draft(db, actor, cid))  # no credit yet
    draft = _draft(db, actor, cid)
    memo = f.memo(db, actor, cid, "25.00")  # memo issue
    invoices.record_payment(db, actor=actor, invoice_id=open_inv.id, amount="10.00")
    assert invoices.get_invoice(db, actor=actor, invoice_id=open_inv.id).credit_applied.minor == 0
    assert invoices.get_invoice(db, actor=actor, invoice_id=draft).credit_applied.minor == 0
    assert _memo_view(db, actor, memo).status == "issued"
    assert _issue(db, actor, draft).credit_applied == Money(2500, "USD")


def test_au1_a_refused_issue_applies_nothing(db, actor, wayne) -> None:
    inv = _issue(db, actor, _draft(db, actor, wayne["customer"], "10.00"))
    before = f.snapshot(db, actor)
    with pytest.raises(errors.InvalidState):
        _issue(db, actor, inv.id)  # already issued
    with pytest.raises(errors.NotFound):
        _issue(db, actor, "inv_missing")
    assert f.snapshot(db, actor) == before


def test_au1_in_the_issues_own_transaction(db, actor, wayne, monkeypatch) -> None:
    """An application that fails takes the issue back with it: nothing half done."""
    draft = _draft(db, actor, wayne["customer"], "70.00")
    real, calls = credit.apply_on, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise errors.Conflict("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(credit, "apply_on", second_fails)
    before = f.snapshot(db, actor)
    with pytest.raises(errors.Conflict):
        _issue(db, actor, draft)
    assert f.snapshot(db, actor) == before
    assert invoices.get_invoice(db, actor=actor, invoice_id=draft).status == "draft"


def test_au1_another_partner_cannot_issue_or_see(db, actor, other_actor, wayne) -> None:
    draft = _draft(db, actor, wayne["customer"])
    with pytest.raises(errors.NotFound):
        _issue(db, other_actor, draft)
    assert _apps(db, draft) == []


# --- the domain's plan ---------------------------------------------------------------------

def _c(memo_id, number, day, minor):
    return rules.Credit(memo_id, number, day, Money(minor, "USD"))


def test_au1_plan_orders_by_date_then_number_read_as_numbers() -> None:
    d = date(2026, 1, 1)
    got = rules.plan([_c("a", "CM-10000", d, 100), _c("b", "CM-9999", d, 100),
                      _c("c", "CM-0001", date(2026, 1, 2), 100)], Money(250, "USD"))
    assert [(c.memo_id, m.minor) for c, m in got] == [("b", 100), ("a", 100), ("c", 50)]


def test_au1_plan_never_exceeds_either_cap() -> None:
    d = date(2026, 1, 1)
    assert rules.plan([_c("a", "CM-1", d, 100)], Money(0, "USD")) == []
    got = rules.plan([_c("a", "CM-1", d, 100), _c("b", "CM-2", d, 0)], Money(40, "USD"))
    assert [(c.memo_id, m.minor) for c, m in got] == [("a", 40)]


def test_au1_the_audit_trail_says_automatically() -> None:
    from creditdesk.services.read_models import audit_words

    data = {"invoice_number": "INV-0007", "amount": "12.50", "currency": "USD",
            "origin": "automatic"}
    assert audit_words.describe("credit_memo.apply", data) == (
        "Applied $12.50 automatically to invoice INV-0007 as it was issued")


def test_au1_a_merged_customers_exceptions_go_with_it(db, actor) -> None:
    """Y10 with AU1 and P5: merging a customer that is an exception of either preference
    (rows that reference it) merges it; the survivor's own exceptions stay."""
    from creditdesk.services.customer_accounts import customer_sources, portal_credit_setting

    survivor, merged = f.customer(db, actor, "Wayne"), f.customer(db, actor, "Wayne Inc")
    setting.add_exception(db, actor=actor, customer_id=merged)
    setting.add_exception(db, actor=actor, customer_id=survivor)
    portal_credit_setting.add_exception(db, actor=actor, customer_id=merged)
    customer_sources.merge(db, actor=actor, customer_id=survivor, merged_customer_id=merged)
    assert [e.customer_id for e in setting.get_setting(db, actor=actor).exceptions] == [
        survivor]
    assert portal_credit_setting.get_setting(db, actor=actor).exceptions == []
