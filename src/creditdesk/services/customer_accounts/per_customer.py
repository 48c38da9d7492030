"""A partner preference with per-customer exceptions (P2's credit-balance visibility, P5's
applying credit in the portal): one flag per partner (none: off) and the customers that get
the opposite of it. The rule is the domain's (``domain.visibility.applies``); each
preference is a ``Kind``: its two tables, the name of its flag and of its audit entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
class Kind:
    """One preference: ``flag_model`` holds the partner's flag in ``column`` (one row per
    partner), ``exception_model`` its exceptions; ``field`` names the flag in the API and
    the audit trail, ``action`` the audit entries."""

    flag_model: Any
    column: str
    exception_model: Any
    field: str
    action: str


@dataclass(frozen=True)
class ExceptionView:
    customer_id: str
    name: str
    email: str | None


@dataclass(frozen=True)
class Preference:
    value: bool
    exceptions: list[ExceptionView]  # sorted by customer name


def value(session: Session, kind: Kind, partner_id: str) -> bool:
    row = session.get(kind.flag_model, partner_id)
    return bool(row is not None and getattr(row, kind.column))


def is_exception(session: Session, kind: Kind, partner_id: str, customer_id: str) -> bool:
    return session.get(kind.exception_model, (partner_id, customer_id)) is not None


def applies(session: Session, kind: Kind, partner_id: str, customer_id: str) -> bool:
    """Does the preference reach this customer?"""
    return rules.applies(setting=value(session, kind, partner_id),
                         is_exception=is_exception(session, kind, partner_id, customer_id))


def audience(session: Session, kind: Kind, partner_id: str) -> dict[str, ExceptionView]:
    """Every customer the preference reaches now, by id (P7 compares two of these)."""
    c, ex = models.Customer, kind.exception_model
    setting = value(session, kind, partner_id)
    rows = session.execute(
        select(c.id, c.name, c.email, ex.customer_id.label("excepted"))
        .outerjoin(ex, (ex.customer_id == c.id) & (ex.partner_id == partner_id))
        .where(c.partner_id == partner_id)).all()
    return {r.id: ExceptionView(r.id, r.name, r.email) for r in rows
            if rules.applies(setting=setting, is_exception=r.excepted is not None)}


def load(session: Session, kind: Kind, partner_id: str) -> Preference:
    c, ex = models.Customer, kind.exception_model
    rows = session.execute(
        select(c.id, c.name, c.email).join(ex, ex.customer_id == c.id)
        .where(ex.partner_id == partner_id).order_by(c.name, c.id)).all()
    return Preference(value(session, kind, partner_id),
                      [ExceptionView(r.id, r.name, r.email) for r in rows])


def get(db: Database, kind: Kind, *, actor: Actor) -> Preference:
    with db.read() as session:
        return load(session, kind, actor.partner_id)


def _write_flag(session: Session, kind: Kind, partner_id: str, flag: bool) -> None:
    row = session.get(kind.flag_model, partner_id, with_for_update=True)
    if row is None:
        session.add(kind.flag_model(partner_id=partner_id, updated_at=clock.now(),
                                    **{kind.column: flag}))
    else:
        setattr(row, kind.column, flag)
        row.updated_at = clock.now()


def _check_flag(kind: Kind, flag: object) -> bool:
    if not isinstance(flag, bool):
        raise errors.ValidationError.for_field(kind.field, "must be true or false")
    return flag


def replace(db: Database, kind: Kind, *, actor: Actor, flag: object,
            exceptions: object) -> Preference:
    """The preference as a whole (the API's PUT): the flag and the full list of exceptions;
    an id that is not one of the partner's customers is refused, naming it, and nothing
    changes."""
    checked = _check_flag(kind, flag)
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
        _write_flag(session, kind, actor.partner_id, checked)
        ex = kind.exception_model
        session.execute(delete(ex).where(ex.partner_id == actor.partner_id))
        for cid in wanted:
            session.add(ex(partner_id=actor.partner_id, customer_id=cid, created_at=clock.now()))
        session.flush()
        audit.record(session, actor, kind.action, "partner", actor.partner_id,
                     {kind.field: checked, "exceptions": wanted,
                      "exception_names": _names(session, actor.partner_id, wanted)})
        return load(session, kind, actor.partner_id)


def set_value(db: Database, kind: Kind, *, actor: Actor, flag: object) -> Preference:
    """The flag alone; the exceptions stay (and so get the opposite of the new flag)."""
    checked = _check_flag(kind, flag)
    with db.write() as session:
        _write_flag(session, kind, actor.partner_id, checked)
        audit.record(session, actor, kind.action, "partner", actor.partner_id,
                     {kind.field: checked})
        session.flush()
        return load(session, kind, actor.partner_id)


def add_exception(db: Database, kind: Kind, *, actor: Actor, customer_id: str) -> Preference:
    with db.write() as session:
        customer = locks.get_scoped(session, models.Customer, actor.partner_id, customer_id)
        if not is_exception(session, kind, actor.partner_id, customer.id):
            session.add(kind.exception_model(partner_id=actor.partner_id,
                                             customer_id=customer.id, created_at=clock.now()))
            audit.record(session, actor, f"{kind.action}.add_exception", "partner",
                         actor.partner_id, {"customer_id": customer.id,
                                            "customer_name": customer.name})
        session.flush()
        return load(session, kind, actor.partner_id)


def _names(session: Session, partner_id: str, customer_ids: list[str]) -> list[str]:
    """E1: the customers' names, in the order of their ids (the trail names them as they
    were called then)."""
    if not customer_ids:
        return []
    c = models.Customer
    names = {i: n for i, n in session.execute(select(c.id, c.name).where(
        c.partner_id == partner_id, c.id.in_(customer_ids)))}
    return [names.get(i, i) for i in customer_ids]


def remove_exception(db: Database, kind: Kind, *, actor: Actor,
                     customer_id: str) -> Preference:
    with db.write() as session:
        row = session.get(kind.exception_model, (actor.partner_id, customer_id))
        if row is None:
            raise errors.NotFound("That customer is not an exception.")
        session.delete(row)
        audit.record(session, actor, f"{kind.action}.remove_exception", "partner",
                     actor.partner_id, {"customer_id": customer_id,
                                        "customer_name": _names(session, actor.partner_id,
                                                                [customer_id])[0]})
        session.flush()
        return load(session, kind, actor.partner_id)
