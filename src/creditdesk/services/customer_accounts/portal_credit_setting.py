"""Applying credit in the portal (P5): the partner's preference, off by default, with
per-customer exceptions that get the opposite of it (as P2's visibility, ``per_customer``).

A customer may apply its own credit when the preference reaches it AND it sees its credit
(P3): the rule is the domain's (``domain.visibility.may_apply_in_portal``).
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import visibility as rules
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import per_customer, visibility

KIND = per_customer.Kind(models.PortalCreditApplication, "enabled",
                         models.PortalCreditApplicationException, "enabled",
                         "settings.portal_credit_application")


Setting = per_customer.Preference  # ``value``: enabled


def may_apply(session: Session, partner_id: str, customer_id: str) -> bool:
    """P5: may this customer apply its own credit in the portal?"""
    return rules.may_apply_in_portal(
        enabled=per_customer.value(session, KIND, partner_id),
        is_exception=per_customer.is_exception(session, KIND, partner_id, customer_id),
        credit_visible=visibility.credit_visible(session, partner_id, customer_id))


def audience(session: Session, partner_id: str) -> dict[str, per_customer.ExceptionView]:
    """Every customer that may apply its credit in the portal now, by id: the preference
    reaches it and it sees its credit."""
    reached = per_customer.audience(session, KIND, partner_id)
    seeing = visibility.audience(session, partner_id)
    return {cid: view for cid, view in reached.items() if cid in seeing}


get_setting = partial(per_customer.get, kind=KIND)
add_exception = partial(per_customer.add_exception, kind=KIND)
remove_exception = partial(per_customer.remove_exception, kind=KIND)


def replace_setting(db: Database, *, actor: Actor, enabled: object,
                    exceptions: object) -> Setting:
    """P5 as a whole (the API's PUT): the flag and the full list of exceptions."""
    return per_customer.replace(db, KIND, actor=actor, flag=enabled, exceptions=exceptions)


def set_enabled(db: Database, *, actor: Actor, enabled: object) -> Setting:
    return per_customer.set_value(db, KIND, actor=actor, flag=enabled)
