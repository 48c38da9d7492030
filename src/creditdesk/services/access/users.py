"""A partner's users (E4): the list, adding, roles, deactivation, ending sessions, and a
user's own password. Every change is audited (E1) in its own transaction.

A partner always keeps an active administrator: a change that would leave none is refused.
Such changes lock the partner's row first, so two administrators demoting each other at
the same moment can't both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.access import partners, sign_in, web_sessions
from creditdesk.services.common import audit, dml
from creditdesk.services.common.context import Actor, clock, new_id, require_admin

ROLES = ("admin", "staff")
_U = models.User


@dataclass(frozen=True)
class UserView:
    id: str
    email: str
    role: str
    active: bool
    created_at: datetime
    sessions: int  # live dashboard sessions


def _user_id(actor: Actor) -> str:
    """The signed-in user behind the actor (an API key or a job has none)."""
    if actor.user_id is None:
        raise errors.Forbidden("Only a signed-in user can change their own account.")
    return actor.user_id



def _check_role(role: object) -> str:
    if role not in ROLES:
        raise errors.ValidationError.for_field("role", "must be admin or staff")
    return str(role)


def _check_password(password: object, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < partners.MIN_PASSWORD:
        raise errors.ValidationError.for_field(
            field, f"must be at least {partners.MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise errors.ValidationError.for_field(field, "must be at most 1024 characters")
    return password


def _views(session: Session, rows: list[models.User]) -> list[UserView]:
    live = web_sessions.count_live(session, user_ids=[u.id for u in rows])
    return [UserView(u.id, u.email, u.role, u.deactivated_at is None, u.created_at,
                     live.get(u.id, 0)) for u in rows]


def list_users(db: Database, *, actor: Actor) -> list[UserView]:
    """The partner's users, administrators first, then by email."""
    require_admin(actor, "manage users")
    with db.read() as session:
        return _views(session, list(session.scalars(
            select(_U).where(_U.partner_id == actor.partner_id).order_by(_U.role, _U.email))))


def me(db: Database, *, actor: Actor) -> UserView:
    """The signed-in user's own account."""
    with db.read() as session:
        user = session.get(_U, _user_id(actor))
        if user is None:
            raise errors.Unauthenticated("Sign in to continue.")
        return _views(session, [user])[0]


def create_user(db: Database, *, actor: Actor, email: object, password: object,
                role: object = "staff") -> str:
    """Another user of the actor's partner (admins only); returns its id."""
    require_admin(actor, "manage users")
    role = _check_role(role)
    if not isinstance(email, str) or not email.strip():
        raise errors.ValidationError.for_field("email", "is required")
    try:
        address = partners._check_email(email)
    except errors.ValidationError:
        raise errors.ValidationError.for_field("email", "must be an email address") from None
    password = _check_password(password)
    with db.write() as session:
        if session.scalar(select(_U.id).where(_U.email == address)):
            raise errors.Conflict(f"A user with email {address} already exists.",
                                  errors=[errors.FieldError("email", "is already in use")])
        user_id = new_id("usr")
        session.add(_U(id=user_id, partner_id=actor.partner_id, email=address,
                       password_hash=partners.hash_password(password), role=role,
                       created_at=clock.now()))
        audit.record(session, actor, "user.create", "user", user_id,
                     {"email": address, "role": role})
    return user_id


def get_user(db: Database, *, actor: Actor, user_id: object) -> UserView:
    """One of the partner's users (administrators only)."""
    require_admin(actor, "manage users")
    with db.read() as session:
        user = session.get(_U, user_id) if isinstance(user_id, str) else None
        if user is None or user.partner_id != actor.partner_id:
            raise errors.NotFound(f"No user with id {user_id}.")
        return _views(session, [user])[0]


def create_api_key(db: Database, *, actor: Actor, user_id: object) -> str:
    """An API key that acts as one of the partner's active users, with that user's role
    (AP1: a person can approve through it); administrators only. Returned once."""
    require_admin(actor, "manage users")
    with db.write() as session:
        user = _target(session, actor, user_id)
        if user.deactivated_at is not None:
            raise errors.InvalidState(f"{user.email} is deactivated; reactivate them before "
                                      "giving them an API key.")
        key_id, key = partners.add_api_key(session, partner_id=actor.partner_id,
                                           name=f"user {user.email}", user_id=user.id)
        audit.record(session, actor, "api_key.create", "api_key", key_id,
                     {"name": f"user {user.email}", "prefix": key[:8], "user": user.email,
                      "role": user.role})
    return key


def _target(session: Session, actor: Actor, user_id: object) -> models.User:
    """One of the actor's partner's users, after locking the partner's row (see above)."""
    session.execute(select(models.Partner.id).where(models.Partner.id == actor.partner_id)
                    .with_for_update(key_share=True))
    user = session.get(_U, user_id) if isinstance(user_id, str) else None
    if user is None or user.partner_id != actor.partner_id:
        raise errors.NotFound(f"No user with id {user_id}.")
    return user


def _keep_an_admin(session: Session, actor: Actor, user: models.User) -> None:
    """Refuse a change that takes the partner's last active administrator away."""
    others = session.scalar(select(func.count()).where(
        _U.partner_id == actor.partner_id, _U.role == "admin", _U.deactivated_at.is_(None),
        _U.id != user.id))
    if user.role == "admin" and user.deactivated_at is None and not others:
        who = "You are" if user.id == actor.user_id else f"{user.email} is"
        raise errors.InvalidState(f"{who} the only active administrator: make another user an "
                                  "administrator first, so the team keeps one.")


def change_role(db: Database, *, actor: Actor, user_id: object, role: object) -> None:
    require_admin(actor, "manage users")
    role = _check_role(role)
    with db.write() as session:
        user = _target(session, actor, user_id)
        if user.role == role:
            return
        if role != "admin":
            _keep_an_admin(session, actor, user)
        audit.record(session, actor, "user.role_change", "user", user.id,
                     {"email": user.email, "from": user.role, "to": role})
        user.role = role


def deactivate(db: Database, *, actor: Actor, user_id: object) -> int:
    """The user can no longer sign in; its sessions end and its API keys are revoked at once.
    Returns how many sessions ended."""
    require_admin(actor, "manage users")
    now = clock.now()
    with db.write() as session:
        user = _target(session, actor, user_id)
        if user.deactivated_at is not None:
            return 0
        _keep_an_admin(session, actor, user)
        user.deactivated_at = now
        ended = web_sessions.end_for_user(session, user_id=user.id)
        keys = dml.rowcount(session.execute(update(models.ApiKey).where(
            models.ApiKey.user_id == user.id, models.ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)))
        audit.record(session, actor, "user.deactivate", "user", user.id,
                     {"email": user.email, "sessions_ended": ended, "api_keys_revoked": keys})
    return ended


def reactivate(db: Database, *, actor: Actor, user_id: object) -> None:
    """The user may sign in again (API keys revoked at deactivation stay revoked)."""
    require_admin(actor, "manage users")
    with db.write() as session:
        user = _target(session, actor, user_id)
        if user.deactivated_at is None:
            return
        user.deactivated_at = None
        audit.record(session, actor, "user.reactivate", "user", user.id, {"email": user.email})


def end_sessions(db: Database, *, actor: Actor, user_id: object) -> int:
    """An administrator signs a user out everywhere; how many sessions ended."""
    require_admin(actor, "manage users")
    with db.write() as session:
        user = _target(session, actor, user_id)
        ended = web_sessions.end_for_user(session, user_id=user.id)
        audit.record(session, actor, "user.sessions_end", "user", user.id,
                     {"email": user.email, "sessions_ended": ended})
    return ended


def sign_out_everywhere(db: Database, *, actor: Actor) -> int:
    """A user ends all of their own sessions, this one included."""
    user_id = _user_id(actor)
    with db.write() as session:
        ended = web_sessions.end_for_user(session, user_id=user_id)
        audit.record(session, actor, "user.sign_out_everywhere", "user", user_id,
                     {"sessions_ended": ended})
    return ended


def change_password(db: Database, *, actor: Actor, current: object, new: object,
                    confirm: object, address: str, keep_session: str | None) -> int:
    """A user's own password: the current one is checked (throttled like a sign-in, E5),
    the new one replaces it and every other session of the user ends (``keep_session``, an
    id hash, stays). Returns how many sessions ended."""
    user_id = _user_id(actor)
    if not isinstance(current, str) or not current:
        raise errors.ValidationError.for_field("current_password", "is required")
    new = _check_password(new, "new_password")
    if confirm != new:
        raise errors.ValidationError.for_field("confirm_password",
                                               "does not match the new password")
    with db.read() as session:
        user = session.get(_U, user_id)
    if user is None or user.deactivated_at is not None:
        raise errors.Unauthenticated("Sign in to continue.")
    keys = sign_in.claim_attempt(db, email=user.email, address=address)
    if not partners.password_matches(user.password_hash, current):
        raise errors.ValidationError("Your current password is not right; nothing was "
                                     "changed.", errors=[errors.FieldError(
                                         "current_password", "That is not your current password")])
    sign_in.give_back(db, keys)
    with db.write() as session:
        row = session.get(_U, user_id, with_for_update=True)
        assert row is not None
        row.password_hash = partners.hash_password(new)
        ended = web_sessions.end_for_user(session, user_id=row.id, keep=keep_session)
        audit.record(session, actor, "user.password_change", "user", row.id,
                     {"other_sessions_ended": ended})
    return ended
