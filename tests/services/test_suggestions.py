"""G1-G3 through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import audit_trail
from creditdesk.services.suggesting import suggestions
from tests import factories


def _invoice(db: Database, actor: Actor, customer_id: str, day: date) -> str:
    inv = invoices.create_invoice(db, actor=actor, customer_id=customer_id, issue_date=day,
                                  lines=[{"description": "Managed services", "quantity": 20,
                                          "unit_price": "15.00"}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    return inv.id


def duplicated_plan(db: Database, actor: Actor) -> tuple[str, str]:
    """A customer billed monthly, with the tenth month billed twice; (customer, duplicate)."""
    cid = factories.customer(db, actor)
    start = date(2025, 1, 6)
    for m in range(10):
        _invoice(db, actor, cid, start + timedelta(days=30 * m))
    return cid, _invoice(db, actor, cid, start + timedelta(days=271))


def test_g1_refresh_finds_the_duplicate_and_lists_it(db: Database, actor: Actor) -> None:
    cid, dup = duplicated_plan(db, actor)
    result = suggestions.refresh(db, actor=actor, customer_id=cid)
    assert (result.customers, result.created, result.open) == (1, 1, 1)
    page = suggestions.list_suggestions(db, actor=actor, customer_id=cid, status="open")
    [s] = page.data
    assert s.reason == "duplicate_charge" and s.invoice_id == dup
    assert s.amount.to_str() == "300.00" and s.currency == "USD"
    assert 0.55 <= s.confidence <= 1 and "repeats" in s.explanation
    again = suggestions.refresh(db, actor=actor)  # whole partner: same evidence, same row
    assert (again.created, again.open) == (0, 1)
    events = audit_trail.list_events(db, actor=actor, entity_type="customer", entity_id=cid).data
    assert events[0].action == "suggestions.refresh"


def test_g3_accept_creates_a_draft_memo_only(db: Database, actor: Actor) -> None:
    cid, dup = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = suggestions.list_suggestions(db, actor=actor).data
    memo, after = suggestions.accept(db, actor=actor, suggestion_id=s.id)
    assert memo.status == "draft" and memo.reason == "duplicate_charge"
    assert memo.invoice_id == dup and memo.total.to_str() == "300.00"
    assert memo.notes and s.explanation in memo.notes
    assert after.status == "accepted" and after.credit_memo_id == memo.id
    with pytest.raises(errors.InvalidState):
        suggestions.accept(db, actor=actor, suggestion_id=s.id)
    assert len(memos.list_memos(db, actor=actor).data) == 1
    suggestions.refresh(db, actor=actor, customer_id=cid)  # the memo covers it now
    assert suggestions.list_suggestions(db, actor=actor, status="open").data == []


def test_g3_dismissed_stays_dismissed_for_the_same_evidence(db: Database, actor: Actor) -> None:
    cid, _ = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = suggestions.list_suggestions(db, actor=actor).data
    assert suggestions.dismiss(db, actor=actor, suggestion_id=s.id).status == "dismissed"
    result = suggestions.refresh(db, actor=actor, customer_id=cid)
    assert (result.created, result.open) == (0, 0)
    [row] = suggestions.list_suggestions(db, actor=actor).data
    assert row.id == s.id and row.status == "dismissed"
    with pytest.raises(errors.InvalidState):
        suggestions.dismiss(db, actor=actor, suggestion_id=s.id)


def test_g1_other_partners_suggestions_are_not_found(db: Database, actor: Actor,
                                                     other_actor: Actor) -> None:
    cid, _ = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = suggestions.list_suggestions(db, actor=actor).data
    assert suggestions.list_suggestions(db, actor=other_actor).data == []
    with pytest.raises(errors.NotFound):
        suggestions.accept(db, actor=other_actor, suggestion_id=s.id)
    with pytest.raises(errors.NotFound):
        suggestions.refresh(db, actor=other_actor, customer_id=cid)


def test_g1_list_refuses_an_unknown_status(db: Database, actor: Actor) -> None:
    with pytest.raises(errors.ValidationError):
        suggestions.list_suggestions(db, actor=actor, status="maybe")


def test_issue16_item5_a_partner_who_dismisses_duplicates_sees_them_with_less_confidence(
        db: Database, actor: Actor) -> None:
    """Per-partner calibration: dismissals of a reason lower the next refresh's confidence
    for that reason (accepts raise it); the floor keeps the most confident ones shown."""
    first, _ = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=first)
    [s] = suggestions.list_suggestions(db, actor=actor, status="open").data
    plain = s.confidence
    suggestions.dismiss(db, actor=actor, suggestion_id=s.id)
    for _ in range(5):  # the same partner dismisses five more duplicates
        cid, _ = duplicated_plan(db, actor)
        suggestions.refresh(db, actor=actor, customer_id=cid)
        [s] = suggestions.list_suggestions(db, actor=actor, status="open").data
        suggestions.dismiss(db, actor=actor, suggestion_id=s.id)
    cid, _ = duplicated_plan(db, actor)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    shown = suggestions.list_suggestions(db, actor=actor, status="open").data
    assert all(x.confidence < plain for x in shown)
    from creditdesk.domain.suggestions import calibration

    assert calibration.for_partner(plain, (0, 6)) < plain
    assert not shown or shown[0].confidence == pytest.approx(
        calibration.for_partner(plain, (0, 6)), abs=5e-3)  # plain is rounded (4 places)
