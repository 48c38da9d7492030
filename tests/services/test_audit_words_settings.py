"""E1: the trail names what changed — the automatic-application preference (enabled or
disabled, its exceptions by customer name), a user made (email and role) and an API key
for them, a tax rate made (its components and their percentages), an invoice issued (its
total and tax) and the credit applied to it automatically (which memos, how much)."""

from __future__ import annotations

from datetime import date

from creditdesk.services.access import users
from creditdesk.services.credit_memos import auto_apply
from creditdesk.services.customer_accounts import auto_apply_setting as setting
from creditdesk.services.invoicing import invoices, tax_rates
from creditdesk.services.read_models import audit_trail
from tests import factories as f


def _said(db, actor, entity_type: str, entity_id: str | None = None) -> list[str]:
    """The entries' summaries, oldest first."""
    return [e.summary for e in reversed(audit_trail.list_events(
        db, actor=actor, entity_type=entity_type, entity_id=entity_id).data)]


def test_e1_auto_apply_preference_names_the_flag_and_the_exceptions_by_name(db, actor):
    globex, initech = f.customer(db, actor, "Globex"), f.customer(db, actor, "Initech")
    setting.replace_setting(db, actor=actor, flag=True, exceptions=[globex])
    setting.set_enabled(db, actor=actor, flag=False)
    setting.add_exception(db, actor=actor, customer_id=initech)
    setting.remove_exception(db, actor=actor, customer_id=initech)
    setting.replace_setting(db, actor=actor, flag=False, exceptions=[])
    what = "applying available credit to new invoices"
    assert [s for s in _said(db, actor, "partner") if what in s] == [
        f"Enabled {what}; exceptions (the opposite): Globex",
        f"Disabled {what}",
        f"Made Initech an exception to {what}",
        f"Initech is no longer an exception to {what}",
        f"Disabled {what}; no exceptions"]


def test_e1_user_and_their_api_key_name_email_and_role(db, actor):
    uid = users.create_user(db, actor=actor, email="ann@acme.test", password="a long secret",
                            role="admin")
    key = users.create_api_key(db, actor=actor, user_id=uid)
    assert _said(db, actor, "user", uid) == ["Added user ann@acme.test as admin"]
    assert _said(db, actor, "api_key")[-1] == (
        f"Created an API key ({key[:8]}…) acting as ann@acme.test (admin)")


def test_e1_tax_rate_names_its_components_and_their_percentages(db, actor):
    rate = tax_rates.create_tax_rate(db, actor=actor, name="A county", components=[
        {"name": "State", "rate": "6.25"}, {"name": "County", "rate": "1"}])
    assert _said(db, actor, "tax_rate", rate.id) == [
        "Added tax rate A county (7.25 %) of State 6.25 % + County 1 %"]


def test_e1_invoice_issue_names_its_total_tax_and_the_credit_applied_automatically(
        db, actor):
    cid = f.customer(db, actor, "Wayne Enterprises")
    f.memo(db, actor, cid, "50.00", issue_date=date(2026, 2, 1))
    f.memo(db, actor, cid, "40.00", issue_date=date(2026, 2, 2))
    setting.set_enabled(db, actor=actor, flag=True)
    ca = tax_rates.create_tax_rate(db, actor=actor, name="CA sales tax", rate="7.25").id
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Seats", "quantity": 1, "unit_price": "100.00", "tax_rate_id": ca}])
    issued = auto_apply.issue_invoice(db, actor=actor, invoice_id=inv.id)
    said = _said(db, actor, "invoice", inv.id)
    assert f"Issued {issued.number} for $107.25 (tax $7.25)" in said
    assert said[-1] == ("Applied $90.00 of available credit automatically as it was issued: "
                        "CM-0001 $50.00, CM-0002 $40.00")
