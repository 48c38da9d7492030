"""Dashboard > Integrations (P1): connections with their status and sync runs, Connect
QuickBooks Online or Xero, Sync now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.connectors import settings as provider_settings
from creditdesk.domain import errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services import integrations
from creditdesk.web import templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import Admin, User
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter(prefix="/integrations")
PAGE = "/dashboard/integrations"


@router.get("")
def integrations_page(request: Request, db: DB, actor: User) -> Response:
    rows = integrations.list_integrations(db, actor=actor, limit=50).data
    runs = {i.id: integrations.list_runs(db, actor=actor, integration_id=i.id, limit=10).data
            for i in rows}
    return templating.render(request, "dashboard/integrations.html",
                             {"integrations": rows, "runs": runs})


@router.post("/connect")
def connect(db: DB, actor: Admin, form: CheckedForm) -> Response:
    created = integrations.create_integration(
        db, actor=actor, settings=provider_settings.load(), provider=text(form, "provider"),
        region=text(form, "region") or None)
    return RedirectResponse(created.authorize_url or PAGE, status_code=303)


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
