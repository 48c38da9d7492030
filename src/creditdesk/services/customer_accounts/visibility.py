"""Credit-balance visibility (P2, P3): who among a partner's customers sees its credit.

Credit is visible to a customer when "show to all" is on and the customer is not an
exception, or when it is off and the customer is an exception. A partner that never set
it shows credit to nobody: nothing reaches a customer until the partner opts in. The rule
itself is the domain's (``domain.visibility.credit_visible``); the setting is a preference
with per-customer exceptions (``per_customer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import visibility as rules
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import per_customer

MAX_EXCEPTIONS = per_customer.MAX_EXCEPTIONS
KIND = per_customer.Kind(models.CreditVisibility, "show_to_all",
                         models.CreditVisibilityException, "show_to_all_customers",
                         "settings.credit_visibility")
ExceptionView = per_customer.ExceptionView
HIDDEN = "There is nothing at this path."  # P3: what hidden credit answers, as a 404 would


@dataclass(frozen=True)
class Setting:
    show_to_all_customers: bool
    exceptions: list[ExceptionView]  # sorted by customer name


def _setting(p: per_customer.Preference) -> Setting:
    return Setting(p.value, p.exceptions)


def credit_visible(session: Session, partner_id: str, customer_id: str) -> bool:
    """P3: does this customer see its credit?"""
    return rules.credit_visible(
        show_to_all=per_customer.value(session, KIND, partner_id),
        is_exception=per_customer.is_exception(session, KIND, partner_id, customer_id))


def audience(session: Session, partner_id: str) -> dict[str, ExceptionView]:
    """Every customer that sees its credit now, by id (P7 compares two of these)."""
    return per_customer.audience(session, KIND, partner_id)


def get_setting(db: Database, *, actor: Actor) -> Setting:
    return _setting(per_customer.get(db, KIND, actor=actor))


def replace_setting(db: Database, *, actor: Actor, show_to_all_customers: object,
                    exceptions: object) -> Setting:
    """P2 as a whole (the API's PUT): the flag and the full list of exceptions."""
    return _setting(per_customer.replace(db, KIND, actor=actor, flag=show_to_all_customers,
                                         exceptions=exceptions))


def set_show_to_all(db: Database, *, actor: Actor, show_to_all_customers: object) -> Setting:
    return _setting(per_customer.set_value(db, KIND, actor=actor, flag=show_to_all_customers))


def add_exception(db: Database, *, actor: Actor, customer_id: str) -> Setting:
    return _setting(per_customer.add_exception(db, KIND, actor=actor, customer_id=customer_id))


def remove_exception(db: Database, *, actor: Actor, customer_id: str) -> Setting:
    return _setting(per_customer.remove_exception(db, KIND, actor=actor,
                                                  customer_id=customer_id))
