"""G5 through the service layer, on SQLite and PostgreSQL: incidents, SLA policies, the
service-issue suggestion a refresh makes, its acceptance, and what is not suggested again."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import memo_lifecycle
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import audit_trail
from creditdesk.services.suggesting import incidents, suggestions
from tests import factories

POLICY = {"availability_promised": "99.9", "bands": [
    {"below": "99.9", "credit_percent": "10"}, {"below": "99", "credit_percent": "25"}]}


def at(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def plan(db: Database, actor: Actor) -> tuple[str, str, str]:
    """A customer billed $200 for a hosted plan in March 2026: (customer, variant, invoice)."""
    cid = factories.customer(db, actor)
    vid = factories.variant(db, actor, sku="HOST-PRO", price="200.00")
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, issue_date=date(2026, 3, 1),
                                  lines=[{"description": "Hosting, March", "quantity": 1,
                                          "unit_price": "200.00", "variant_id": vid},
                                         {"description": "Setup", "quantity": 1,
                                          "unit_price": "50.00"}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    return cid, vid, inv.id


def open_service(db: Database, actor: Actor) -> list[suggestions.SuggestionView]:
    return [s for s in suggestions.list_suggestions(db, actor=actor, status="open").data
            if s.reason == "service_issue"]


def test_g5_incidents_are_recorded_listed_and_audited(db: Database, actor: Actor) -> None:
    cid, vid, _ = plan(db, actor)
    made = incidents.create_incident(db, actor=actor, started_at=at(3, 10), ended_at=at(3, 14),
                                     description=" Database failover ", customer_ids=[cid, cid],
                                     variant_ids=[vid])
    assert (made.description, made.customer_ids, made.variant_ids) == (
        "Database failover", [cid], [vid])
    everyone = incidents.create_incident(db, actor=actor, started_at=at(5), ended_at=at(6),
                                         description="Network")
    assert everyone.customer_ids == [] and everyone.variant_ids == []
    listed = incidents.list_incidents(db, actor=actor).data
    assert [i.id for i in listed] == [everyone.id, made.id]
    [event] = audit_trail.list_events(db, actor=actor, entity_type="incident",
                                      entity_id=made.id).data
    assert event.action == "incident.create" and event.data["description"] == "Database failover"


def test_g5_another_partners_ids_are_unknown(db: Database, actor: Actor,
                                            other_actor: Actor) -> None:
    theirs = factories.customer(db, other_actor)
    their_variant = factories.variant(db, other_actor, sku="THEIRS")
    for field, kwargs in (("customer_ids", {"customer_ids": [theirs]}),
                          ("variant_ids", {"variant_ids": [their_variant]})):
        with pytest.raises(errors.ValidationError) as caught:
            incidents.create_incident(db, actor=actor, started_at=at(3), ended_at=at(4),
                                      description="x", **kwargs)  # type: ignore[arg-type]
        assert caught.value.errors[0].field == field
    with pytest.raises(errors.ValidationError) as policy:
        incidents.replace_sla(db, actor=actor, policies=[{**POLICY, "variant_id": their_variant}])
    assert policy.value.errors[0].field == "policies[0].variant_id"
    incidents.create_incident(db, actor=other_actor, started_at=at(3), ended_at=at(4),
                              description="theirs")
    assert incidents.list_incidents(db, actor=actor).data == []
    assert incidents.get_sla(db, actor=actor).policies == []


def test_g5_sla_policies_replace_whole_and_read_back(db: Database, actor: Actor) -> None:
    _, vid, _ = plan(db, actor)
    saved = incidents.replace_sla(db, actor=actor, policies=[
        {**POLICY, "variant_id": vid}, {"availability_promised": "99.5", "bands": [
            {"below": "99.5", "credit_percent": "5.5"}]}])
    assert [(p.variant_id, p.availability_promised) for p in saved.policies] == [
        (None, "99.5"), (vid, "99.9")]
    assert [(b.below, b.credit_percent) for b in saved.policies[1].bands] == [
        ("99.9", "10"), ("99", "25")]
    assert incidents.get_sla(db, actor=actor) == saved
    assert incidents.replace_sla(db, actor=actor, policies=[]).policies == []
    actions = [e.action for e in audit_trail.list_events(
        db, actor=actor, entity_type="partner", entity_id=actor.partner_id).data]
    assert actions.count("settings.sla") == 2


def test_g5_refresh_suggests_the_credit_and_accept_makes_a_linked_draft(
        db: Database, actor: Actor) -> None:
    cid, vid, inv = plan(db, actor)
    incidents.replace_sla(db, actor=actor, policies=[POLICY])
    incidents.create_incident(db, actor=actor, started_at=at(3, 10), ended_at=at(3, 14),
                              description="Database failover", variant_ids=[vid])
    incidents.create_incident(db, actor=actor, started_at=at(3, 12), ended_at=at(3, 16),
                              description="Storage outage")  # overlaps: 6 h in all
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = open_service(db, actor)
    # 6 h of March's 744 h: 99.19% < 99.9 -> 10% of the $200.00 plan (not the $50 setup)
    assert (s.amount.to_str(), s.invoice_id, s.confidence) == ("20.00", inv, 1.0)
    assert "99.19%" in s.explanation and "Database failover" in s.explanation
    assert "Storage outage" in s.explanation
    memo, after = suggestions.accept(db, actor=actor, suggestion_id=s.id)
    assert (memo.status, memo.reason, memo.invoice_id, memo.total.to_str()) == (
        "draft", "service_issue", inv, "20.00")
    assert after.status == "accepted"
    # a month already credited is not suggested again, even for a new incident in it
    incidents.create_incident(db, actor=actor, started_at=at(20), ended_at=at(21),
                              description="Another outage")
    suggestions.refresh(db, actor=actor)
    assert open_service(db, actor) == []


def test_g5_dismissed_stays_dismissed_and_no_policy_no_credit(db: Database,
                                                              actor: Actor) -> None:
    cid, _, _ = plan(db, actor)
    incidents.create_incident(db, actor=actor, started_at=at(3), ended_at=at(4),
                              description="Whole day down")
    suggestions.refresh(db, actor=actor, customer_id=cid)
    assert open_service(db, actor) == []  # no SLA policy: nothing is owed
    incidents.replace_sla(db, actor=actor, policies=[POLICY])
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = open_service(db, actor)
    assert s.amount.to_str() == "50.00"  # 24 h: 96.77% < 99 -> 25%
    suggestions.dismiss(db, actor=actor, suggestion_id=s.id)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    assert open_service(db, actor) == []


def test_g5_other_partners_incidents_touch_nobody_here(db: Database, actor: Actor,
                                                       other_actor: Actor) -> None:
    cid, _, _ = plan(db, actor)
    incidents.replace_sla(db, actor=actor, policies=[POLICY])
    incidents.create_incident(db, actor=other_actor, started_at=at(3), ended_at=at(9),
                              description="Their outage")
    suggestions.refresh(db, actor=actor, customer_id=cid)
    assert open_service(db, actor) == []


def test_g5_a_hand_made_service_credit_counts_and_a_voided_one_does_not(
        db: Database, actor: Actor) -> None:
    cid, _, inv = plan(db, actor)
    incidents.replace_sla(db, actor=actor, policies=[POLICY])
    incidents.create_incident(db, actor=actor, started_at=at(3), ended_at=at(4),
                              description="Whole day down")
    by_hand = factories.memo(db, actor, cid, "30.00", reason="service_issue", invoice_id=inv)
    suggestions.refresh(db, actor=actor, customer_id=cid)
    assert open_service(db, actor) == []  # the partner already credited that invoice's month
    memo_lifecycle.void_memo(db, actor=actor, memo_id=by_hand, reason="wrong amount")
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = open_service(db, actor)
    assert s.amount.to_str() == "50.00"


def test_g5_a_voided_accepted_credit_frees_the_month_for_new_evidence(
        db: Database, actor: Actor) -> None:
    cid, _, _ = plan(db, actor)
    incidents.replace_sla(db, actor=actor, policies=[POLICY])
    incidents.create_incident(db, actor=actor, started_at=at(3, 10), ended_at=at(3, 14),
                              description="Failover")
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [s] = open_service(db, actor)
    memo, _ = suggestions.accept(db, actor=actor, suggestion_id=s.id)
    memo_lifecycle.void_memo(db, actor=actor, memo_id=memo.id, reason="redo")
    suggestions.refresh(db, actor=actor, customer_id=cid)
    assert open_service(db, actor) == []  # the same incidents: the accepted row stands
    incidents.create_incident(db, actor=actor, started_at=at(10), ended_at=at(11),
                              description="Second outage")
    suggestions.refresh(db, actor=actor, customer_id=cid)
    [again] = open_service(db, actor)  # 28 h in all: 96.23% < 99 -> 25% of $200.00
    assert again.amount.to_str() == "50.00" and "Second outage" in again.explanation
