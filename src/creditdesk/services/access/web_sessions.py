"""Server-side sessions of the dashboard and the portal (E4): start, find, save, end.

A session is a ``web_sessions`` row found by the SHA-256 of a 256-bit random token, the only
thing its cookie carries (like API keys: a database leak yields no usable cookie). Ending a
session deletes its row, so a copied cookie stops working at once, in every process on the
database. A session expires at the earlier of ABSOLUTE after sign-in and IDLE after its
last use; the last use is written at most once every TOUCH_EVERY, not on every request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.common import dml
from creditdesk.services.common.context import clock

DASHBOARD, PORTAL = "dashboard", "portal"
# Dashboard: NIST SP 800-63B AAL2's re-authentication (30 min idle, 12 h at most). Portal:
# a customer can't ask for a new one-time link themselves, so it is kept longer; it shows
# one customer's own billing only.
IDLE = {DASHBOARD: timedelta(minutes=30), PORTAL: timedelta(hours=1)}
ABSOLUTE = {DASHBOARD: timedelta(hours=12), PORTAL: timedelta(hours=24)}
TOUCH_EVERY = timedelta(minutes=1)
MAX_TOKEN = 100

_T = models.WebSession


@dataclass(frozen=True)
class WebSession:
    """A live session as loaded for one request."""

    id_hash: str
    kind: str
    partner_id: str
    user_id: str | None
    customer_id: str | None
    data: dict[str, Any]
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so a fast hash is safe (as for API keys)."""
    return hashlib.sha256(token.encode()).hexdigest()


class _Stored(Protocol):
    """A ``web_sessions`` row: the ORM object just added, or the columns ``find`` reads."""

    @property
    def id_hash(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def partner_id(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def data(self) -> dict[str, Any] | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...


def _view(row: _Stored) -> WebSession:
    return WebSession(row.id_hash, row.kind, row.partner_id, row.user_id, row.customer_id,
                      dict(row.data or {}), row.created_at, row.last_seen_at, row.expires_at)


def start(db: Database, *, kind: str, partner_id: str, user_id: str | None = None,
          customer_id: str | None = None, data: dict[str, Any] | None = None,
          replaces: str | None = None) -> tuple[str, WebSession]:
    """A new session and its token (a new id at every sign-in: no fixation); the session
    ``replaces`` (an id hash), if any, ends in the same transaction."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = models.WebSession(
        id_hash=hash_token(token), kind=kind, partner_id=partner_id, user_id=user_id,
        customer_id=customer_id, data=dict(data or {}), created_at=now, last_seen_at=now,
        expires_at=min(now + ABSOLUTE[kind], now + IDLE[kind]))
    with db.write() as session:
        if replaces:
            session.execute(delete(_T).where(_T.id_hash == replaces))
        if user_id:  # the user's own expired sessions go now, the rest by the clean-up job
            session.execute(delete(_T).where(_T.user_id == user_id, _T.expires_at <= now))
        session.add(row)
    return token, _view(row)


_FIND = select(_T).where(_T.id_hash == bindparam("id_hash"), _T.kind == bindparam("kind"))


def find(db: Database, *, kind: str, token: object) -> WebSession | None:
    """The live session of a cookie's token, its last use recorded if TOUCH_EVERY has passed;
    None for no, an unknown, an ended or an expired session."""
    if not isinstance(token, str) or not 20 <= len(token) <= MAX_TOKEN:
        return None
    id_hash, now = hash_token(token), clock.now()
    with db.lookup() as conn:
        row = conn.execute(_FIND, {"id_hash": id_hash, "kind": kind}).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    found = _view(row)
    if now - found.last_seen_at < TOUCH_EVERY:
        return found
    expires = min(found.created_at + ABSOLUTE[kind], now + IDLE[kind])
    with db.write_connection() as conn:
        touched = conn.execute(update(_T).where(_T.id_hash == id_hash, _T.expires_at > now)
                               .values(last_seen_at=now, expires_at=expires)).rowcount
    if not touched:  # ended (or expired) meanwhile
        return None
    return dataclasses.replace(found, last_seen_at=now, expires_at=expires)


def save_data(db: Database, *, id_hash: str, data: dict[str, Any]) -> None:
    """Store a session's changed data; an ended session stays ended (an UPDATE, no insert)."""
    with db.write_connection() as conn:
        conn.execute(update(_T).where(_T.id_hash == id_hash).values(data=data))


def end(db: Database, *, id_hash: str) -> None:
    """Sign out: the session is gone for every copy of its cookie."""
    with db.write_connection() as conn:
        conn.execute(delete(_T).where(_T.id_hash == id_hash))


def end_for_user(session: Session, *, user_id: str, keep: str | None = None) -> int:
    """End a user's sessions (but ``keep``, an id hash) inside the caller's transaction;
    how many ended."""
    stmt = delete(_T).where(_T.user_id == user_id)
    if keep:
        stmt = stmt.where(_T.id_hash != keep)
    return dml.rowcount(session.execute(stmt))


def count_live(session: Session, *, user_ids: list[str]) -> dict[str, int]:
    """Live sessions per user id (for the users page)."""
    rows = session.execute(select(_T.user_id, func.count()).where(
        _T.user_id.in_(user_ids), _T.expires_at > clock.now()).group_by(_T.user_id))
    # user_id IN (…) never matches a portal session's NULL user; the test only tells mypy
    return {user_id: n for user_id, n in rows if user_id is not None}


def delete_expired(db: Database) -> int:
    """The clean-up job: drop sessions past their expiry; how many."""
    with db.write_connection() as conn:
        return conn.execute(delete(_T).where(_T.expires_at <= clock.now())).rowcount
