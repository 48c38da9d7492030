"""Dashboard sign-in for partner users: password check, throttling, session lookups.

Failed attempts are counted per (email, client address) in the database, so that every
worker process sees the same count: after MAX_FAILURES within WINDOW further attempts are
refused (even with the right password) until the oldest failure leaves the window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services import audit, partners
from creditdesk.services.context import Actor, clock, new_id

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
ROLES = ("admin", "staff")


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    email: str
    actor: Actor


def _key(email: str, address: str) -> str:
    return hashlib.sha256(f"{email.strip().lower()}\0{address}".encode()).hexdigest()


def _check_throttle(db: Database, key: str) -> None:
    lf = models.LoginFailure
    since = clock.now() - WINDOW
    with db.read() as session:
        count = session.scalar(select(func.count()).where(lf.key_hash == key, lf.at > since))
    if count and count >= MAX_FAILURES:
        minutes = int(WINDOW.total_seconds() // 60)
        raise errors.TooManyAttempts(
            f"Too many failed sign-ins for this email. Wait {minutes} minutes and try again, "
            "or ask an administrator to reset your password.")


def sign_in(db: Database, *, email: object, password: object, address: str) -> SignedIn:
    """Check the password unless throttled; a failure is counted, a success clears them."""
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        raise errors.ValidationError.for_field("email", "is required")
    if not isinstance(password, str) or not password or len(password) > 1024:
        raise errors.ValidationError.for_field("password", "is required")
    key = _key(email, address)
    _check_throttle(db, key)
    try:
        actor = partners.authenticate_user(db, email=email, password=password)
    except errors.Unauthenticated:
        with db.write() as session:
            session.add(models.LoginFailure(id=new_id("lf"), key_hash=key, at=clock.now()))
            session.execute(delete(models.LoginFailure).where(
                models.LoginFailure.at < clock.now() - WINDOW))
        raise
    with db.write() as session:
        session.execute(delete(models.LoginFailure).where(models.LoginFailure.key_hash == key))
        user = session.scalars(select(models.User).where(
            models.User.email == email.strip().lower())).one()
        return SignedIn(user.id, user.email, actor)


def user_actor(db: Database, *, user_id: object) -> Actor:
    """The Actor of a signed-in user, read afresh (a removed user or changed role counts)."""
    if not isinstance(user_id, str):
        raise errors.Unauthenticated("Sign in to continue.")
    with db.read() as session:
        user = session.get(models.User, user_id)
    if user is None:
        raise errors.Unauthenticated("Sign in to continue.")
    return Actor(user.partner_id, f"user:{user.email}", user.role)


def create_user(db: Database, *, actor: Actor, email: str, password: str,
                role: str = "staff") -> str:
    """Another user of the actor's partner (admin only); returns its id."""
    if actor.role != "admin":
        raise errors.Forbidden("Only an administrator can add users.")
    if role not in ROLES:
        raise errors.ValidationError.for_field("role", "must be admin or staff")
    if len(password) < partners.MIN_PASSWORD:
        raise errors.ValidationError.for_field(
            "password", f"must be at least {partners.MIN_PASSWORD} characters")
    address = partners._check_email(email)
    with db.write() as session:
        if session.scalar(select(models.User.id).where(models.User.email == address)):
            raise errors.Conflict(f"A user with email {address} already exists.")
        user_id = new_id("usr")
        session.add(models.User(id=user_id, partner_id=actor.partner_id, email=address,
                                password_hash=partners._hasher.hash(password), role=role,
                                created_at=clock.now()))
        audit.record(session, actor, "user.create", "user", user_id, {"email": address,
                                                                      "role": role})
    return user_id
