"""E1: every state change leaves an audit event with its actor and time (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditdesk.domain import errors
from creditdesk.services.common import context
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import catalog, invoices
from creditdesk.services.read_models import audit_trail

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


class _Ticks:
    """A clock that moves one minute per change, so each event's time is its own."""

    def __init__(self) -> None:
        self.at = T0

    def tick(self) -> datetime:
        self.at += timedelta(minutes=1)
        return self.at


@pytest.fixture
def ticks(monkeypatch):
    t = _Ticks()
    monkeypatch.setattr(context.clock, "now", lambda: t.at)
    return t


def _events(db, actor, **kwargs):
    return list(reversed(audit_trail.list_events(db, actor=actor, limit=200, **kwargs).data))


def _last(db, actor):
    return audit_trail.list_events(db, actor=actor, limit=1).data[0]


def test_e1_every_memo_change_is_audited_with_actor_and_time(db, actor, ticks):
    staff = Actor(actor.partner_id, "user:ana@acme.test", "staff")
    cus = customers.create_customer(db, actor=actor, name="Globex").id
    inv = invoices.create_invoice(db, actor=actor, customer_id=cus, lines=[
        {"description": "x", "quantity": 1, "unit_price": "100.00"}]).id
    invoices.issue_invoice(db, actor=actor, invoice_id=inv)
    steps = [
        ("credit_memo.create", actor, lambda: memos.create_memo(
            db, actor=actor, customer_id=cus, reason="goodwill", amount="30.00").id),
        ("credit_memo.update", staff, lambda: memos.update_memo(
            db, actor=staff, memo_id=m, changes={"amount": "40.00", "notes": "n"}).id),
        ("credit_memo.issue", actor, lambda: memo_lifecycle.issue_memo(
            db, actor=actor, memo_id=m).id),
        ("credit_memo.apply", staff, lambda: credit.apply_credit(
            db, actor=staff, memo_id=m, invoice_id=inv, amount="15.00").credit_memo.id),
        ("credit_memo.remove", actor, lambda: credit.remove_credit(
            db, actor=actor, memo_id=m, invoice_id=inv).credit_memo.id),
        ("credit_memo.void", staff, lambda: memo_lifecycle.void_memo(
            db, actor=staff, memo_id=m, reason="not owed").id),
    ]
    m = None
    for action, who, step in steps:
        when = ticks.tick()
        m = step()
        e = _last(db, actor)
        assert (e.action, e.actor, e.at, e.entity_type, e.entity_id) == (
            action, who.name, when, "credit_memo", m), action
    trail = _events(db, actor, entity_type="credit_memo", entity_id=m)
    assert [e.action for e in trail] == [a for a, _, _ in steps]
    assert trail[1].data["fields"] == ["amount", "notes"]
    assert trail[3].data["amount"] == "15.00" and trail[3].data["invoice_id"] == inv
    assert trail[5].data["reason"] == "not owed"


def test_e1_deleting_a_draft_is_audited(db, actor, ticks):
    cus = customers.create_customer(db, actor=actor, name="Globex").id
    m = memos.create_memo(db, actor=actor, customer_id=cus, reason="other", amount="1.00")
    when = ticks.tick()
    memos.delete_memo(db, actor=actor, memo_id=m.id)
    e = _last(db, actor)
    assert (e.action, e.actor, e.at, e.entity_id, e.data) == (
        "credit_memo.delete", actor.name, when, m.id, {"number": "CM-0001"})


def test_e1_customer_product_invoice_and_payment_changes_are_audited(db, actor, ticks):
    def audited(action, entity_type, run):
        when = ticks.tick()
        entity_id = run()
        e = _last(db, actor)
        assert (e.action, e.actor, e.at, e.entity_type, e.entity_id) == (
            action, actor.name, when, entity_type, entity_id), action
        return entity_id

    cus = audited("customer.create", "customer",
                  lambda: customers.create_customer(db, actor=actor, name="Globex").id)
    audited("product.create", "product", lambda: catalog.create_product(
        db, actor=actor, name="Router",
        variants=[catalog.VariantInput(sku="R1", name="R1", price="9.00")]).id)
    inv = audited("invoice.create", "invoice", lambda: invoices.create_invoice(
        db, actor=actor, customer_id=cus,
        lines=[{"description": "x", "quantity": 1, "unit_price": "10.00"}]).id)
    audited("invoice.issue", "invoice",
            lambda: invoices.issue_invoice(db, actor=actor, invoice_id=inv).id)
    audited("invoice.payment", "invoice", lambda: invoices.record_payment(
        db, actor=actor, invoice_id=inv, amount="4.00").id)
    other = invoices.create_invoice(db, actor=actor, customer_id=cus, lines=[
        {"description": "y", "quantity": 1, "unit_price": "1.00"}]).id
    audited("invoice.void", "invoice",
            lambda: invoices.void_invoice(db, actor=actor, invoice_id=other).id)
    assert _last(db, actor).data == {"number": "INV-0002"}


def test_e1_refused_changes_leave_no_audit_event(db, actor):
    cus = customers.create_customer(db, actor=actor, name="Globex").id
    m = memos.create_memo(db, actor=actor, customer_id=cus, reason="other", amount="5.00").id
    before = _events(db, actor)
    refusals = [
        lambda: memos.create_memo(db, actor=actor, customer_id=cus, reason="nope",
                                  amount="1.00"),
        lambda: memos.update_memo(db, actor=actor, memo_id=m, changes={"amount": "-1"}),
        lambda: memo_lifecycle.void_memo(db, actor=actor, memo_id=m, reason=""),
        lambda: credit.apply_credit(db, actor=actor, memo_id=m, invoice_id="inv_x",
                                    amount="1.00"),
    ]
    for refuse in refusals:
        with pytest.raises(errors.DomainError):
            refuse()
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m)
    with pytest.raises(errors.InvalidState):
        memo_lifecycle.issue_memo(db, actor=actor, memo_id=m)
    after = _events(db, actor)
    assert after[:-1] == before and after[-1].action == "credit_memo.issue"


def test_e1_trail_is_per_entity_and_newest_first(db, actor, ticks):
    cus = customers.create_customer(db, actor=actor, name="Globex").id
    a = memos.create_memo(db, actor=actor, customer_id=cus, reason="other", amount="1.00").id
    ticks.tick()
    b = memos.create_memo(db, actor=actor, customer_id=cus, reason="other", amount="2.00").id
    ticks.tick()
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=a)
    page = audit_trail.list_events(db, actor=actor, entity_type="credit_memo", entity_id=a)
    assert [e.action for e in page.data] == ["credit_memo.issue", "credit_memo.create"]
    assert page.data[0].at > page.data[1].at
    assert [e.entity_id for e in audit_trail.list_events(db, actor=actor, entity_id=b).data] == [b]
