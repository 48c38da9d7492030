"""One-time, expiring Customer Portal sign-in links (stored as SHA-256 hashes only)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id

LINK_LIFETIME = timedelta(days=7)
_MISTYPED = ("This address is not a sign-in link we know. Check that you opened the whole "
             "link from your email (long links are sometimes cut in two), or ask for a new "
             "one.")


class LinkRefused(errors.NotFound):
    """A sign-in link that can't be used, said plainly: why, and how to get a new one.

    ``partner_name`` is known when the link was real (used or expired), so the page can
    say whom to ask; a mistyped link names nobody."""

    def __init__(self, title: str, detail: str, partner_name: str | None = None) -> None:
        super().__init__(detail)
        self.title, self.partner_name = title, partner_name


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
    partner_name: str = ""  # shown on every portal page: whose portal this is


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


def _usable(session: Session, token: object, *, lock: bool) -> models.PortalToken:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise LinkRefused("This sign-in link isn't valid", _MISTYPED)
    stmt = select(models.PortalToken).where(models.PortalToken.token_hash == _hash(token))
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None:
        raise LinkRefused("This sign-in link isn't valid", _MISTYPED)
    # Only the holder of a real link gets here (256 random bits): saying whose it is and
    # why it stopped working tells them nothing they could not read in the email.
    partner = partner_name(session, row.partner_id)
    ask = (f"Ask {partner} for a new sign-in link: they can send one from their billing "
           "dashboard.")
    if row.used_at is not None:
        raise LinkRefused("This sign-in link was already used",
                          "Each sign-in link works once, and this one has been used. If you "
                          f"signed out or your session ended, you need a new link. {ask}",
                          partner)
    if row.expires_at <= clock.now():
        days = LINK_LIFETIME.days
        raise LinkRefused("This sign-in link has expired",
                          f"Sign-in links work for {days} days, and this one expired on "
                          f"{row.expires_at:%B} {row.expires_at.day}, "
                          f"{row.expires_at.year}. {ask}", partner)
    return row


def partner_name(session: Session, partner_id: str) -> str:
    partner = session.get(models.Partner, partner_id)
    return partner.name if partner is not None else ""


def _principal(session: Session, row: models.PortalToken) -> PortalCustomer:
    customer = session.get(models.Customer, row.customer_id)
    assert customer is not None
    return PortalCustomer(row.partner_id, row.customer_id, customer.name,
                          partner_name(session, row.partner_id))


def check_link(db: Database, *, token: object) -> PortalCustomer:
    """Whether a link can still be used, without using it (the page before the button)."""
    with db.read() as session:
        return _principal(session, _usable(session, token, lock=False))


def redeem_link(db: Database, *, token: object) -> PortalCustomer:
    """Use the link: it works once; a second use, or an expired link, is NotFound."""
    with db.write() as session:
        row = _usable(session, token, lock=True)
        row.used_at = clock.now()
        audit.record(session, Actor.customer(row.partner_id, row.customer_id),
                     "customer.portal_sign_in", "customer", row.customer_id, {})
        return _principal(session, row)
