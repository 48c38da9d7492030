"""One customer across sources (Y10): references, the email rule for unknown synced
customers, merge and unlink, with memos, invoices, credit summary and portal following."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import func, select

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.access import portal_links
from creditdesk.services.common.context import Actor
from creditdesk.services.credit_memos import credit
from creditdesk.services.customer_accounts import customer_sources, customers
from creditdesk.services.read_models import audit_trail
from tests import factories
from tests.sync_helpers import land, synced_memos


def remote(external_id: str, customer_id: str, *, name: str = "Customer 61",
           email: str | None = None, currency: str = "USD", total: int = 10000,
           remaining: int | None = None) -> base.RemoteMemo:
    return base.RemoteMemo(
        external_id=external_id, number=f"CM-{external_id}", customer_external_id=customer_id,
        customer_name=name, currency=currency, total_minor=total,
        remaining_minor=total if remaining is None else remaining,
        issue_date=date(2026, 11, 2), customer_email=email)


def refs(db: Database, actor: Actor, customer_id: str) -> list[tuple[str, str, str]]:
    return [(r.system, r.external_id, r.linked_by) for r in
            customer_sources.list_references(db, actor=actor, customer_id=customer_id)]


def customer_count(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(models.Customer)) or 0


# --- sync matching ------------------------------------------------------------------------

def test_y10_unknown_synced_customer_joins_the_one_with_the_same_billing_email(
        db: Database, actor: Actor) -> None:
    mine = customers.create_customer(db, actor=actor, name="Customer 61",
                                     email="billing@c61.test")
    land(db, actor, "quickbooks_online", [remote("q1", "61", email="Billing@C61.test")])
    land(db, actor, "xero", [remote("x1", "c61-guid", email=" billing@c61.test")])
    assert synced_memos(db, "quickbooks_online")["q1"].customer_id == mine.id
    assert synced_memos(db, "xero")["x1"].customer_id == mine.id
    assert refs(db, actor, mine.id) == [("quickbooks_online", "61", "email_rule"),
                                        ("xero", "c61-guid", "email_rule")]
    assert customer_count(db) == 1
    assert customers.get_customer(db, actor=actor, customer_id=mine.id).sources == [
        "quickbooks_online", "xero"]
    linked = audit_trail.list_events(db, actor=actor, entity_id=mine.id).data
    assert {e.action for e in linked} >= {"customer.sync_link"}
    assert any(e.data.get("external_id") == "61" and "billing email" in e.data["rule"]
               for e in linked)


def test_y10_same_email_in_another_currency_or_no_email_creates_a_customer(
        db: Database, actor: Actor) -> None:
    mine = customers.create_customer(db, actor=actor, name="Customer 61",
                                     email="billing@c61.test")
    land(db, actor, "quickbooks_online", [remote("q1", "61", email="billing@c61.test",
                                                 currency="CAD"),
                                          remote("q2", "62", email=None)])
    got = synced_memos(db, "quickbooks_online")
    assert mine.id not in {got["q1"].customer_id, got["q2"].customer_id}
    assert customer_count(db) == 3


def test_y10_two_new_records_with_one_email_in_one_page_make_one_customer(
        db: Database, actor: Actor) -> None:
    land(db, actor, "quickbooks_online", [remote("q1", "61", email="a@c61.test"),
                                          remote("q2", "610", email="A@c61.test")])
    land(db, actor, "xero", [remote("x1", "g-61", email="a@c61.test")])
    got = synced_memos(db, "quickbooks_online")
    assert got["q1"].customer_id == got["q2"].customer_id
    assert synced_memos(db, "xero")["x1"].customer_id == got["q1"].customer_id
    assert refs(db, actor, got["q1"].customer_id) == [
        ("quickbooks_online", "61", "sync"), ("quickbooks_online", "610", "email_rule"),
        ("xero", "g-61", "email_rule")]


def test_y10_a_known_reference_wins_over_the_email_rule(db: Database, actor: Actor) -> None:
    land(db, actor, "quickbooks_online", [remote("q1", "61", email="a@c61.test")])
    first = synced_memos(db, "quickbooks_online")["q1"].customer_id
    other = customers.create_customer(db, actor=actor, name="Other", email="b@c61.test")
    land(db, actor, "quickbooks_online", [remote("q2", "61", email="b@c61.test")])
    assert synced_memos(db, "quickbooks_online")["q2"].customer_id == first != other.id


def test_y10_another_partners_customer_is_never_matched_by_email(
        db: Database, actor: Actor, other_actor: Actor) -> None:
    theirs = customers.create_customer(db, actor=other_actor, name="C61", email="a@c61.test")
    land(db, actor, "quickbooks_online", [remote("q1", "61", email="a@c61.test")])
    assert synced_memos(db, "quickbooks_online")["q1"].customer_id != theirs.id


# --- merge --------------------------------------------------------------------------------

@dataclasses.dataclass
class Two:
    qbo: str  # the customer synced from QuickBooks Online (with a native invoice, a memo)
    xero: str  # the one synced from Xero


def two_copies(db: Database, actor: Actor) -> Two:
    land(db, actor, "quickbooks_online", [remote("q1", "61", total=15000)])
    land(db, actor, "xero", [remote("x1", "g-61", total=5000, remaining=2000)])
    return Two(synced_memos(db, "quickbooks_online")["q1"].customer_id,
               synced_memos(db, "xero")["x1"].customer_id)


def test_y10_merge_moves_memos_invoices_references_and_portal_links(
        db: Database, actor: Actor) -> None:
    two = two_copies(db, actor)
    invoice_id = factories.invoice(db, actor, two.xero, "80.00")
    memo_id = factories.memo(db, actor, two.xero, "30.00")
    credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
                        amount="10.00")
    link = portal_links.create_link(db, actor=actor, customer_id=two.xero)

    survivor = customer_sources.merge(db, actor=actor, customer_id=two.qbo,
                                      merged_customer_id=two.xero).customer

    assert survivor.id == two.qbo and survivor.sources == ["quickbooks_online", "xero"]
    assert refs(db, actor, two.qbo) == [("quickbooks_online", "61", "sync"),
                                        ("xero", "g-61", "admin")]
    with pytest.raises(errors.NotFound):
        customers.get_customer(db, actor=actor, customer_id=two.xero)
    summary = customers.credit_summary(db, actor=actor, customer_id=two.qbo)
    # 150.00 (QBO) + 20.00 left on the Xero note + 20.00 left on the native memo
    assert [(b.currency, b.minor) for b in summary.balances] == [("USD", 19000)]
    page = customers.list_customers(db, actor=actor).data
    assert [c.id for c in page] == [two.qbo]
    with db.read() as s:
        assert s.get_one(models.Invoice, invoice_id).customer_id == two.qbo
    assert portal_links.check_link(db, token=link.token).customer_id == two.qbo
    (event,) = [e for e in audit_trail.list_events(db, actor=actor, entity_id=two.qbo).data
                if e.action == "customer.merge"]
    assert event.data["merged_customer_id"] == two.xero
    assert event.data["moved"] == {"credit_memos": 2, "invoices": 1, "portal_links": 1,
                                   "references": ["Xero g-61"]}
    # the next sync of the merged record lands on the survivor
    land(db, actor, "xero", [remote("x2", "g-61", total=700)])
    assert synced_memos(db, "xero")["x2"].customer_id == two.qbo


def test_y10_merge_refusals(db: Database, actor: Actor, other_actor: Actor) -> None:
    a = factories.customer(db, actor, "A")
    cad = factories.customer(db, actor, "Canadian", currency="CAD")
    theirs = factories.customer(db, other_actor, "Theirs")
    with pytest.raises(errors.ValidationError, match="itself"):
        customer_sources.merge(db, actor=actor, customer_id=a, merged_customer_id=a)
    with pytest.raises(errors.NotFound):
        customer_sources.merge(db, actor=actor, customer_id=a, merged_customer_id=theirs)
    with pytest.raises(errors.NotFound):
        customer_sources.merge(db, actor=actor, customer_id=theirs, merged_customer_id=a)
    with pytest.raises(errors.CurrencyMismatch, match="CAD"):
        customer_sources.merge(db, actor=actor, customer_id=a, merged_customer_id=cad)
    staff = dataclasses.replace(actor, role="staff")
    with pytest.raises(errors.Forbidden):
        customer_sources.merge(db, actor=staff, customer_id=a, merged_customer_id=cad)
    assert customer_count(db) == 3  # nothing was merged (the other partner's included)


# --- unlink -------------------------------------------------------------------------------

def test_y10_unlink_moves_the_reference_and_its_memos_to_a_new_customer(
        db: Database, actor: Actor) -> None:
    two = two_copies(db, actor)
    customer_sources.merge(db, actor=actor, customer_id=two.qbo, merged_customer_id=two.xero)
    (xero_ref,) = [r for r in customer_sources.list_references(
        db, actor=actor, customer_id=two.qbo) if r.system == "xero"]

    new = customer_sources.unlink(db, actor=actor, customer_id=two.qbo,
                                  reference_id=xero_ref.id).customer

    assert new.id != two.qbo and new.name == "Customer 61" and new.sources == ["xero"]
    assert synced_memos(db, "xero")["x1"].customer_id == new.id
    assert synced_memos(db, "quickbooks_online")["q1"].customer_id == two.qbo
    assert refs(db, actor, two.qbo) == [("quickbooks_online", "61", "sync")]
    old_summary = customers.credit_summary(db, actor=actor, customer_id=two.qbo)
    assert [b.minor for b in old_summary.balances] == [15000]
    (event,) = [e for e in audit_trail.list_events(db, actor=actor, entity_id=two.qbo).data
                if e.action == "customer.unlink"]
    assert event.data["reference"] == "Xero g-61" and event.data["new_customer_id"] == new.id
    assert event.data["moved"] == {"credit_memos": 1}
    land(db, actor, "xero", [remote("x2", "g-61", total=700)])
    assert synced_memos(db, "xero")["x2"].customer_id == new.id


def test_y10_unlink_refusals(db: Database, actor: Actor, other_actor: Actor) -> None:
    two = two_copies(db, actor)
    (xero_ref,) = customer_sources.list_references(db, actor=actor, customer_id=two.xero)
    with pytest.raises(errors.NotFound):  # a reference of another customer
        customer_sources.unlink(db, actor=actor, customer_id=two.qbo, reference_id=xero_ref.id)
    with pytest.raises(errors.NotFound):  # another partner
        customer_sources.unlink(db, actor=other_actor, customer_id=two.xero,
                                reference_id=xero_ref.id)
    with pytest.raises(errors.Forbidden):
        customer_sources.unlink(db, actor=dataclasses.replace(actor, role="staff"),
                                customer_id=two.xero, reference_id=xero_ref.id)
    assert customer_count(db) == 2  # no customer was created


def test_y10_previews_say_what_would_move_and_change_nothing(db: Database, actor: Actor) -> None:
    two = two_copies(db, actor)
    factories.invoice(db, actor, two.xero, "80.00")
    before = factories.snapshot(db, actor)
    audits = len(audit_trail.list_events(db, actor=actor, limit=200).data)
    merge = customer_sources.merge(db, actor=actor, customer_id=two.qbo,
                                   merged_customer_id=two.xero, preview=True)
    assert (merge.other, merge.moved) == ("Customer 61", {
        "credit_memos": 1, "invoices": 1, "references": ["Xero g-61"]})
    (ref,) = customer_sources.list_references(db, actor=actor, customer_id=two.xero)
    unlink = customer_sources.unlink(db, actor=actor, customer_id=two.xero,
                                     reference_id=ref.id, preview=True)
    assert (unlink.reference, unlink.moved) == ("Xero g-61", {"credit_memos": 1})
    assert factories.snapshot(db, actor) == before
    assert len(audit_trail.list_events(db, actor=actor, limit=200).data) == audits
    assert customer_count(db) == 2
