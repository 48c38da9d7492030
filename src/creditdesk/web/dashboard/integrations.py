"""Dashboard > Integrations (P1, Y2): connections with their status and sync runs, Connect
QuickBooks Online or Xero (OAuth: the browser goes to the provider's sign-in and the callback
brings it back here with the outcome), Connect Sage Intacct (credentials), Connect QuickBooks
Desktop (the Web Connector's password, shown once, and its .qwc file); per connection:
continue (resume) or remove a pending sign-in, reconnect, disconnect (confirmed), Sync now
with its progress polled by htmx (a refresh link without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.connectors import registry
from creditdesk.domain import errors
from creditdesk.domain import memo as rules
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations
from creditdesk.web import forms, htmx, templating, urls
from creditdesk.web import qbwc as qbwc_web
from creditdesk.web.api.deps import DB
from creditdesk.web.api.integrations import injected_client
from creditdesk.web.auth import Admin, User
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter(prefix="/integrations")
PAGE = urls.INTEGRATIONS_PAGE


ACTIVE = ("queued", "running")  # a run the page polls for
POLL = "2s"


@router.get("")
def integrations_page(request: Request, db: DB, actor: User, connection: str = "",
                      oauth: str = "") -> Response:
    """The page; ``connection`` (the OAuth callback's redirect) says how that connection's
    sign-in ended, ``oauth=unknown-link`` that the link was unknown or already used."""
    return page(request, db, actor, outcome=_outcome(db, actor, connection, oauth))


@dataclass(frozen=True)
class Outcome:
    """How an OAuth sign-in ended, in words; ``ok``: connected."""

    ok: bool
    message: str


def _outcome(db: DB, actor: User, connection: str, oauth: str) -> Outcome | None:
    if oauth == "unknown-link":
        return Outcome(False, "That sign-in link is unknown or was already used, so nothing "
                              "changed. Connect again below, or continue a pending connection.")
    if not connection or len(connection) > 64:
        return None
    try:
        i = integrations.get_integration(db, actor=actor, integration_id=connection)
    except errors.DomainError:  # another partner's or a made-up id: nothing to say
        return None
    name = source_name(i.provider)
    if i.status == "connected":
        return Outcome(True, f"Connected: {name} {company_word(i.provider)} "
                             f"“{i.company_name or i.realm_id}”. The first sync starts now; "
                             "its progress shows on the connection below.")
    if i.last_error:
        return Outcome(False, f"{name} was not connected. {i.last_error}")
    return Outcome(False, f"The sign-in with {name} is not finished yet: continue it on the "
                          "connection below.")


def source_name(provider: str) -> str:
    return rules.SOURCE_NAMES[rules.Source(provider)]


def company_word(provider: str) -> str:
    return "organisation" if provider == "xero" else "company"


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe_run(r: integrations.RunView) -> str:
    """A sync run in words: waiting, running, or how it ended with its counts and errors."""
    if r.status == "queued":
        return f"Sync waiting to start (queued at {r.queued_at:%H:%M:%S} UTC)…"
    if r.status == "running":
        started = r.started_at or r.queued_at
        return f"Sync running since {started:%H:%M:%S} UTC…"
    when = f"at {r.finished_at:%Y-%m-%d %H:%M} UTC" if r.finished_at else "earlier"
    counts = (f"{r.fetched} fetched; "
              f"{_counted(r.created, 'memo')} created, {r.updated} updated, {r.voided} voided; "
              f"{_counted(r.invoices_created, 'invoice')} created, {r.invoices_updated} "
              f"updated, {r.invoices_voided} voided")
    problems = "; ".join(e.get("message", "") for e in r.errors[:3])
    more = f" (and {len(r.errors) - 3} more)" if len(r.errors) > 3 else ""
    if r.status == "failed":
        return f"Last sync failed {when}: {problems or 'no reason recorded'}{more}."
    if r.status == "partial":
        return (f"Last sync finished {when} with problems: {counts}; "
                f"{_counted(len(r.errors), 'record')} could not be synced: {problems}{more}.")
    return f"Last sync finished {when}: {counts}."


def _sync_state(db: DB, actor: User, i: integrations.IntegrationView) -> dict[str, Any]:
    runs = integrations.list_runs(db, actor=actor, integration_id=i.id, limit=10).data
    # A new connection's first sync is due (its runner queues it in a moment): poll for it
    # too. (QuickBooks Desktop's runs come when the Web Connector calls, not from here.)
    first_due = (not runs and i.status == "connected" and i.next_sync_at is not None
                 and i.provider != qbd.PROVIDER)
    return {"i": i, "runs": runs, "first_due": first_due, "poll": POLL,
            "active": first_due or (bool(runs) and runs[0].status in ACTIVE),
            "describe_run": describe_run}


@router.get("/{integration_id}/sync-status")
def sync_status(request: Request, integration_id: str, db: DB, actor: User) -> Response:
    """One connection's status and runs (the fragment the page polls while a run is queued
    or running; without ``hx-get`` in it once the run is over, so the polling stops). Asked
    for as a page (say, the address a sign-in came back to): the page."""
    i = integrations.get_integration(db, actor=actor, integration_id=integration_id)
    if not htmx.is_htmx(request):
        return RedirectResponse(PAGE, status_code=303)
    return templating.render(request, "dashboard/integration_sync.html",
                             _sync_state(db, actor, i), headers={"Cache-Control": "no-store"})


def page(request: Request, db: DB, actor: User, refusal: forms.Refusal | None = None,
         desktop: dict[str, str] | None = None, outcome: Outcome | None = None) -> Response:
    """The page; with a refusal, shown next to its form (with the refusal's status); with
    ``desktop``, a new QuickBooks Desktop connection's Web Connector password, shown once."""
    rows = integrations.list_integrations(db, actor=actor, limit=50).data
    states = {i.id: _sync_state(db, actor, i) for i in rows}
    held = {p: integrations.synced_memo_count(db, actor=actor, provider=p)
            for p in {i.provider for i in rows}}
    settings = urls.provider_settings()
    # No Connect for a system already connected (or waiting for its sign-in: continue it).
    taken = {i.provider: i.status for i in rows
             if i.status in ("connected", "needs_reconnection", "pending_authorization")}
    unconfigured = {key: integrations.app_missing(spec, settings)
                    for key, spec in registry.PROVIDERS.items()}
    # The answer that shows a password is kept by no cache; with htmx the address stays the
    # page's (a reload shows the page without it) and hx-history="false" in the template
    # keeps it out of htmx's history snapshots (localStorage).
    headers = {"Cache-Control": "no-store", "HX-Push-Url": "false"} if desktop else None
    return templating.render(request, "dashboard/integrations.html",
                             {"integrations": rows, "states": states, "refusal": refusal,
                              "desktop": desktop, "outcome": outcome, "held": held,
                              "taken": taken, "unconfigured": unconfigured,
                              "company_word": company_word, "describe_run": describe_run,
                              "poll": POLL},
                             status=refusal.status if refusal else 200, headers=headers)


def to_provider(request: Request, url: str) -> Response:
    """Send the whole browser to the provider's sign-in: a 303 for a plain form post; for an
    htmx request (which must not follow a redirect to another site: CORS) HX-Redirect."""
    if htmx.is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _form_of(provider: str) -> str:
    """The connect form a refusal is shown next to: the provider's, or the top of them all
    when the (hidden) provider field names none."""
    return f"connect-{provider}" if registry.get(provider) is not None else "connect"


@router.post("/connect")
def connect(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    """QuickBooks Online or Xero: to the provider's sign-in (a pending connection of the same
    system is continued, not doubled); refused in words when the system is connected already
    or its app isn't configured on this server."""
    provider = text(form, "provider")
    try:
        created = integrations.create_integration(
            db, actor=actor, settings=urls.provider_settings(), provider=provider,
            region=text(form, "region") or None, started_from=integrations.DASHBOARD,
            refuse_if_connected=True)
    except errors.DomainError as exc:
        return page(request, db, actor, refusal=forms.refusal(_form_of(provider), exc))
    return to_provider(request, created.authorize_url or PAGE)


def _card(integration_id: str) -> str:
    """The refusal's place: the connection's card."""
    return f"integration-{integration_id}"


@router.post("/{integration_id}/resume")
def resume(request: Request, integration_id: str, db: DB, actor: Admin,
           _f: CheckedForm) -> Response:
    """Continue a pending sign-in, or reconnect: to the provider's sign-in again."""
    try:
        resumed = integrations.resume_oauth(db, actor=actor, settings=urls.provider_settings(),
                                            integration_id=integration_id)
    except (errors.InvalidState, errors.NotConfigured) as exc:
        return page(request, db, actor, refusal=forms.refusal(_card(integration_id), exc))
    return to_provider(request, resumed.authorize_url or PAGE)


@router.post("/{integration_id}/remove")
def remove(request: Request, integration_id: str, db: DB, actor: Admin,
           _f: CheckedForm) -> Response:
    """Remove a connection that never synced (pending, or refused at sign-in)."""
    try:
        gone = integrations.get_integration(db, actor=actor, integration_id=integration_id)
        integrations.remove(db, actor=actor, integration_id=integration_id)
    except errors.InvalidState as exc:
        return page(request, db, actor, refusal=forms.refusal(_card(integration_id), exc))
    templating.flash(request, f"The {source_name(gone.provider)} connection that was not "
                              "completed was removed.")
    return RedirectResponse(PAGE, status_code=303)


@router.post("/{integration_id}/disconnect")
def disconnect(request: Request, integration_id: str, db: DB, actor: Admin,
               _f: CheckedForm) -> Response:
    """Disconnect (confirmed on the page, which says what happens to the synced memos)."""
    gone = integrations.get_integration(db, actor=actor, integration_id=integration_id)
    integrations.disconnect(db, actor=actor, integration_id=integration_id)
    name = f"{source_name(gone.provider)}"
    if gone.company_name:
        name += f" {company_word(gone.provider)} “{gone.company_name}”"
    templating.flash(request, f"{name} disconnected: syncing stopped; its synced credit memos "
                              "stay here, read-only.")
    return RedirectResponse(PAGE, status_code=303)


@router.post("/connect-with-credentials")
def connect_with_credentials(request: Request, db: DB, actor: Admin,
                             form: CheckedForm) -> Response:
    """Sage Intacct: the credentials are checked with the system before anything is saved; a
    refusal shows next to the form with what was typed, except the secrets."""
    spec = registry.get(text(form, "provider"))
    if spec is None or spec.check is None:
        refused = errors.ValidationError.for_field("provider",
                                                   "can't be connected with credentials")
        return page(request, db, actor, refusal=forms.refusal("connect", refused))
    typed = {name: form.get(name) for name in spec.fields}
    fields = {k: v if isinstance(v, str) else None for k, v in typed.items()}
    try:
        created = integrations.connect(
            db, actor=actor, settings=urls.provider_settings(), client=injected_client(request),
            provider=spec.key, fields=fields)
    except errors.DomainError as exc:
        kept = {k: (v or "").strip() for k, v in fields.items() if k not in spec.secret_fields}
        return page(request, db, actor, refusal=forms.refusal(f"connect-{spec.key}", exc, kept))
    templating.flash(request, f"{spec.name} company {created.company_name} connected; the "
                     "first sync has started.")
    sync_jobs.wake(request.app.state)
    return RedirectResponse(PAGE, status_code=303)


@router.post("/connect-desktop")
def connect_desktop(request: Request, db: DB, actor: Admin, _f: CheckedForm) -> Response:
    """QuickBooks Desktop: CreditDesk makes the Web Connector's user name and password. The
    password is only in this answer (the page, rendered here rather than after a redirect:
    it is never stored, not even in the session); the connection then waits
    (pending authorization) until the Web Connector first signs in with it."""
    created = integrations.create_integration(db, actor=actor, settings=urls.provider_settings(),
                                              provider=qbd.PROVIDER)
    web_connector = (created.extra or {}).get("web_connector", {})
    return page(request, db, actor, desktop={
        "id": created.id, "username": web_connector.get("username", ""),
        "password": web_connector.get("password", ""), "qwc_url": qwc_url(created.id)})


def qwc_url(integration_id: str) -> str:
    return f"{PAGE}/{integration_id}/qwc"


@router.get("/{integration_id}/qwc")
def download_qwc(integration_id: str, db: DB, actor: User) -> Response:
    """The ``.qwc`` file to load into the QuickBooks Web Connector (no password in it)."""
    return qbwc_web.qwc_download(db, actor, integration_id)


@router.post("/{integration_id}/sync")
def sync_now(request: Request, integration_id: str, db: DB, actor: User,
             form: CheckedForm) -> Response:
    try:
        integrations.request_sync(db, actor=actor, integration_id=integration_id)
        templating.flash(request, "Sync queued; its progress shows on the connection.")
    except errors.InvalidState as exc:
        templating.flash(request, exc.detail)
    sync_jobs.wake(request.app.state)
    return RedirectResponse(PAGE, status_code=303)
