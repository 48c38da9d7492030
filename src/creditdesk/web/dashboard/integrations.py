"""Dashboard > Integrations (P1): connections with their status and sync runs, Connect
QuickBooks Online or Xero (OAuth), Connect Sage Intacct (credentials), Sync now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.connectors import registry
from creditdesk.connectors import settings as provider_settings
from creditdesk.domain import errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services import integrations
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.api.integrations import credential_checks
from creditdesk.web.auth import Admin, User
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter(prefix="/integrations")
PAGE = "/dashboard/integrations"


@router.get("")
def integrations_page(request: Request, db: DB, actor: User) -> Response:
    return page(request, db, actor)


def page(request: Request, db: DB, actor: User,
         refusal: forms.Refusal | None = None) -> Response:
    """The page; with a refusal, shown next to its form (with the refusal's status)."""
    rows = integrations.list_integrations(db, actor=actor, limit=50).data
    runs = {i.id: integrations.list_runs(db, actor=actor, integration_id=i.id, limit=10).data
            for i in rows}
    return templating.render(request, "dashboard/integrations.html",
                             {"integrations": rows, "runs": runs, "refusal": refusal},
                             status=refusal.status if refusal else 200)


@router.post("/connect")
def connect(db: DB, actor: Admin, form: CheckedForm) -> Response:
    created = integrations.create_integration(
        db, actor=actor, settings=provider_settings.load(), provider=text(form, "provider"),
        region=text(form, "region") or None)
    return RedirectResponse(created.authorize_url or PAGE, status_code=303)


@router.post("/connect-with-credentials")
def connect_with_credentials(request: Request, db: DB, actor: Admin,
                             form: CheckedForm) -> Response:
    """Sage Intacct: the credentials are checked with the system before anything is saved; a
    refusal shows next to the form with what was typed, except the secrets."""
    spec = registry.get(text(form, "provider"))
    if spec is None or spec.check is None:
        raise errors.ValidationError.for_field("provider", "can't be connected with credentials")
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
