"""One-time, expiring Customer Portal sign-in links (stored as SHA-256 hashes only)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services import audit
from creditdesk.services.context import Actor, clock, new_id

LINK_LIFETIME = timedelta(days=7)
_INVALID = "This sign-in link is not valid: it was already used, has expired, or is mistyped. " \
           "Ask for a new link."


@dataclass(frozen=True)
class NewLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class PortalCustomer:
    """Who the portal serves: one customer of one partner (P4). Every portal read takes it."""

    partner_id: str
    customer_id: str
    customer_name: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(db: Database, *, actor: Actor, customer_id: str) -> NewLink:
    """A random token for the customer's portal, valid once within LINK_LIFETIME."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with db.write() as session:
        customer = locks.get_scoped(session, models.Customer, actor.partner_id, customer_id)
        row = models.PortalToken(id=new_id("ptk"), partner_id=actor.partner_id,
                                 customer_id=customer.id, token_hash=_hash(token),
                                 created_by=actor.name, created_at=now,
                                 expires_at=now + LINK_LIFETIME)
        session.add(row)
        audit.record(session, actor, "customer.portal_link", "customer", customer.id,
                     {"expires_at": row.expires_at.isoformat()})
    return NewLink(token, now + LINK_LIFETIME)


def _usable(session, token: object, *, lock: bool) -> models.PortalToken:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise errors.NotFound(_INVALID)
    stmt = select(models.PortalToken).where(models.PortalToken.token_hash == _hash(token))
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        raise errors.NotFound(_INVALID)
    return row


def _principal(session, row: models.PortalToken) -> PortalCustomer:
    customer = session.get(models.Customer, row.customer_id)
    assert customer is not None
    return PortalCustomer(row.partner_id, row.customer_id, customer.name)


def check_link(db: Database, *, token: object) -> PortalCustomer:
    """Whether a link can still be used, without using it (the page before the button)."""
    with db.read() as session:
        return _principal(session, _usable(session, token, lock=False))


def redeem_link(db: Database, *, token: object) -> PortalCustomer:
    """Use the link: it works once; a second use, or an expired link, is NotFound."""
    with db.write() as session:
        row = _usable(session, token, lock=True)
        row.used_at = clock.now()
        audit.record(session, Actor(row.partner_id, f"customer:{row.customer_id}"),
                     "customer.portal_sign_in", "customer", row.customer_id, {})
        return _principal(session, row)
