"""get_invoice and get_memo read Core rows (db/read_statements.py,
db/document_statements.py) straight into the views: their answers are exactly the views
built from the ORM rows, and their scoping is get_scoped's (P4). Both databases."""

from __future__ import annotations

import pytest

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common import context
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import credit, memo_lifecycle, memos
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import views
from tests import factories as f


def _orm_invoice(db: Database, actor: Actor, invoice_id: str) -> views.InvoiceView:
    with db.read() as session:
        return invoices.load_view(session, locks.get_scoped_with_lines(
            session, models.Invoice, actor.partner_id, invoice_id))


def _orm_memo(db: Database, actor: Actor, memo_id: str) -> views.MemoView:
    with db.read() as session:
        return views.memo_view(locks.get_scoped_with_lines(
            session, models.CreditMemo, actor.partner_id, memo_id))


def test_an_invoice_with_lines_payments_and_credits_reads_as_its_orm_rows(
        db: Database, actor: Actor) -> None:
    cus, var = f.customer(db, actor), f.variant(db, actor)
    inv = invoices.create_invoice(db, actor=actor, customer_id=cus, notes="three lines", lines=[
        {"description": "Router", "quantity": 2, "unit_price": "25.00", "variant_id": var},
        {"description": "Install", "quantity": 1, "unit_price": "40.00"},
        {"description": "Cables", "quantity": 3, "unit_price": "2.50"}]).id
    draft = invoices.get_invoice(db, actor=actor, invoice_id=inv)
    assert draft == _orm_invoice(db, actor, inv)
    assert [li.description for li in draft.lines] == ["Router", "Install", "Cables"]
    invoices.issue_invoice(db, actor=actor, invoice_id=inv)
    for amount in ("10.00", "5.00"):
        invoices.record_payment(db, actor=actor, invoice_id=inv, amount=amount)
    for amount in ("7.00", "3.00"):
        memo = f.memo(db, actor, cus, amount)
        credit.apply_credit(db, actor=actor, memo_id=memo, invoice_id=inv, amount=amount)
    got = invoices.get_invoice(db, actor=actor, invoice_id=inv)
    assert got == _orm_invoice(db, actor, inv)
    assert (len(got.lines), len(got.payments), len(got.credits_applied)) == (3, 2, 2)
    assert got.balance_due.minor == 9750 - 1500 - 1000
    assert all(p.paid_at.tzinfo is not None for p in got.payments)
    assert all(c.applied_at.tzinfo is not None for c in got.credits_applied)


def test_memos_native_from_invoice_void_and_synced_read_as_their_orm_rows(
        db: Database, actor: Actor) -> None:
    cus = f.customer(db, actor)
    inv = invoices.create_invoice(db, actor=actor, customer_id=cus, lines=[
        {"description": "A", "quantity": 2, "unit_price": "10.00"},
        {"description": "B", "quantity": 1, "unit_price": "30.00"}]).id
    invoices.issue_invoice(db, actor=actor, invoice_id=inv)
    from_invoice = memos.create_from_invoice(db, actor=actor, invoice_id=inv,
                                             reason="returned_goods").id
    amount_only = f.memo(db, actor, cus, "12.00", notes="no lines")
    void = f.memo(db, actor, cus, "4.00")
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void, reason="duplicate")
    synced = _synced_memo_with_lines(db, actor, cus)
    for memo_id in (from_invoice, amount_only, void, synced):
        assert memos.get_memo(db, actor=actor, memo_id=memo_id) == _orm_memo(db, actor, memo_id)
    got = memos.get_memo(db, actor=actor, memo_id=from_invoice)
    assert [li.invoice_line_id is not None for li in got.lines] == [True, True]
    lines = memos.get_memo(db, actor=actor, memo_id=synced).lines
    assert [(li.synced, li.quantity, li.unit_price, li.variant_id) for li in lines] == [
        (True, 2, None, None), (True, "1.5", None, None), (True, None, None, None)]


def test_another_partners_document_and_odd_ids_are_not_found(
        db: Database, actor: Actor, other_actor: Actor) -> None:
    cus = f.customer(db, actor)
    inv, memo = f.invoice(db, actor, cus), f.memo(db, actor, cus)
    for bad in (inv, "inv_missing", "", None, 7):
        with pytest.raises(errors.NotFound) as exc:
            invoices.get_invoice(db, actor=other_actor, invoice_id=bad)  # type: ignore[arg-type]
        assert str(exc.value) == _orm_not_found(db, models.Invoice, other_actor, bad)
    for bad in (memo, "cm_missing", "", None):
        with pytest.raises(errors.NotFound) as exc:
            memos.get_memo(db, actor=other_actor, memo_id=bad)  # type: ignore[arg-type]
        assert str(exc.value) == _orm_not_found(db, models.CreditMemo, other_actor, bad)


def _orm_not_found(db: Database, model: type[models.Base], actor: Actor, row_id: object) -> str:
    with pytest.raises(errors.NotFound) as exc, db.read() as session:
        locks.get_scoped(session, model, actor.partner_id, row_id)
    return str(exc.value)


def _synced_memo_with_lines(db: Database, actor: Actor, customer_id: str) -> str:
    """A memo as the accounting sync stores it, with lines as the system reports them."""
    now = context.clock.now()
    memo_id = context.new_id("cm")
    with db.write() as s:
        s.add(models.CreditMemo(
            id=memo_id, partner_id=actor.partner_id, customer_id=customer_id,
            number="QB-77", currency="USD", reason="other", status="issued",
            total_minor=2500, applied_minor=0, source="quickbooks_online",
            external_id=memo_id, created_at=now, updated_at=now))
        s.flush()
        for position, (quantity, amount) in enumerate([("2", 1000), ("1.5", 1500),
                                                       (None, 0)]):
            s.add(models.CreditMemoLine(
                id=context.new_id("cml"), partner_id=actor.partner_id,
                credit_memo_id=memo_id, position=position, description=f"Synced {position}",
                quantity=None, unit_price_minor=None, amount_minor=amount, synced=True,
                reported_quantity=quantity))
    return memo_id
