"""P7: who would start or stop seeing credit if the visibility setting changed; the same
for who may apply its credit in the portal (P5), whose credit new invoices take (AU1), or
any preference with per-customer
exceptions (a ``Subject``: the preference and who it reaches).

The change is the real use case of ``per_customer`` (the toggle, an exception added or
removed, or the whole setting replaced), run in a transaction that is rolled back
(``preview.rolled_back``); who is reached is read before and after it in that transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import (
    auto_apply_setting,
    per_customer,
    portal_credit_setting,
    visibility,
)
from creditdesk.services.read_models import preview

View = per_customer.ExceptionView


@dataclass(frozen=True)
class Subject:
    """A preference and who it reaches (by id), as its page previews it."""

    kind: per_customer.Kind
    reached: Callable[[Session, str], dict[str, View]]


VISIBILITY = Subject(visibility.KIND, visibility.audience)  # who sees credit (P7)
PORTAL_CREDIT = Subject(portal_credit_setting.KIND,  # who may apply it in the portal (P5)
                        portal_credit_setting.audience)
AUTO_APPLY = Subject(auto_apply_setting.KIND,  # whose credit new invoices take (AU1)
                     auto_apply_setting.audience)


@dataclass(frozen=True)
class Audience:
    """The customers whose portal would change, each list sorted by name."""

    start: list[View]  # would start seeing their credit (or being able to apply it)
    stop: list[View]  # would stop
    setting: per_customer.Preference  # the preference after the change

    @property
    def unchanged(self) -> bool:
        return not self.start and not self.stop


def _by_name(views: Iterable[View]) -> list[View]:
    return sorted(views, key=lambda v: (v.name.casefold(), v.customer_id))


def of(db: Database, *, actor: Actor, change: Callable[[], per_customer.Preference],
       subject: Subject = VISIBILITY) -> Audience:
    with preview.rolled_back(db), db.write() as session:
        # One transaction for before, change and after: the change joins it (a savepoint).
        before = subject.reached(session, actor.partner_id)
        setting = change()
        session.expire_all()  # the change wrote through its own session: read afresh
        after = subject.reached(session, actor.partner_id)
    return Audience(_by_name(after[i] for i in after.keys() - before.keys()),
                    _by_name(before[i] for i in before.keys() - after.keys()), setting)


def show_to_all(db: Database, *, actor: Actor, value: object,
                clear_exceptions: bool = False, subject: Subject = VISIBILITY) -> Audience:
    """The toggle saved as it is, or (``clear_exceptions``) with no exceptions left."""
    kind = subject.kind
    if clear_exceptions:
        return of(db, actor=actor, subject=subject, change=lambda: per_customer.replace(
            db, kind, actor=actor, flag=value, exceptions=[]))
    return of(db, actor=actor, subject=subject, change=lambda: per_customer.set_value(
        db, kind, actor=actor, flag=value))


def add_exception(db: Database, *, actor: Actor, customer_id: str,
                  subject: Subject = VISIBILITY) -> Audience:
    return of(db, actor=actor, subject=subject, change=lambda: per_customer.add_exception(
        db, subject.kind, actor=actor, customer_id=customer_id))


def remove_exception(db: Database, *, actor: Actor, customer_id: str,
                     subject: Subject = VISIBILITY) -> Audience:
    return of(db, actor=actor, subject=subject, change=lambda: per_customer.remove_exception(
        db, subject.kind, actor=actor, customer_id=customer_id))
