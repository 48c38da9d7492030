"""Dashboard sign-in for partner users: throttling (E5), the password check, user lookups.

Throttling is two counters in ``sign_in_counters``, one per account (email) and one per
client address, each counting the attempts of a fixed WINDOW. An attempt *claims* its place
on both with an atomic UPSERT ... RETURNING before any password is checked; a claim past
either limit is refused (even with the right password) and rolled back. A claim that turns
out right is given back; a wrong one stays counted. So, however many requests run at once
and in however many processes, no more than MAX_FAILURES wrong passwords per account, and
MAX_ADDRESS_FAILURES per address, are checked in one window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.access import partners
from creditdesk.services.common import dml
from creditdesk.services.common.context import Actor, clock

MAX_FAILURES = 5  # per account (email)
MAX_ADDRESS_FAILURES = 20  # per client address: offices share one address behind NAT
WINDOW = timedelta(minutes=15)

_C = models.SignInCounter


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    email: str
    actor: Actor


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}\0{value.strip().lower()}".encode()).hexdigest()


def _upsert(insert: sqlite.Insert | postgresql.Insert) -> ReturningInsert[int]:
    """One attempt more on a counter, or the first of a new window; returns the count.
    ``insert`` is the dialect's INSERT into the counters (each has its ON CONFLICT)."""
    t = _TABLE
    stale = t.c.window_started_at <= bindparam("window_from")
    return (insert.values(key_hash=bindparam("key"), window_started_at=bindparam("now"),
                          attempts=1)
            .on_conflict_do_update(index_elements=[t.c.key_hash], set_={
                "attempts": case((stale, 1), else_=t.c.attempts + 1),
                "window_started_at": case((stale, bindparam("now")),
                                          else_=t.c.window_started_at)})
            .returning(t.c.attempts))


_TABLE = dml.table(_C)
_CLAIM = {"sqlite": _upsert(sqlite.insert(_TABLE)),
          "postgresql": _upsert(postgresql.insert(_TABLE))}
_GIVE_BACK = (update(_C).where(_C.key_hash.in_(bindparam("keys", expanding=True)),
                               _C.attempts > 0)
              .values(attempts=_C.attempts - 1))


def _keys(email: str, address: str) -> list[tuple[str, int, str]]:
    minutes = int(WINDOW.total_seconds() // 60)
    return [(_key("account", email), MAX_FAILURES,
             f"Too many failed sign-ins for this email. Wait {minutes} minutes and try "
             "again, or ask an administrator to reset your password."),
            (_key("address", address), MAX_ADDRESS_FAILURES,
             f"Too many failed sign-ins from your network address. Wait {minutes} minutes "
             "and try again.")]


def claim_attempt(db: Database, *, email: str, address: str) -> list[str]:
    """Count one password check against the account's and the address's limits, in its own
    committed transaction, before the check; TooManyAttempts (nothing counted) when either is
    spent. The account's row is always locked first, so two claims can't deadlock."""
    now = clock.now()
    with db.write_connection() as conn:
        claim = _CLAIM[conn.dialect.name]
        keys = _keys(email, address)
        for key, limit, message in keys:
            n = conn.execute(claim, {"key": key, "now": now,
                                     "window_from": now - WINDOW}).scalar_one()
            if n > limit:
                raise errors.TooManyAttempts(message)  # rolls the claims back
    return [key for key, _, _ in keys]


def give_back(db: Database, keys: list[str]) -> None:
    """A right password: its claim is not a failure."""
    with db.write_connection() as conn:
        conn.execute(_GIVE_BACK, {"keys": keys})


def sign_in(db: Database, *, email: object, password: object, address: str) -> SignedIn:
    """Claim an attempt, then check the password; TooManyAttempts, Unauthenticated or who."""
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        raise errors.ValidationError.for_field("email", "is required")
    if not isinstance(password, str) or not password or len(password) > 1024:
        raise errors.ValidationError.for_field("password", "is required")
    keys = claim_attempt(db, email=email, address=address)
    actor = partners.authenticate_user(db, email=email, password=password)
    give_back(db, keys)
    assert actor.user_id is not None
    return SignedIn(actor.user_id, email.strip().lower(), actor)


def delete_stale(db: Database) -> int:
    """The clean-up job: counters whose window has passed; how many."""
    with db.write_connection() as conn:
        return conn.execute(delete(_C).where(
            _C.window_started_at <= clock.now() - WINDOW)).rowcount


_USER = select(models.User).where(models.User.id == bindparam("user_id"),
                                  models.User.deactivated_at.is_(None))


def user_actor(db: Database, *, user_id: object) -> Actor:
    """The Actor of a signed-in user, read afresh (a deactivated user or a changed role
    counts at once)."""
    if not isinstance(user_id, str):
        raise errors.Unauthenticated("Sign in to continue.")
    with db.read() as session:
        user = session.scalars(_USER, {"user_id": user_id}).one_or_none()
    if user is None:
        raise errors.Unauthenticated("Sign in to continue.")
    return Actor(user.partner_id, f"user:{user.email}", user.role, user.id)
