"""D4: a partner's webhook endpoints: register (the secret shown once), list, delete and
rotate the secret (the previous one keeps signing for 24 hours). Secrets are sealed at
rest (``common.vault``) and opened only to sign."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import webhooks as rules
from creditdesk.services.common import audit, vault
from creditdesk.services.common.context import Actor, clock, new_id, require_admin
from creditdesk.services.events import url_policy

_EP = models.WebhookEndpoint


@dataclass(frozen=True)
class EndpointView:
    id: str
    url: str
    events: list[str]
    created_at: datetime
    rotating_until: datetime | None  # the previous secret signs until then


@dataclass(frozen=True)
class EndpointCreated:
    """The endpoint and its secret: the one time the secret is shown."""

    id: str
    url: str
    events: list[str]
    created_at: datetime
    rotating_until: datetime | None
    secret: str


@dataclass(frozen=True)
class SecretRotated:
    id: str
    secret: str
    previous_expires_at: datetime



def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def seal(secret: str) -> str:
    return vault.seal({"secret": secret})


def unseal(sealed: str) -> str:
    return str(vault.open_sealed(sealed)["secret"])


def view(row: models.WebhookEndpoint, now: datetime | None = None) -> EndpointView:
    now = now or clock.now()
    until = row.previous_expires_at
    return EndpointView(row.id, row.url, list(row.events), row.created_at,
                        until if until is not None and until > now else None)


def create_endpoint(db: Database, *, actor: Actor, url: object,
                    events: object) -> EndpointCreated:
    require_admin(actor, "manage webhook endpoints")
    wanted = rules.check_types(events)
    checked = url_policy.check(url)  # resolves the host: before the transaction
    secret = new_secret()
    now = clock.now()
    with db.write() as session:
        row = models.WebhookEndpoint(id=new_id("we"), partner_id=actor.partner_id, url=checked,
                                     events=wanted, secret_sealed=seal(secret),
                                     previous_secret_sealed=None, previous_expires_at=None,
                                     created_at=now, deleted_at=None)
        session.add(row)
        audit.record(session, actor, "webhook_endpoint.create", "webhook_endpoint", row.id,
                     {"url": checked, "events": wanted})
    return EndpointCreated(row.id, row.url, wanted, now, None, secret)


def list_endpoints(db: Database, *, actor: Actor) -> list[EndpointView]:
    now = clock.now()
    with db.read() as session:
        rows = session.scalars(select(_EP).where(
            _EP.partner_id == actor.partner_id, _EP.deleted_at.is_(None)).order_by(_EP.id))
        return [view(r, now) for r in rows]


def get_endpoint(db: Database, *, actor: Actor, endpoint_id: str) -> EndpointView:
    with db.read() as session:
        return view(_live(session, actor, endpoint_id))


def _live(session: Session, actor: Actor, endpoint_id: str) -> models.WebhookEndpoint:
    row = locks.get_scoped(session, _EP, actor.partner_id, endpoint_id,
                           label="webhook endpoint")
    if row.deleted_at is not None:
        raise errors.NotFound(f"No webhook endpoint {endpoint_id}.")
    return row


def delete_endpoint(db: Database, *, actor: Actor, endpoint_id: str) -> None:
    """Stop sending to the endpoint: its pending deliveries are cancelled."""
    require_admin(actor, "manage webhook endpoints")
    now = clock.now()
    with db.write() as session:
        row = _live(session, actor, endpoint_id)
        row.deleted_at = now
        session.execute(update(models.WebhookDelivery).where(
            models.WebhookDelivery.endpoint_id == row.id,
            models.WebhookDelivery.status == "pending").values(
            status="cancelled", next_attempt_at=None, last_error="endpoint deleted"))
        audit.record(session, actor, "webhook_endpoint.delete", "webhook_endpoint", row.id,
                     {"url": row.url})


def rotate_secret(db: Database, *, actor: Actor, endpoint_id: str) -> SecretRotated:
    """A new secret, shown once; the current one signs too for 24 hours (API.md)."""
    require_admin(actor, "manage webhook endpoints")
    secret = new_secret()
    now = clock.now()
    with db.write() as session:
        row = _live(session, actor, endpoint_id)
        row.previous_secret_sealed = row.secret_sealed
        row.previous_expires_at = now + rules.ROTATION_OVERLAP
        row.secret_sealed = seal(secret)
        audit.record(session, actor, "webhook_endpoint.rotate_secret", "webhook_endpoint",
                     row.id, {})
        return SecretRotated(row.id, secret, row.previous_expires_at)


def signing_secrets(row: models.WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous during its 24 hours."""
    found = [unseal(row.secret_sealed)]
    if (row.previous_secret_sealed is not None and row.previous_expires_at is not None
            and row.previous_expires_at > now):
        found.append(unseal(row.previous_secret_sealed))
    return found
