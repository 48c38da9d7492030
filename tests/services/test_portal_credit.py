"""P5 at the service layer, on SQLite and PostgreSQL: the preference (off by default,
exceptions get the opposite, unknown ids refused), what the portal offers on an invoice,
and the customer's own application (origin ``portal``, audited as the customer's), with
its preview rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.credit_memos import memos, portal_credit
from creditdesk.services.customer_accounts import portal_credit_setting as setting
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import preview
from tests import factories


@pytest.fixture
def books(db, actor):
    """Wayne with a $120 invoice, two USD memos ($30, $200) and a EUR memo; credit shown to
    all and applying it in the portal allowed for all."""
    cid = factories.customer(db, actor, "Wayne Enterprises")
    inv = factories.invoice(db, actor, cid, "120.00")
    small = factories.memo(db, actor, cid, "30.00")
    big = factories.memo(db, actor, cid, "200.00")
    euro = factories.memo(db, actor, cid, "15.00", currency="EUR")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    setting.set_enabled(db, actor=actor, enabled=True)
    return {"customer": cid, "invoice": inv, "small": small, "big": big, "euro": euro,
            "who": PortalCustomer(actor.partner_id, cid, "Wayne Enterprises")}


def _may(db, actor, cid) -> bool:
    with db.read() as session:
        return setting.may_apply(session, actor.partner_id, cid)


def test_p5_off_by_default_and_exceptions_get_the_opposite(db, actor):
    a, b = factories.customer(db, actor, "Acme"), factories.customer(db, actor, "Bolt")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    assert setting.get_setting(db, actor=actor) == setting.Setting(False, [])
    assert not _may(db, actor, a)
    setting.replace_setting(db, actor=actor, enabled=False, exceptions=[b])
    assert (_may(db, actor, a), _may(db, actor, b)) == (False, True)
    s = setting.replace_setting(db, actor=actor, enabled=True, exceptions=[b])
    assert s.value and [e.name for e in s.exceptions] == ["Bolt"]
    assert (_may(db, actor, a), _may(db, actor, b)) == (True, False)
    # P3: hidden credit is never offered, whatever the preference says.
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True, exceptions=[a])
    assert not _may(db, actor, a)


def test_p5_unknown_or_other_partners_customers_are_refused_naming_them(db, actor,
                                                                       other_actor):
    mine = factories.customer(db, actor, "Acme")
    theirs = factories.customer(db, other_actor, "Theirs")
    setting.replace_setting(db, actor=actor, enabled=True, exceptions=[mine])
    with pytest.raises(errors.ValidationError) as caught:
        setting.replace_setting(db, actor=actor, enabled=False,
                                exceptions=[mine, theirs, "cus_nope"])
    assert theirs in caught.value.detail and "cus_nope" in caught.value.detail
    assert [e.field for e in caught.value.errors] == ["exceptions[1]", "exceptions[2]"]
    now = setting.get_setting(db, actor=actor)  # nothing changed
    assert now.value and [e.customer_id for e in now.exceptions] == [mine]
    # P2's visibility is a preference of its own: untouched.
    assert visibility.get_setting(db, actor=actor).exceptions == []


def test_p5_changes_are_audited(db, actor):
    cid = factories.customer(db, actor, "Acme")
    setting.replace_setting(db, actor=actor, enabled=True, exceptions=[cid])
    setting.remove_exception(db, actor=actor, customer_id=cid)
    setting.add_exception(db, actor=actor, customer_id=cid)
    with db.read() as session:
        events = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action.like("settings.portal_credit_application%"))
            .order_by(models.AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [
        ("settings.portal_credit_application", actor.name),
        ("settings.portal_credit_application.remove_exception", actor.name),
        ("settings.portal_credit_application.add_exception", actor.name)]
    assert {k: events[0].data[k] for k in ("enabled", "exceptions")} == {
        "enabled": True, "exceptions": [cid]}


def test_p5_offers_the_customers_memos_of_the_invoices_currency_with_a_default(db, actor,
                                                                            books):
    o = portal_credit.offer(db, who=books["who"], invoice_id=books["invoice"])
    assert o is not None and o.balance_due.to_str() == "120.00"
    offered = {m.id: (m.remaining.to_str(), m.suggested.to_str()) for m in o.memos}
    assert offered == {books["small"]: ("30.00", "30.00"),  # min(remaining, balance due)
                       books["big"]: ("200.00", "120.00")}
    setting.set_enabled(db, actor=actor, enabled=False)
    assert portal_credit.offer(db, who=books["who"], invoice_id=books["invoice"]) is None


def test_p5_the_customers_application_is_its_own_with_origin_portal(db, actor, books):
    done = portal_credit.apply(db, who=books["who"], invoice_id=books["invoice"],
                               memo_id=books["big"], amount="100.00")
    who = f"customer:{books['customer']}"
    assert done.invoice.balance_due.to_str() == "20.00"
    assert done.credit_memo.remaining_amount.to_str() == "100.00"
    with db.read() as session:
        row = session.get(models.CreditApplication, done.application.id)
        event = session.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "credit_memo.apply")).one()
    assert (row.origin, row.applied_by, row.status) == ("portal", who, "applied")
    assert event.actor == who and event.entity_id == books["big"]


def test_p5_a_partners_own_application_stays_origin_user(db, actor, books):
    from creditdesk.services.credit_memos import credit
    done = credit.apply_credit(db, actor=actor, memo_id=books["small"],
                               invoice_id=books["invoice"], amount="1.00")
    with db.read() as session:
        assert session.get(models.CreditApplication, done.application.id).origin == "user"


def test_p5_refusals(db, actor, books, other_actor):
    who, inv = books["who"], books["invoice"]
    with pytest.raises(errors.ExceedsInvoiceBalance):  # A2, in the use case's words
        portal_credit.apply(db, who=who, invoice_id=inv, memo_id=books["big"], amount="150")
    with pytest.raises(errors.NotFound):  # another currency: not offered
        portal_credit.apply(db, who=who, invoice_id=inv, memo_id=books["euro"], amount="1")
    other = factories.customer(db, actor, "Other")
    theirs = factories.memo(db, actor, other, "50.00")
    with pytest.raises(errors.NotFound) as caught:  # another customer's memo: nothing said
        portal_credit.apply(db, who=who, invoice_id=inv, memo_id=theirs, amount="1")
    assert memos.get_memo(db, actor=actor, memo_id=theirs).number not in caught.value.detail
    setting.set_enabled(db, actor=actor, enabled=False)
    with pytest.raises(errors.Forbidden):
        portal_credit.apply(db, who=who, invoice_id=inv, memo_id=books["big"], amount="1")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=False)
    with pytest.raises(errors.NotFound):  # P3: hidden credit is a page that isn't there
        portal_credit.apply(db, who=who, invoice_id=inv, memo_id=books["big"], amount="1")
    assert invoices.get_invoice(db, actor=actor, invoice_id=inv).balance_due.to_str() == "120.00"


def test_p5_the_preview_is_the_real_apply_rolled_back(db, actor, books):
    p = preview.portal_apply(db, who=books["who"], memo_id=books["small"],
                             invoice_id=books["invoice"], amount="30.00")
    assert p.invoice.balance_due.to_str() == "90.00"
    assert p.credit_memo.remaining_amount.to_str() == "0.00"
    assert [(m.currency, m.to_str()) for m in p.portal.available_credit] == [
        ("EUR", "15.00"), ("USD", "200.00")]  # what the customer would see left
    assert invoices.get_invoice(db, actor=actor, invoice_id=books["invoice"]
                                ).balance_due.to_str() == "120.00"
    with db.read() as session:
        assert session.scalars(select(models.CreditApplication)).all() == []
    setting.set_enabled(db, actor=actor, enabled=False)
    with pytest.raises(errors.Forbidden):  # the preview refuses as the real thing does
        preview.portal_apply(db, who=books["who"], memo_id=books["small"],
                             invoice_id=books["invoice"], amount="30.00")


def test_p5_a_synced_invoice_is_offered_no_native_credit(db, actor, books):
    """Native credit goes to native invoices only (Y11): a synced invoice is offered only
    its own system's credit — here none — and a forged apply of native credit is refused,
    nothing applied. (Synced credit to a synced invoice: tests/web/test_portal_apply_credit.)"""
    from creditdesk.services.common.context import clock, new_id
    with db.write() as session:  # as a sync stores one (Y9), until its upsert lands here
        synced = models.Invoice(
            id=new_id("inv"), partner_id=actor.partner_id, customer_id=books["customer"],
            number="1001", currency="USD", status="open", total_minor=50_00,
            source="quickbooks_online", external_id="qbo-1001", created_at=clock.now(),
            updated_at=clock.now())
        session.add(synced)
    offer = portal_credit.offer(db, who=books["who"], invoice_id=synced.id)
    assert offer is not None and offer.memos == []
    with pytest.raises(errors.NotFound):
        portal_credit.apply(db, who=books["who"], invoice_id=synced.id,
                            memo_id=books["small"], amount="1.00")
