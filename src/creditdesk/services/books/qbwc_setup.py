"""Connecting QuickBooks Desktop (Y1, Y7): CreditDesk generates the Web Connector user name
and password, and the ``.qwc`` file the partner loads into the Web Connector.

The user name is kept as the integration's ``realm_id`` (the key ``authenticate`` looks it
up by); the password is shown once and stored only as the SHA-256 of its 32 random bytes,
itself encrypted with the other credentials. The integration stays
``pending_authorization`` until the Web Connector first authenticates with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from creditdesk.connectors import qbwc_soap
from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.connectors.settings import ProviderSettings
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.services.books.integration_views import IntegrationView, view
from creditdesk.services.common import audit, vault
from creditdesk.services.common.context import Actor, clock, new_id

OWNER_ID = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "creditdesk/qbwc/owner")).upper() + "}"


@dataclass(frozen=True)
class Created:
    integration: IntegrationView
    username: str
    password: str  # shown once, never stored


def password_digest(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()


def password_matches(password: str, sealed: str | None) -> bool:
    try:
        stored = vault.open_sealed(sealed).get("password_sha256")
    except vault.VaultError:
        return False
    return isinstance(stored, str) and hmac.compare_digest(stored, password_digest(password))


def create(db: Database, *, actor: Actor) -> Created:
    username = "creditdesk-" + secrets.token_hex(6)
    password = secrets.token_urlsafe(32)
    now = clock.now()
    with db.write() as session:
        row = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider=qbd.PROVIDER,
            status="pending_authorization", realm_id=username, cursor={},
            credentials_encrypted=vault.seal({"password_sha256": password_digest(password)}),
            consecutive_failures=0, created_at=now, updated_at=now)
        session.add(row)
        audit.record(session, actor, "integration.create", "integration", row.id,
                     {"provider": qbd.PROVIDER, "web_connector_user": username})
        created = view(row)
    return Created(created, username, password)


def qwc(db: Database, *, actor: Actor, settings: ProviderSettings, integration_id: str,
        app_url: str, support_url: str) -> tuple[str, str]:
    """(file name, ``.qwc`` XML) for a partner's QuickBooks Desktop integration; the web
    layer gives the Web Connector's endpoint (``app_url``) and the page for help."""
    from creditdesk.domain import errors

    with db.read() as session:
        row = locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                               label="integration")
        if row.provider != qbd.PROVIDER:
            raise errors.InvalidState("Only QuickBooks Desktop integrations have a Web "
                                      "Connector (.qwc) file.")
        if row.status == "disconnected" or not row.realm_id:
            raise errors.InvalidState("This QuickBooks Desktop integration is disconnected; "
                                      "connect QuickBooks Desktop again for a new .qwc file.")
        username = row.realm_id
    file_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"creditdesk/qbwc/{integration_id}")
                        ).upper() + "}"
    xml = qbwc_soap.qwc_file(qbwc_soap.Qwc(
        app_name=f"CreditDesk credit memos ({username})", app_url=app_url,
        description=("Reads customer credit memos and invoices from QuickBooks into "
                     "CreditDesk, and writes back the credit applied in CreditDesk."),
        support_url=support_url, username=username, owner_id=OWNER_ID,
        file_id=file_id, every_minutes=max(1, settings.sync_interval_seconds // 60)))
    return f"creditdesk-{username}.qwc", xml
