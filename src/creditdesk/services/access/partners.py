"""Partners, their users (argon2 password hashes) and API keys (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common import audit, numbering
from creditdesk.services.common.context import Actor, clock, new_id

_hasher = PasswordHasher()
API_KEY_PREFIX = "cdk_"
MIN_PASSWORD = 8


@dataclass(frozen=True)
class NewPartner:
    partner_id: str
    api_key: str
    admin_email: str


def hash_api_key(key: str) -> str:
    """API keys are 256-bit random strings, so a fast hash is safe and keeps auth cheap."""
    return hashlib.sha256(key.encode()).hexdigest()


def _new_api_key() -> tuple[str, str]:
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_api_key(key)


def _check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise errors.ValidationError.for_field("admin_email", "must be an email address")
    return email


def create_partner(db: Database, *, name: str, admin_email: str,
                   admin_password: str) -> NewPartner:
    """A partner, its first admin user, its number sequences and one API key."""
    name = name.strip()
    if not name:
        raise errors.ValidationError.for_field("name", "is required")
    email = _check_email(admin_email)
    if len(admin_password) < MIN_PASSWORD:
        raise errors.ValidationError.for_field(
            "admin_password", f"must be at least {MIN_PASSWORD} characters")
    now = clock.now()
    partner_id = new_id("ptr")
    key, key_hash = _new_api_key()
    with db.write() as session:
        if session.scalar(select(models.User.id).where(models.User.email == email)):
            raise errors.Conflict(f"A user with email {email} already exists.")
        session.add(models.Partner(id=partner_id, name=name, created_at=now))
        session.flush()
        numbering.create_counters(session, partner_id)
        user_id = new_id("usr")
        session.add(models.User(id=user_id, partner_id=partner_id, email=email,
                                password_hash=hash_password(admin_password), role="admin",
                                created_at=now))
        session.add(models.ApiKey(id=new_id("ak"), partner_id=partner_id, name="default",
                                  prefix=key[:8], key_hash=key_hash, created_at=now))
        actor = Actor(partner_id, f"user:{email}")
        audit.record(session, actor, "partner.create", "partner", partner_id, {"name": name})
    return NewPartner(partner_id, key, email)


def find_partner_by_admin_email(db: Database, email: str) -> str | None:
    """The id of the partner whose admin user has ``email``, or None."""
    with db.read() as session:
        return session.scalar(select(models.User.partner_id).where(
            models.User.email == email.strip().lower(), models.User.role == "admin"))


def create_api_key(db: Database, *, partner_id: str, name: str = "default",
                   actor_name: str = "system") -> str:
    """A new API key for an existing partner; the key is returned once, only its hash kept."""
    key, key_hash = _new_api_key()
    with db.write() as session:
        if session.get(models.Partner, partner_id) is None:
            raise errors.NotFound(f"No partner with id {partner_id}.")
        key_id = new_id("ak")
        session.add(models.ApiKey(id=key_id, partner_id=partner_id, name=name, prefix=key[:8],
                                  key_hash=key_hash, created_at=clock.now()))
        audit.record(session, Actor(partner_id, actor_name), "api_key.create", "api_key", key_id,
                     {"name": name, "prefix": key[:8]})
    return key


# Built once: every API request runs it. A user's key (AP1) brings its user along.
_LIVE_KEY = (select(models.ApiKey.partner_id, models.ApiKey.prefix, models.User.id,
                    models.User.email, models.User.role, models.User.deactivated_at)
             .select_from(models.ApiKey)
             .outerjoin(models.User, models.User.id == models.ApiKey.user_id)
             .where(models.ApiKey.key_hash == bindparam("key_hash"),
                    models.ApiKey.revoked_at.is_(None)))


def authenticate_api_key(db: Database, key: str) -> Actor:
    """The partner behind a bearer key, or Unauthenticated. A partner-wide key acts as an
    administrator with no person behind it; a user's key acts as that user, with its role."""
    if not key.startswith(API_KEY_PREFIX):
        raise errors.Unauthenticated("The API key is not valid.")
    with db.lookup() as conn:
        row = conn.execute(_LIVE_KEY, {"key_hash": hash_api_key(key)}).one_or_none()
    if row is None or row.deactivated_at is not None:
        raise errors.Unauthenticated("The API key is not valid.")
    if row.id is not None:
        return Actor(row.partner_id, f"user:{row.email}", row.role, row.id)
    return Actor(row.partner_id, f"api_key:{row.prefix}…", "admin")


def add_api_key(session: Session, *, partner_id: str, name: str,
                user_id: str | None = None) -> tuple[str, str]:
    """A new key row (of a user when ``user_id``): (its id, the key, shown once)."""
    key, key_hash = _new_api_key()
    key_id = new_id("ak")
    session.add(models.ApiKey(id=key_id, partner_id=partner_id, name=name, prefix=key[:8],
                              key_hash=key_hash, created_at=clock.now(), user_id=user_id))
    return key_id, key


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """The one password check (argon2 verify); callers claim a sign-in attempt first."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate_user(db: Database, *, email: str, password: str) -> Actor:
    """A user's sign-in; the same answer for an unknown email and a wrong password. A
    deactivated user is told so, but only once the password is right."""
    with db.read() as session:
        user = session.scalars(select(models.User).where(
            models.User.email == email.strip().lower())).one_or_none()
    if user is None:
        _hasher.hash(password)  # spend the same time as a real check
        raise errors.Unauthenticated("Wrong email or password.")
    if not password_matches(user.password_hash, password):
        raise errors.Unauthenticated("Wrong email or password.")
    if user.deactivated_at is not None:
        raise errors.Unauthenticated("This account has been deactivated. Ask an administrator "
                                     "of your team to reactivate it.")
    return Actor(user.partner_id, f"user:{user.email}", user.role, user.id)
