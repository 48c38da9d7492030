"""Applying available credit to new invoices (AU1): the partner's preference, off by
default, with per-customer exceptions that get the opposite of it (as P2 and P5,
``per_customer``). What it does when an invoice is issued is
``services/credit_memos/auto_apply``'s.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import per_customer

KIND = per_customer.Kind(models.AutoApply, "enabled", models.AutoApplyException, "enabled",
                         "settings.auto_apply")


Setting = per_customer.Preference  # ``value``: enabled


def applies(session: Session, partner_id: str, customer_id: str) -> bool:
    """AU1: is this customer's available credit applied to its invoices as they are issued?"""
    return per_customer.applies(session, KIND, partner_id, customer_id)


def audience(session: Session, partner_id: str) -> dict[str, per_customer.ExceptionView]:
    """Every customer whose credit is applied automatically now, by id."""
    return per_customer.audience(session, KIND, partner_id)


get_setting = partial(per_customer.get, kind=KIND)
add_exception = partial(per_customer.add_exception, kind=KIND)
remove_exception = partial(per_customer.remove_exception, kind=KIND)


def replace_setting(db: Database, *, actor: Actor, enabled: object,
                    exceptions: object) -> Setting:
    """AU1 as a whole (the API's PUT): the flag and the full list of exceptions."""
    return per_customer.replace(db, KIND, actor=actor, flag=enabled, exceptions=exceptions)


def set_enabled(db: Database, *, actor: Actor, enabled: object) -> Setting:
    return per_customer.set_value(db, KIND, actor=actor, flag=enabled)
