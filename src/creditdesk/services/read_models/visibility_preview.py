"""P7: who would start or stop seeing credit if the visibility setting changed.

The change is the real use case of ``services/visibility`` (the toggle, an exception added
or removed, or the whole setting replaced), run in a transaction that is rolled back
(``preview.rolled_back``); who sees credit is read before and after it in that transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.read_models import preview


@dataclass(frozen=True)
class Audience:
    """The customers whose portal would change, each list sorted by name."""

    start: list[visibility.ExceptionView]  # would start seeing their credit
    stop: list[visibility.ExceptionView]  # would stop seeing it
    setting: visibility.Setting  # the setting after the change

    @property
    def unchanged(self) -> bool:
        return not self.start and not self.stop


def _by_name(views: Iterable[visibility.ExceptionView]) -> list[visibility.ExceptionView]:
    return sorted(views, key=lambda v: (v.name.casefold(), v.customer_id))


def of(db: Database, *, actor: Actor, change: Callable[[], visibility.Setting]) -> Audience:
    with preview.rolled_back(db), db.write() as session:
        # One transaction for before, change and after: the change joins it (a savepoint).
        before = visibility.audience(session, actor.partner_id)
        setting = change()
        session.expire_all()  # the change wrote through its own session: read afresh
        after = visibility.audience(session, actor.partner_id)
    return Audience(_by_name(after[i] for i in after.keys() - before.keys()),
                    _by_name(before[i] for i in before.keys() - after.keys()), setting)


def show_to_all(db: Database, *, actor: Actor, value: object,
                clear_exceptions: bool = False) -> Audience:
    """The toggle saved as it is, or (``clear_exceptions``) with no exceptions left."""
    if clear_exceptions:
        return of(db, actor=actor, change=lambda: visibility.replace_setting(
            db, actor=actor, show_to_all_customers=value, exceptions=[]))
    return of(db, actor=actor, change=lambda: visibility.set_show_to_all(
        db, actor=actor, show_to_all_customers=value))


def add_exception(db: Database, *, actor: Actor, customer_id: str) -> Audience:
    return of(db, actor=actor, change=lambda: visibility.add_exception(
        db, actor=actor, customer_id=customer_id))


def remove_exception(db: Database, *, actor: Actor, customer_id: str) -> Audience:
    return of(db, actor=actor, change=lambda: visibility.remove_exception(
        db, actor=actor, customer_id=customer_id))
