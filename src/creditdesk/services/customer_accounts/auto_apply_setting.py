"""Applying available credit to new invoices (AU1): the partner's preference, off by
default, with per-customer exceptions that get the opposite of it (as P2 and P5,
``per_customer``). What it does when an invoice is issued is
``services/credit_memos/auto_apply``'s.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import Session

from creditdesk.db import models
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


# The preference as the API and the tests change it (``per_customer``'s, for this KIND):
# ``replace_setting(db, actor=, flag=, exceptions=)``, ``set_enabled(db, actor=, flag=)``.
get_setting = partial(per_customer.get, kind=KIND)
replace_setting = partial(per_customer.replace, kind=KIND)
set_enabled = partial(per_customer.set_value, kind=KIND)
add_exception = partial(per_customer.add_exception, kind=KIND)
remove_exception = partial(per_customer.remove_exception, kind=KIND)
