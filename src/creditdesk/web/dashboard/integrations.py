"""Dashboard > Integrations (P1): connections with their status and sync runs, Connect
QuickBooks Online or Xero (OAuth), Connect Sage Intacct (credentials), Connect QuickBooks
Desktop (the Web Connector's password, shown once, and its .qwc file), Sync now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.connectors import registry
from creditdesk.connectors import settings as provider_settings
from creditdesk.domain import errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services import integrations
from creditdesk.web import forms, templating
from creditdesk.web import qbwc as qbwc_web
from creditdesk.web.api.deps import DB
from creditdesk.web.api.integrations import credential_checks
from creditdesk.web.auth import Admin, User
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter(prefix="/integrations")
PAGE = "/dashboard/integrations"


@router.get("")
def integrations_page(request: Request, db: DB, actor: User) -> Response:
    return page(request, db, actor)


def page(request: Request, db: DB, actor: User, refusal: forms.Refusal | None = None,
         desktop: dict[str, str] | None = None) -> Response:
    """The page; with a refusal, shown next to its form (with the refusal's status); with
    ``desktop``, a new QuickBooks Desktop connection's Web Connector password, shown once."""
    rows = integrations.list_integrations(db, actor=actor, limit=50).data
    runs = {i.id: integrations.list_runs(db, actor=actor, integration_id=i.id, limit=10).data
            for i in rows}
    # The answer that shows a password is kept by no cache; with htmx the address stays the
    # page's (a reload shows the page without it) and hx-history="false" in the template
    # keeps it out of htmx's history snapshots (localStorage).
    headers = {"Cache-Control": "no-store", "HX-Push-Url": "false"} if desktop else None
    return templating.render(request, "dashboard/integrations.html",
                             {"integrations": rows, "runs": runs, "refusal": refusal,
                              "desktop": desktop},
                             status=refusal.status if refusal else 200, headers=headers)


def _form_of(provider: str) -> str:
    """The connect form a refusal is shown next to: the provider's, or the top of them all
    when the (hidden) provider field names none."""
    return f"connect-{provider}" if registry.get(provider) is not None else "connect"


@router.post("/connect")
def connect(request: Request, db: DB, actor: Admin, form: CheckedForm) -> Response:
    provider = text(form, "provider")
    try:
        created = integrations.create_integration(
            db, actor=actor, settings=provider_settings.load(), provider=provider,
            region=text(form, "region") or None)
    except errors.DomainError as exc:
        return page(request, db, actor, refusal=forms.refusal(_form_of(provider), exc))
    return RedirectResponse(created.authorize_url or PAGE, status_code=303)


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
        with credential_checks(request) as verify_for:
            created = integrations.create_integration(
                db, actor=actor, settings=provider_settings.load(), provider=spec.key,
                fields=fields, verify_for=verify_for)
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
    created = integrations.create_integration(db, actor=actor, settings=provider_settings.load(),
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
        templating.flash(request, "Sync queued; refresh in a moment to see the run.")
    except errors.InvalidState as exc:
        templating.flash(request, exc.detail)
    sync_jobs.wake(request.app.state)
    return RedirectResponse(PAGE, status_code=303)
