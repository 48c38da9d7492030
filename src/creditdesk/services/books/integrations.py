"""Connections per partner (Y1, Y2, Y7): create, OAuth callback, read, disconnect, runs."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from creditdesk.connectors import base, http, registry
from creditdesk.connectors.settings import ProviderSettings
from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import memo as rules
from creditdesk.services.books import qbwc_setup
from creditdesk.services.books.integration_views import IntegrationView, view
from creditdesk.services.common import audit, pagination, vault
from creditdesk.services.common.context import Actor, clock, new_id

PROVIDERS = tuple(s.value for s in rules.Source if s is not rules.Source.NATIVE)
DASHBOARD, API = "dashboard", "api"  # where a connection was started (the callback answers)
STATE_TTL = timedelta(hours=1)  # an authorization link older than this is refused
RESUMABLE = ("pending_authorization", "needs_reconnection")  # sign in with the system again
log = logging.getLogger("creditdesk.integrations")


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _fields_for(spec: registry.Provider, region: object,
                fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """The provider's own validation of the create fields; a field that belongs to another
    provider is named, never silently ignored (nor echoed: it may be a password)."""
    given = {k: v for k, v in (fields or {}).items() if v is not None}
    foreign = [k for k in given if k not in spec.fields]
    if foreign:
        raise errors.ValidationError(
            f"{', '.join(foreign)}: not used when connecting {spec.name}.",
            errors=[errors.FieldError(k, f"is not used by {spec.name}") for k in foreign])
    try:
        return spec.validate({"region": region, **given})
    except registry.InvalidField as exc:
        raise errors.ValidationError.for_field(exc.field, exc.message) from None
    except registry.InvalidFields as exc:
        raise errors.ValidationError(
            f"{exc.summary}.", errors=[errors.FieldError(f, m) for f, m in exc.problems]) from None


def connect(db: Database, *, actor: Actor, settings: ProviderSettings,
            client: httpx.Client | None = None, **create: Any) -> IntegrationView:
    """``create_integration`` with a credentials provider's check over HTTP made here:
    through ``client`` (a test's, pointing at a fake) or a new one closed afterwards (made
    only when a check runs), with a short retry (a person is waiting)."""
    made: list[httpx.Client] = []

    def verify_for(spec: registry.Provider) -> registry.Verify:
        made.append(client if client is not None else registry.default_client())
        return spec.verify(made[-1], settings, http.Retry(attempts=2, base=0.5))

    try:
        return create_integration(db, actor=actor, settings=settings, verify_for=verify_for,
                                  **create)
    finally:
        for own in made:
            if own is not client:
                own.close()


def finish_oauth(db: Database, *, settings: ProviderSettings, state: object, code: object,
                 realm_id: object = None, client: httpx.Client | None = None) -> IntegrationView:
    """``complete_oauth`` with the provider's code exchange made here: through ``client``
    (a test's) or a new one closed afterwards, retried up to three times."""
    own = client if client is not None else registry.default_client()

    def exchange_for(spec: registry.Provider) -> Exchange:
        return spec.connect(own, settings, http.Retry(attempts=3))

    try:
        return complete_oauth(db, state=state, code=code, realm_id=realm_id,
                              exchange_for=exchange_for)
    finally:
        if own is not client:
            own.close()


def create_integration(db: Database, *, actor: Actor, settings: ProviderSettings,
                       provider: object, region: object = None,
                       fields: Mapping[str, Any] | None = None,
                       verify_for: Callable[[registry.Provider], registry.Verify] | None = None,
                       started_from: str = API, refuse_if_connected: bool = False,
                       ) -> IntegrationView:
    """OAuth providers start ``pending_authorization`` with their authorize URL (a pending
    connection of the same system is resumed instead: one card, a new link); a
    credentials provider (Sage Intacct) is checked over HTTP by ``verify_for(provider)``
    before any transaction and is ``connected`` at once. ``started_from`` is where the
    OAuth callback takes the person back to; ``refuse_if_connected`` (the dashboard, which
    offers no Connect then) refuses a system already connected."""
    if provider not in PROVIDERS:
        raise errors.ValidationError.for_field("provider", "must be one of: "
                                               + ", ".join(PROVIDERS))
    spec = registry.get(provider)
    if spec is None:
        raise errors.ValidationError.for_field(
            "provider", f"{rules.SOURCE_NAMES[rules.Source(provider)]} can't be connected yet; "
            "available now: " + ", ".join(registry.available()))
    valid = _fields_for(spec, region, fields)
    if spec.client_pulls is not None:  # QuickBooks Desktop: CreditDesk makes the credentials
        made = qbwc_setup.create(db, actor=actor)
        extra = made.integration.extra or {}
        return replace(made.integration, extra={"web_connector": {
            **extra.get("web_connector", {}), "password": made.password}})
    if spec.check is not None:
        if verify_for is None:
            raise TypeError(f"connecting {spec.key} needs verify_for")
        return _connect_with_credentials(db, actor, spec, valid, verify_for(spec))
    if spec.authorize_url is None:
        raise errors.ValidationError.for_field("provider", f"{spec.name} can't be connected "
                                               "through the API")
    _require_app(spec, settings)
    now = clock.now()
    with db.write() as session:
        if refuse_if_connected:
            _refuse_if_connected(session, actor.partner_id, spec)
        # A connection still waiting for its sign-in is resumed, not doubled (a second click
        # on Connect, or a person who left the provider's page and came back).
        row = session.scalars(select(models.Integration).where(
            models.Integration.partner_id == actor.partner_id,
            models.Integration.provider == spec.key,
            models.Integration.status == "pending_authorization")
            .order_by(models.Integration.created_at.desc()).limit(1)).first()
        if row is None:
            row = models.Integration(
                id=new_id("int"), partner_id=actor.partner_id, provider=spec.key,
                region=valid.get("region"), status="pending_authorization", cursor={},
                consecutive_failures=0, created_at=now, updated_at=now)
            session.add(row)
            audit.record(session, actor, "integration.create", "integration", row.id,
                         {"provider": spec.key, "region": row.region})
        else:
            audit.record(session, actor, "integration.resume", "integration", row.id,
                         {"provider": spec.key, "region": valid.get("region")})
        row.region = valid.get("region")
        return _start_authorization(row, spec, settings, started_from, now)


def _start_authorization(row: models.Integration, spec: registry.Provider,
                         settings: ProviderSettings, started_from: str,
                         now: datetime) -> IntegrationView:
    """A fresh state for ``row`` (any earlier authorization link stops working) and the
    provider's sign-in address carrying it."""
    assert spec.authorize_url is not None
    state = secrets.token_urlsafe(32)
    row.oauth_state_hash, row.oauth_started_from = _hash(state), started_from
    row.last_error, row.updated_at = None, now
    return view(row, spec.authorize_url(settings, state))


def app_missing(spec: registry.Provider, settings: ProviderSettings) -> str | None:
    """Why ``spec`` can't be connected on this server, in words: its OAuth app (client id
    and secret) isn't configured; None when it is."""
    missing = spec.missing_settings(settings)
    if not missing:
        return None
    return (f"{spec.name} can't be connected on this CreditDesk yet: its {spec.name} app "
            f"isn't configured ({' and '.join(missing)} not set). Whoever runs CreditDesk "
            "sets them and restarts it.")


def _require_app(spec: registry.Provider, settings: ProviderSettings) -> None:
    missing = app_missing(spec, settings)
    if missing:
        raise errors.NotConfigured(f"{missing} Nothing was saved.")


def _refuse_if_connected(session: Session, partner_id: str, spec: registry.Provider) -> None:
    integ = models.Integration
    connected = session.scalars(select(integ).where(
        integ.partner_id == partner_id, integ.provider == spec.key,
        integ.status.in_(("connected", "needs_reconnection"))).limit(1)).first()
    if connected is not None:
        name = f"“{connected.company_name}”" if connected.company_name else "a company"
        raise errors.InvalidState(
            f"{spec.name} is already connected ({name}); CreditDesk keeps one {spec.name} "
            "company per account. Reconnect or disconnect it on its card.")


def resume_oauth(db: Database, *, actor: Actor, settings: ProviderSettings,
                 integration_id: str, started_from: str = DASHBOARD) -> IntegrationView:
    """Sign in with the system again for a connection waiting for its authorization or
    needing reconnection: a new authorization link, the same connection."""
    now = clock.now()
    with db.write() as session:
        row = locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                               lock=True, label="integration")
        spec = registry.get(row.provider)
        if spec is None or spec.authorize_url is None or row.status not in RESUMABLE:
            name = rules.SOURCE_NAMES[rules.Source(row.provider)]
            raise errors.InvalidState(
                f"This {name} connection is {row.status.replace('_', ' ')}; there is no "
                f"sign-in with {name} to resume.")
        _require_app(spec, settings)
        audit.record(session, actor, "integration.resume", "integration", row.id,
                     {"provider": spec.key, "status": row.status})
        return _start_authorization(row, spec, settings, started_from, now)


def _connect_with_credentials(db: Database, actor: Actor, spec: registry.Provider,
                              fields: dict[str, Any], verify: registry.Verify) -> IntegrationView:
    """Check the credentials with the system first (no transaction is open meanwhile); only
    accepted ones are stored, sealed (Y7). Refused → 422, unreachable → 503, nothing stored."""
    try:
        sealed, accepted = verify(fields)
    except base.Refused as exc:
        raise errors.ValidationError(str(exc).rstrip(".") + ".") from None
    except base.Transient as exc:
        log.warning("%s connection check failed: %s", spec.name, exc)
        raise errors.Unavailable(f"{spec.name} could not be reached, try again in a "
                                 "moment; nothing was saved.") from None
    except base.ConnectorError as exc:
        log.warning("%s connection check failed: %s", spec.name, exc)
        raise errors.Unavailable(f"{spec.name} could not be reached, try again in a moment "
                                 f"({exc}); nothing was saved.") from None
    now = clock.now()
    with db.write() as session:
        clash = _other_company(session, actor.partner_id, spec, accepted.realm_id,
                               accepted.company_name, None)
        if clash:
            raise errors.ValidationError(clash)
        row = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider=spec.key,
            region=accepted.region, status="connected", realm_id=accepted.realm_id,
            company_name=accepted.company_name, credentials_encrypted=vault.seal(sealed),
            cursor={}, consecutive_failures=0, next_sync_at=now, created_at=now,
            updated_at=now)
        session.add(row)
        audit.record(session, actor, "integration.connect", "integration", row.id,
                     {"provider": spec.key, "realm_id": accepted.realm_id})
        return view(row)


Exchange = Callable[[str, str | None], tuple[dict[str, Any], dict[str, Any]]]


def _other_company(session: Session, partner_id: str, spec: registry.Provider,
                   realm_id: str | None, company_name: str | None,
                   integration_id: str | None) -> str | None:
    """Why this company can't be connected, if another company of the same system is
    already synced here: memos and customers are matched by the system's own ids (Y5, Y6),
    which two companies share (QuickBooks numbers every company's memos from 1), so a
    second company would overwrite the first one's memos. A connection of the same company
    (reconnecting) is fine; so is another company once the earlier one is disconnected and
    none of its memos are held. QuickBooks Desktop is not checked: its connections are
    named by their Web Connector user, not by company file."""
    integ, cm = models.Integration, models.CreditMemo
    if realm_id is None or spec.key == rules.Source.QUICKBOOKS_DESKTOP.value:
        return None
    others = session.execute(select(integ.company_name, integ.realm_id, integ.status).where(
        integ.partner_id == partner_id, integ.provider == spec.key,
        integ.realm_id.is_not(None), integ.realm_id != realm_id,
        *([integ.id != integration_id] if integration_id else []))
        .order_by(integ.created_at)).all()
    if not others:
        return None
    held = session.scalar(select(cm.id).where(cm.partner_id == partner_id,
                                              cm.source == spec.key).limit(1)) is not None
    clash = next((o for o in others if o.status != "disconnected" or held), None)
    if clash is None:
        return None
    this = f"“{company_name}”" if company_name else "this company"
    that = f"“{clash.company_name}”" if clash.company_name else f"company {clash.realm_id}"
    return (f"{spec.name} {this} can't be connected: this account already syncs {spec.name} "
            f"{that}, and CreditDesk keeps one {spec.name} company per account (the two "
            f"companies' ids would collide and overwrite each other's credit memos). "
            f"Reconnect {that} instead.")


def _required(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise errors.ValidationError.for_field(name, "is required")
    return value


def oauth_started_from(db: Database, *, state: object) -> tuple[str, str] | None:
    """(connection id, where it was started: DASHBOARD or API) of a known authorization
    link; None for an unknown or used one. The callback picks its answer by it."""
    if not isinstance(state, str) or not state or len(state) > 500:
        return None
    with db.read() as session:
        row = session.execute(select(models.Integration.id,
                                     models.Integration.oauth_started_from).where(
            models.Integration.oauth_state_hash == _hash(state))).one_or_none()
    return (row.id, row.oauth_started_from or API) if row is not None else None


def _pending(db: Database, state: str) -> tuple[str, str, str, bool]:
    """(id, partner, provider, expired) of the connection an authorization link belongs to."""
    with db.read() as session:
        row = session.scalars(select(models.Integration).where(
            models.Integration.oauth_state_hash == _hash(state))).one_or_none()
        if row is None:
            raise errors.NotFound("This authorization link is unknown or was already used; "
                                  "start the connection again from CreditDesk.")
        expired = clock.now() - row.updated_at > STATE_TTL
        return row.id, row.partner_id, row.provider, expired


def _not_completed(db: Database, integration_id: str, partner_id: str, spec: registry.Provider,
                   reason: str) -> None:
    """Record why a sign-in that can simply be tried again did not connect (declined,
    expired): the link is used up, the connection keeps its status and can be resumed."""
    now = clock.now()
    with db.write() as session:
        row = locks.get_scoped(session, models.Integration, partner_id, integration_id,
                               lock=True, label="integration")
        row.oauth_state_hash, row.updated_at, row.last_error = None, now, reason
        audit.record(session, Actor(partner_id, f"oauth:{spec.key}"), "integration.refused",
                     "integration", row.id, {"reason": reason})


def decline_oauth(db: Database, *, state: object, error: object,
                  description: object = None) -> None:
    """The provider came back with an error instead of a code (the person declined the
    consent, or the provider refused the request): said on the connection, which can be
    resumed; always raises the refusal (422)."""
    _required("state", state)
    integration_id, partner_id, provider, _expired = _pending(db, str(state))
    spec = registry.get(provider)
    name = spec.name if spec else provider
    said = str(description or error or "")[:300].strip()
    if error == "access_denied":
        reason = (f"Access was not allowed in {name} (the consent was declined); nothing was "
                  "connected. Continue to sign in again, or remove this connection.")
    else:
        reason = (f"{name} did not authorize the connection ({said or 'no reason given'}); "
                  "nothing was connected. Continue to try again, or remove this connection.")
    if spec is not None:
        _not_completed(db, integration_id, partner_id, spec, reason)
    raise errors.ValidationError(reason)


def complete_oauth(db: Database, *, state: object, code: object, realm_id: object = None,
                   exchange: Exchange | None = None,
                   exchange_for: Callable[[registry.Provider], Exchange] | None = None,
                   ) -> IntegrationView:
    """The OAuth redirect: ``exchange(code, realm_id)`` → (tokens, organisation info), done
    over HTTP before any transaction (``exchange_for(provider)`` picks it per provider);
    the provider's organisation check may refuse the connection (Y1). A link older than
    STATE_TTL is refused (409) and the connection can be resumed."""
    _required("state", state)
    integration_id, partner_id, provider, expired = _pending(db, str(state))  # 404 first
    given_code = _required("code", code)
    realm = realm_id if isinstance(realm_id, str) else None
    spec = registry.get(provider)
    if spec is None or spec.accept is None:
        raise errors.InvalidState(f"{provider} can't be connected yet")
    if expired:
        reason = (f"The sign-in with {spec.name} took longer than "
                  f"{int(STATE_TTL.total_seconds() // 60)} minutes and its authorization link "
                  "expired; nothing was connected. Continue to sign in again.")
        _not_completed(db, integration_id, partner_id, spec, reason)
        raise errors.InvalidState(reason)
    if spec.callback_realm_param:
        _required(spec.callback_realm_param, realm_id)
    run = exchange_for(spec) if exchange_for is not None else exchange
    if run is None:
        raise TypeError("complete_oauth needs exchange or exchange_for")
    refusal = None
    try:
        tokens, info = run(given_code, realm)
        accepted = spec.accept(info, realm)
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
        reconnecting = row.realm_id is not None
        if not refusal and reconnecting and accepted.realm_id != row.realm_id:
            refusal = _other_sign_in(spec, row, accepted)
        if not refusal:
            refusal = _other_company(session, partner_id, spec, accepted.realm_id,
                                     accepted.company_name, row.id)
        if refusal:
            row.last_error = refusal
            if not reconnecting:  # a reconnection keeps needing it; a new one is refused
                row.status, row.disconnected_at = "disconnected", now
            audit.record(session, actor, "integration.refused", "integration", row.id,
                         {"reason": refusal})
        else:
            row.status, row.realm_id, row.region = "connected", accepted.realm_id, accepted.region
            row.company_name = accepted.company_name
            row.credentials_encrypted = vault.seal(tokens)
            row.last_error, row.next_sync_at, row.consecutive_failures = None, now, 0
            row.disconnected_at = None
            audit.record(session, actor, "integration.connect", "integration", row.id,
                         {"realm_id": accepted.realm_id, "region": accepted.region})
        result = view(row)
    if refusal:
        raise errors.ValidationError(refusal)
    return result


def _other_sign_in(spec: registry.Provider, row: models.Integration,
                   accepted: registry.Accepted) -> str:
    signed = f"“{accepted.company_name}”" if accepted.company_name else "another company"
    this = f"“{row.company_name}”" if row.company_name else f"company {row.realm_id}"
    return (f"You signed in to {spec.name} {signed}, but this connection is for {this}: sign "
            f"in to {this} to reconnect it (to sync {signed} instead, disconnect this one "
            "first).")


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
    """Forget the credentials and stop syncing; the synced memos stay, read-only (as last
    synced). Disconnecting a disconnected connection changes nothing."""
    now = clock.now()
    with db.write() as session:
        row = locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                               lock=True, label="integration")
        if row.status == "disconnected":
            return
        row.status, row.credentials_encrypted, row.oauth_state_hash = "disconnected", None, None
        row.next_sync_at, row.disconnected_at, row.updated_at = None, now, now
        audit.record(session, actor, "integration.disconnect", "integration", row.id, {})


def remove(db: Database, *, actor: Actor, integration_id: str) -> None:
    """Delete a connection that never synced: one waiting for its authorization, or one
    refused at sign-in. One that has synced is disconnected instead (its runs and memos are
    its history), refused here with a 409 saying so."""
    with db.write() as session:
        row = locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                               lock=True, label="integration")
        name = rules.SOURCE_NAMES[rules.Source(row.provider)]
        ran = session.scalar(select(func.count()).select_from(models.SyncRun).where(
            models.SyncRun.integration_id == row.id))
        signed_in = session.scalar(select(func.count()).select_from(models.QbwcSession).where(
            models.QbwcSession.integration_id == row.id))
        if row.status not in ("pending_authorization", "disconnected") or ran or signed_in:
            raise errors.InvalidState(
                f"This {name} connection has synced, so it stays as the record of its syncs; "
                "disconnect it instead (its synced credit memos stay, read-only).")
        session.execute(delete(models.Integration).where(models.Integration.id == row.id))
        audit.record(session, actor, "integration.remove", "integration", row.id,
                     {"provider": row.provider, "status": row.status})


def synced_memo_count(db: Database, *, actor: Actor, provider: str) -> int:
    """How many credit memos of the partner came from ``provider`` (what a disconnect keeps)."""
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(models.CreditMemo).where(
            models.CreditMemo.partner_id == actor.partner_id,
            models.CreditMemo.source == provider)) or 0


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
    targeted: int = 0  # records a webhook named (a targeted run); 0: an incremental run
    # Y9: the invoices the run landed (``created``/``updated``/``voided`` count memos)
    invoices_created: int = 0
    invoices_updated: int = 0
    invoices_voided: int = 0


def run_view(r: models.SyncRun) -> RunView:
    return RunView(r.id, r.integration_id, r.trigger, r.status, r.queued_at, r.started_at,
                   r.finished_at, r.fetched, r.created, r.updated, r.voided, list(r.errors),
                   len(r.targets or {}), r.invoices_created, r.invoices_updated,
                   r.invoices_voided)


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
    from creditdesk.services.books import sync

    with db.read() as session:
        row = locks.get_scoped(session, models.Integration, actor.partner_id, integration_id,
                               label="integration")
        spec = registry.get(row.provider)
        if spec is not None and spec.client_pulls is not None:
            raise errors.InvalidState(spec.client_pulls)
        if row.status != "connected":
            raise errors.InvalidState(
                f"This {rules.SOURCE_NAMES[rules.Source(row.provider)]} integration is "
                f"{row.status.replace('_', ' ')}; connect it again before syncing.")
    return sync.request_run(db, integration_id=integration_id, trigger="manual",
                            partner_id=actor.partner_id)
