"""Applying credit in the portal (P5): the partner's preference, off by default, with
per-customer exceptions that get the opposite of it (as P2's visibility, ``per_customer``).

A customer may apply its own credit when the preference reaches it AND it sees its credit
(P3): the rule is the domain's (``domain.visibility.may_apply_in_portal``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import visibility as rules
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import per_customer, visibility

KIND = per_customer.Kind(models.PortalCreditApplication, "enabled",
                         models.PortalCreditApplicationException, "enabled",
                         "settings.portal_credit_application")


@dataclass(frozen=True)
class Setting:
    enabled: bool
    exceptions: list[per_customer.ExceptionView]  # sorted by customer name


def _setting(p: per_customer.Preference) -> Setting:
    return Setting(p.value, p.exceptions)


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


def get_setting(db: Database, *, actor: Actor) -> Setting:
    return _setting(per_customer.get(db, KIND, actor=actor))


def replace_setting(db: Database, *, actor: Actor, enabled: object,
                    exceptions: object) -> Setting:
    """P5 as a whole (the API's PUT): the flag and the full list of exceptions."""
    return _setting(per_customer.replace(db, KIND, actor=actor, flag=enabled,
                                         exceptions=exceptions))


def set_enabled(db: Database, *, actor: Actor, enabled: object) -> Setting:
    return _setting(per_customer.set_value(db, KIND, actor=actor, flag=enabled))


def add_exception(db: Database, *, actor: Actor, customer_id: str) -> Setting:
    return _setting(per_customer.add_exception(db, KIND, actor=actor, customer_id=customer_id))


def remove_exception(db: Database, *, actor: Actor, customer_id: str) -> Setting:
    return _setting(per_customer.remove_exception(db, KIND, actor=actor,
                                                  customer_id=customer_id))
