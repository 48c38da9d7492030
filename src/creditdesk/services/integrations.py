"""Connections per partner (Y1, Y2, Y7): create, OAuth callback, read, disconnect, runs."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from creditdesk.connectors import base, registry
from creditdesk.connectors.settings import ProviderSettings
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import memo as rules
from creditdesk.services import audit, pagination, vault
from creditdesk.services.context import Actor, clock, new_id

PROVIDERS = tuple(s.value for s in rules.Source if s is not rules.Source.NATIVE)


@dataclass(frozen=True)
class IntegrationView:
    id: str
    provider: str
    status: str
    region: str | None
    realm_id: str | None
    company_name: str | None
    last_synced_at: datetime | None
    last_error: str | None
    next_sync_at: datetime | None
    created_at: datetime
    authorize_url: str | None = None


def view(row: models.Integration, authorize_url: str | None = None) -> IntegrationView:
    return IntegrationView(row.id, row.provider, row.status, row.region, row.realm_id,
                           row.company_name, row.last_synced_at, row.last_error,
                           row.next_sync_at, row.created_at, authorize_url)


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def create_integration(db: Database, *, actor: Actor, settings: ProviderSettings,
                       provider: object, region: object = None) -> IntegrationView:
    if provider not in PROVIDERS:
        raise errors.ValidationError.for_field("provider", "must be one of: "
                                               + ", ".join(PROVIDERS))
    spec = registry.get(provider)
    if spec is None:
        raise errors.ValidationError.for_field(
            "provider", f"{rules.SOURCE_NAMES[rules.Source(provider)]} can't be connected yet; "
            "available now: " + ", ".join(registry.available()))
    try:
        fields = spec.validate({"region": region})
    except registry.InvalidField as exc:
        raise errors.ValidationError.for_field(exc.field, exc.message) from None
    state = secrets.token_urlsafe(32)
    now = clock.now()
    with db.write() as session:
        row = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider=spec.key,
            region=fields.get("region"), status="pending_authorization",
            oauth_state_hash=_hash(state), cursor={}, consecutive_failures=0,
            created_at=now, updated_at=now)
        session.add(row)
        audit.record(session, actor, "integration.create", "integration", row.id,
                     {"provider": spec.key, "region": row.region})
        return view(row, spec.authorize_url(settings, state))


Exchange = Callable[[str, str], tuple[dict[str, Any], dict[str, Any]]]


def _required(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise errors.ValidationError.for_field(name, "is required")
    return value


def complete_oauth(db: Database, *, state: object, code: object, realm_id: object = None,
                   exchange: Exchange | None = None,
                   exchange_for: Callable[[registry.Provider], Exchange] | None = None,
                   ) -> IntegrationView:
    """The OAuth redirect: ``exchange(code, realm_id)`` → (tokens, organisation info), done
    over HTTP before any transaction (``exchange_for(provider)`` picks it per provider);
    the provider's organisation check may refuse the connection (Y1)."""
    _required("state", state)
    _required("code", code)
    with db.read() as session:
        row = session.scalars(select(models.Integration).where(
            models.Integration.oauth_state_hash == _hash(state))).one_or_none()  # type: ignore[arg-type]
        if row is None:
            raise errors.NotFound("This authorization link is unknown or was already used; "
                                  "start the connection again from CreditDesk.")
        integration_id, partner_id, provider = row.id, row.partner_id, row.provider
    spec = registry.get(provider)
    if spec is None:
        raise errors.InvalidState(f"{provider} can't be connected yet")
    if spec.callback_realm_param:
        _required(spec.callback_realm_param, realm_id)
    run = exchange_for(spec) if exchange_for is not None else exchange
    if run is None:
        raise TypeError("complete_oauth needs exchange or exchange_for")
    refusal = None
    try:
        tokens, info = run(code, realm_id)  # type: ignore[arg-type]
        accepted = spec.accept(info, realm_id if isinstance(realm_id, str) else None)
    except base.Refused as exc:
        refusal = str(exc)
    except base.ConnectorError as exc:
        refusal = f"{spec.name} did not complete the connection: {exc}"
    now = clock.now()
    actor = Actor(partner_id, f"oauth:{spec.key}")
    with db.write() as session:
        row = locks.get_scoped(session, models.Integration, partner_id, integration_id,
                               lock=True, label="integration")
        row.oauth_state_hash, row.updated_at = None, now
        if refusal:
            row.status, row.last_error, row.disconnected_at = "disconnected", refusal, now
            audit.record(session, actor, "integration.refused", "integration", row.id,
                         {"reason": refusal})
        else:
            row.status, row.realm_id, row.region = "connected", accepted.realm_id, accepted.region
            row.company_name = accepted.company_name
            row.credentials_encrypted = vault.seal(tokens)
            row.last_error, row.next_sync_at, row.consecutive_failures = None, now, 0
            audit.record(session, actor, "integration.connect", "integration", row.id,
                         {"realm_id": accepted.realm_id, "region": accepted.region})
        result = view(row)
    if refusal:
        raise errors.ValidationError(refusal)
    return result


def get_integration(db: Database, *, actor: Actor, integration_id: str) -> IntegrationView:
    with db.read() as session:
        return view(locks.get_scoped(session, models.Integration, actor.partner_id,
                                     integration_id, label="integration"))


def list_integrations(db: Database, *, actor: Actor, limit: int = 50,
                      cursor: str | None = None) -> pagination.Page[IntegrationView]:
    stmt = select(models.Integration).where(models.Integration.partner_id == actor.partner_id)
    with db.read() as session:
        return pagination.newest_first(session, stmt, models.Integration.id, limit=limit,
                                       cursor=cursor, view=view)


def disconnect(db: Database, *, actor: Actor, integration_id: str) -> None:
    """Forget the credentials and stop syncing; the synced memos stay, read-only."""
    now = clock.now()
    with db.write() as session:
        row = locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                               lock=True, label="integration")
        row.status, row.credentials_encrypted, row.oauth_state_hash = "disconnected", None, None
        row.next_sync_at, row.disconnected_at, row.updated_at = None, now, now
        audit.record(session, actor, "integration.disconnect", "integration", row.id, {})


@dataclass(frozen=True)
class RunView:
    id: str
    integration_id: str
    trigger: str
    status: str
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    fetched: int
    created: int
    updated: int
    voided: int
    errors: list[dict[str, Any]]


def run_view(r: models.SyncRun) -> RunView:
    return RunView(r.id, r.integration_id, r.trigger, r.status, r.queued_at, r.started_at,
                   r.finished_at, r.fetched, r.created, r.updated, r.voided, list(r.errors))


def list_runs(db: Database, *, actor: Actor, integration_id: str, limit: int = 50,
              cursor: str | None = None) -> pagination.Page[RunView]:
    stmt = select(models.SyncRun).where(models.SyncRun.partner_id == actor.partner_id,
                                        models.SyncRun.integration_id == integration_id)
    with db.read() as session:
        locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                         label="integration")
        return pagination.newest_first(session, stmt, models.SyncRun.id, limit=limit,
                                       cursor=cursor, view=run_view)


def request_sync(db: Database, *, actor: Actor, integration_id: str) -> str:
    from creditdesk.services import sync

    with db.read() as session:
        row = locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                               label="integration")
        if row.status != "connected":
            raise errors.InvalidState(
                f"This {rules.SOURCE_NAMES[rules.Source(row.provider)]} integration is "
                f"{row.status.replace('_', ' ')}; connect it again before syncing.")
    return sync.request_run(db, integration_id=integration_id, trigger="manual",
                            partner_id=actor.partner_id)
