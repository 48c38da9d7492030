"""Credit-balance visibility (P2, P3): who among a partner's customers sees its credit.

Credit is visible to a customer when "show to all" is on and the customer is not an
exception, or when it is off and the customer is an exception. A partner that never set
it shows credit to nobody: nothing reaches a customer until the partner opts in. The rule
itself is the domain's (``domain.visibility.credit_visible``); this module loads the
setting and the exceptions it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import visibility as rules
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock

MAX_EXCEPTIONS = 10_000


@dataclass(frozen=True)
class ExceptionView:
    customer_id: str
    name: str
    email: str | None


@dataclass(frozen=True)
class Setting:
    show_to_all_customers: bool
    exceptions: list[ExceptionView]  # sorted by customer name


def _show_to_all(session: Session, partner_id: str) -> bool:
    row = session.get(models.CreditVisibility, partner_id)
    return bool(row and row.show_to_all)


def credit_visible(session: Session, partner_id: str, customer_id: str) -> bool:
    """P3: does this customer see its credit?"""
    is_exception = session.get(models.CreditVisibilityException,
                               (partner_id, customer_id)) is not None
    return rules.credit_visible(show_to_all=_show_to_all(session, partner_id),
                                is_exception=is_exception)


def audience(session: Session, partner_id: str) -> dict[str, ExceptionView]:
    """Every customer that sees its credit now, by id (P7 compares two of these)."""
    c, ex = models.Customer, models.CreditVisibilityException
    show_to_all = _show_to_all(session, partner_id)
    rows = session.execute(
        select(c.id, c.name, c.email, ex.customer_id.label("excepted"))
        .outerjoin(ex, (ex.customer_id == c.id) & (ex.partner_id == partner_id))
        .where(c.partner_id == partner_id)).all()
    return {r.id: ExceptionView(r.id, r.name, r.email) for r in rows
            if rules.credit_visible(show_to_all=show_to_all, is_exception=r.excepted is not None)}


def _setting(session: Session, partner_id: str) -> Setting:
    c, ex = models.Customer, models.CreditVisibilityException
    rows = session.execute(
        select(c.id, c.name, c.email).join(ex, ex.customer_id == c.id)
        .where(ex.partner_id == partner_id).order_by(c.name, c.id)).all()
    return Setting(_show_to_all(session, partner_id),
                   [ExceptionView(r.id, r.name, r.email) for r in rows])


def get_setting(db: Database, *, actor: Actor) -> Setting:
    with db.read() as session:
        return _setting(session, actor.partner_id)


def _write_flag(session: Session, partner_id: str, show_to_all: bool) -> None:
    row = session.get(models.CreditVisibility, partner_id, with_for_update=True)
    if row is None:
        session.add(models.CreditVisibility(partner_id=partner_id, show_to_all=show_to_all,
                                            updated_at=clock.now()))
    else:
        row.show_to_all, row.updated_at = show_to_all, clock.now()


def _check_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationError.for_field("show_to_all_customers", "must be true or false")
    return value


def replace_setting(db: Database, *, actor: Actor, show_to_all_customers: object,
                    exceptions: object) -> Setting:
    """P2 as a whole (the API's PUT): the flag and the full list of exceptions."""
    flag = _check_flag(show_to_all_customers)
    if not isinstance(exceptions, list) or not all(isinstance(i, str) for i in exceptions):
        raise errors.ValidationError.for_field("exceptions", "must be a list of customer ids")
    if len(exceptions) > MAX_EXCEPTIONS:
        raise errors.ValidationError.for_field(
            "exceptions", f"must list at most {MAX_EXCEPTIONS:,} customers")
    wanted = list(dict.fromkeys(exceptions))
    with db.write() as session:
        known = set(session.scalars(select(models.Customer.id).where(
            models.Customer.partner_id == actor.partner_id,
            models.Customer.id.in_(wanted)))) if wanted else set()
        problems = [errors.FieldError(f"exceptions[{exceptions.index(i)}]",
                                      f"no customer with id {i[:60]}")
                    for i in wanted if i not in known]
        if problems:
            raise errors.ValidationError(
                "Unknown customers in exceptions: "
                + "; ".join(f"{p.field} {p.message}" for p in problems[:5]), errors=problems)
        _write_flag(session, actor.partner_id, flag)
        ex = models.CreditVisibilityException
        session.execute(delete(ex).where(ex.partner_id == actor.partner_id))
        for cid in wanted:
            session.add(ex(partner_id=actor.partner_id, customer_id=cid, created_at=clock.now()))
        session.flush()
        audit.record(session, actor, "settings.credit_visibility", "partner", actor.partner_id,
                     {"show_to_all_customers": flag, "exceptions": wanted})
        return _setting(session, actor.partner_id)


def set_show_to_all(db: Database, *, actor: Actor, show_to_all_customers: object) -> Setting:
    flag = _check_flag(show_to_all_customers)
    with db.write() as session:
        _write_flag(session, actor.partner_id, flag)
        audit.record(session, actor, "settings.credit_visibility", "partner", actor.partner_id,
                     {"show_to_all_customers": flag})
        session.flush()
        return _setting(session, actor.partner_id)


def add_exception(db: Database, *, actor: Actor, customer_id: str) -> Setting:
    with db.write() as session:
        customer = locks.get_scoped(session, models.Customer, actor.partner_id, customer_id)
        key = (actor.partner_id, customer.id)
        if session.get(models.CreditVisibilityException, key) is None:
            session.add(models.CreditVisibilityException(
                partner_id=actor.partner_id, customer_id=customer.id, created_at=clock.now()))
            audit.record(session, actor, "settings.credit_visibility.add_exception", "partner",
                         actor.partner_id, {"customer_id": customer.id})
        session.flush()
        return _setting(session, actor.partner_id)


def remove_exception(db: Database, *, actor: Actor, customer_id: str) -> Setting:
    with db.write() as session:
        row = session.get(models.CreditVisibilityException, (actor.partner_id, customer_id))
        if row is None:
            raise errors.NotFound("That customer is not an exception.")
        session.delete(row)
        audit.record(session, actor, "settings.credit_visibility.remove_exception", "partner",
                     actor.partner_id, {"customer_id": customer_id})
        session.flush()
        return _setting(session, actor.partner_id)
