"""C5/C6 by lines: a memo started from an invoice credits chosen lines and quantities,
never more per line than the invoice line less the other non-void memos crediting it
(drafts included), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from creditdesk.domain import errors
from creditdesk.domain.money import Money
from creditdesk.services.credit_memos import invoice_credit, memo_lifecycle, memos
from creditdesk.services.invoicing import invoices
from tests import factories as f


def _invoice(db, actor, customer_id, variant_id=None):
    """INV with line 1: 2 x $1,000.00 (variant), line 2: 3 x $130.00 (service)."""
    inv = invoices.create_invoice(db, actor=actor, customer_id=customer_id, lines=[
        {"description": "Firewall appliance", "quantity": 2, "unit_price": "1000.00",
         "variant_id": variant_id},
        {"description": "Installation hours", "quantity": 3, "unit_price": "130.00"}])
    inv = invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    return inv, [li.id for li in inv.lines]


def _remaining(db, actor, invoice_id):
    from creditdesk.db import models
    with db.read() as session:
        row = session.get(models.Invoice, invoice_id)
        return [li.remaining for li in invoice_credit.of_invoice(session, row).lines]


def test_c6_default_prefill_credits_every_line_and_records_invoice_lines(db, actor):
    cus = f.customer(db, actor)
    var = f.variant(db, actor, stock=5)
    inv, (l1, l2) = _invoice(db, actor, cus, var)
    m = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="returned_goods")
    assert [(li.invoice_line_id, li.quantity, li.variant_id) for li in m.lines] == [
        (l1, 2, var), (l2, 3, None)]
    assert m.total == Money(239000, "USD")
    assert _remaining(db, actor, inv.id) == [0, 0]


def test_c6_partial_then_a_second_partial_memo_on_the_same_invoice(db, actor):
    cus = f.customer(db, actor)
    inv, (l1, l2) = _invoice(db, actor, cus)
    first = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="returned_goods",
                                      lines=[{"invoice_line_id": l1, "quantity": 1}])
    assert [(li.description, li.quantity, li.unit_price) for li in first.lines] == [
        ("Firewall appliance", 1, Money(100000, "USD"))]
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=first.id)
    # a second, partial credit is possible: line 1 has one left, line 2 all three
    assert _remaining(db, actor, inv.id) == [1, 3]
    second = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="service_issue",
                                       lines=[{"invoice_line_id": l1, "quantity": 1},
                                              {"invoice_line_id": l2, "quantity": 2}])
    assert second.total == Money(126000, "USD")
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=second.id)
    # and the default pre-fill of a third is exactly what is left
    third = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other")
    assert [(li.invoice_line_id, li.quantity) for li in third.lines] == [(l2, 1)]


def test_c5_over_crediting_a_line_is_refused_with_a_message_per_line(db, actor):
    cus = f.customer(db, actor)
    inv, (l1, l2) = _invoice(db, actor, cus)
    first = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                      lines=[{"invoice_line_id": l2, "quantity": 2}])
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=first.id)
    with pytest.raises(errors.ExceedsInvoiceTotal) as exc:
        memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": l1, "quantity": 3},
                                         {"invoice_line_id": l2, "quantity": 2}])
    messages = {e.field: e.message for e in exc.value.errors}
    assert messages["lines[0].quantity"].startswith("Line 1: only 2 can still be credited")
    assert messages["lines[1].quantity"].startswith("Line 2: only 1 can still be credited")
    assert first.number in messages["lines[1].quantity"]
    assert "Line 2: only 1 can still be credited" in exc.value.detail
    # the same line twice in one memo counts once in total
    with pytest.raises(errors.ExceedsInvoiceTotal):
        memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": l2, "quantity": 1},
                                         {"invoice_line_id": l2, "quantity": 1}])


def test_c5_drafts_hold_their_quantity_until_edited_deleted_or_voided(db, actor):
    cus = f.customer(db, actor)
    inv, (l1, _l2) = _invoice(db, actor, cus)
    draft = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                      lines=[{"invoice_line_id": l1, "quantity": 2}])
    with pytest.raises(errors.ExceedsInvoiceTotal) as exc:
        memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": l1, "quantity": 1}])
    assert f"2 on draft {draft.number}" in exc.value.detail
    # editing the draft down gives the rest back; editing it does not count it twice
    draft = memos.update_memo(db, actor=actor, memo_id=draft.id, changes={
        "lines": [{"invoice_line_id": l1, "quantity": 1}]})
    assert draft.lines[0].invoice_line_id == l1 and draft.total == Money(100000, "USD")
    other = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                      lines=[{"invoice_line_id": l1, "quantity": 1}])
    memos.delete_memo(db, actor=actor, memo_id=other.id)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=draft.id, reason="wrong")
    assert _remaining(db, actor, inv.id) == [2, 3]


def test_c6_editing_other_fields_keeps_the_invoice_lines(db, actor):
    cus = f.customer(db, actor)
    inv, (l1, _l2) = _invoice(db, actor, cus)
    m = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": l1, "quantity": 1}])
    m = memos.update_memo(db, actor=actor, memo_id=m.id, changes={"notes": "per call"})
    assert [li.invoice_line_id for li in m.lines] == [l1]
    # unlinking the invoice while a line still credits one of its lines is refused
    with pytest.raises(errors.ValidationError) as exc:
        memos.update_memo(db, actor=actor, memo_id=m.id, changes={"invoice_id": None})
    assert exc.value.errors[0].field == "lines[0].invoice_line_id"


def test_c5_line_of_another_invoice_price_above_or_other_variant_refused(db, actor):
    cus = f.customer(db, actor)
    var = f.variant(db, actor)
    inv, (l1, _l2) = _invoice(db, actor, cus, var)
    _other, (o1, _o2) = _invoice(db, actor, cus)
    with pytest.raises(errors.ValidationError):
        memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": o1, "quantity": 1}])
    with pytest.raises(errors.ExceedsInvoiceTotal) as exc:
        memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": l1, "quantity": 1,
                                          "unit_price": "1000.01"}])
    assert "$1,000.00" in exc.value.detail
    with pytest.raises(errors.ExceedsInvoiceTotal):
        memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": l1, "quantity": 1,
                                          "variant_id": f.variant(db, actor, sku="SKU-2")}])
    # a lower price is a partial credit of the line: fine
    m = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="pricing_error",
                                  lines=[{"invoice_line_id": l1, "quantity": 2,
                                          "unit_price": "100.00"}])
    assert m.total == Money(20000, "USD")
    # a line naming an invoice line needs the memo linked to that invoice
    with pytest.raises(errors.ValidationError):
        memos.create_memo(db, actor=actor, customer_id=cus, reason="other",
                          lines=[{"invoice_line_id": l1, "quantity": 1}])


def test_c6_nothing_left_to_credit_is_said_plainly(db, actor):
    cus = f.customer(db, actor)
    inv, _ = _invoice(db, actor, cus)
    memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other")
    with pytest.raises(errors.ExceedsInvoiceTotal) as exc:
        memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other")
    assert "already credited in full" in exc.value.detail


def test_c5_issue_rechecks_the_cap(db, actor):
    """Issue checks C5 again: a draft saved before another memo took the rest is refused."""
    from sqlalchemy import update

    from creditdesk.db import models
    cus = f.customer(db, actor)
    inv, (l1, _l2) = _invoice(db, actor, cus)
    a = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  lines=[{"invoice_line_id": l1, "quantity": 2}])
    b = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="other",
                                  amount="10.00")
    with db.write() as session:  # as if b had been saved with line 1's quantity too
        session.execute(update(models.CreditMemoLine)
                        .where(models.CreditMemoLine.credit_memo_id == a.id)
                        .values(quantity=3, amount_minor=300000))
        session.execute(update(models.CreditMemo).where(models.CreditMemo.id == a.id)
                        .values(total_minor=300000))
    with pytest.raises(errors.ExceedsInvoiceTotal) as exc:
        memo_lifecycle.issue_memo(db, actor=actor, memo_id=a.id)
    assert "Line 1: only 2 can still be credited" in exc.value.detail
    assert memos.get_memo(db, actor=actor, memo_id=a.id).status == "draft"
    memo_lifecycle.void_memo(db, actor=actor, memo_id=a.id, reason="entered wrong")
    assert memo_lifecycle.issue_memo(db, actor=actor, memo_id=b.id).status == "issued"
