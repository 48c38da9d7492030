"""D2: the partner's SMTP server. The password is write-only: sealed with the vault
(as accounting credentials are, Y7) and never answered; leaving it out keeps the stored one."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import documents as rules
from creditdesk.domain import errors
from creditdesk.services.common import audit, vault
from creditdesk.services.common.context import Actor, clock, require_admin

MAX_USERNAME = 255
MAX_PASSWORD = 500
KEEP = object()  # the password left out: the stored one stays


@dataclass(frozen=True)
class EmailSettingsView:
    host: str
    port: int
    security: str
    username: str | None
    password_set: bool
    from_address: str


@dataclass(frozen=True)
class Smtp:
    """What the job needs to talk to the server (the password opened)."""

    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    from_address: str


def allow_private() -> bool:
    """API.md: CREDITDESK_ALLOW_PRIVATE_URLS=1 lets SMTP hosts be loopback or private."""
    return os.environ.get("CREDITDESK_ALLOW_PRIVATE_URLS") == "1"


def _view(row: models.EmailSettings) -> EmailSettingsView:
    return EmailSettingsView(row.host, row.port, row.security, row.username,
                             row.password_encrypted is not None, row.from_address)


def get_settings(db: Database, *, actor: Actor) -> EmailSettingsView | None:
    with db.read() as session:
        row = session.get(models.EmailSettings, actor.partner_id)
        return _view(row) if row is not None else None


def smtp_of(session: Session, partner_id: str) -> Smtp | None:
    """The partner's server with its password opened; None when none is set."""
    row = session.get(models.EmailSettings, partner_id)
    if row is None:
        return None
    password = vault.open_sealed(row.password_encrypted).get("password")
    return Smtp(row.host, row.port, row.security, row.username,
                password if isinstance(password, str) else None, row.from_address)


def configured(session: Session, partner_id: str) -> bool:
    return session.get(models.EmailSettings, partner_id) is not None


def replace_settings(db: Database, *, actor: Actor, host: object, port: object,
                     security: object, username: object, from_address: object,
                     password: object = KEEP) -> EmailSettingsView:
    """The server's settings (administrators only); ``password`` left out keeps the stored
    one, ``""`` or None removes it (a server without authentication)."""
    require_admin(actor, "change the email settings")
    parsed_host = rules.parse_host(host, allow_private=allow_private())
    parsed_port = rules.parse_port(port)
    parsed_security = rules.parse_security(security)
    if username is not None and (not isinstance(username, str)
                                 or len(username) > MAX_USERNAME):
        raise errors.ValidationError.for_field(
            "username", f"must be text of at most {MAX_USERNAME} characters")
    user = username.strip() or None if isinstance(username, str) else None
    sender = rules.parse_email(from_address, "from_address")
    if password is not KEEP and password is not None and (
            not isinstance(password, str) or len(password) > MAX_PASSWORD):
        raise errors.ValidationError.for_field(
            "password", f"must be text of at most {MAX_PASSWORD} characters")
    with db.write() as session:
        row = session.get(models.EmailSettings, actor.partner_id, with_for_update=True)
        if row is None:
            row = models.EmailSettings(partner_id=actor.partner_id)
            session.add(row)
        row.host, row.port, row.security = parsed_host, parsed_port, parsed_security.value
        row.username, row.from_address, row.updated_at = user, sender, clock.now()
        if password is not KEEP:
            row.password_encrypted = (vault.seal({"password": password})
                                      if isinstance(password, str) and password else None)
        audit.record(session, actor, "settings.email", "partner", actor.partner_id,
                     {"host": parsed_host, "port": parsed_port,
                      "security": parsed_security.value, "username": user,
                      "from_address": sender,
                      "password": "changed" if password is not KEEP else "kept"})
        session.flush()
        return _view(row)
