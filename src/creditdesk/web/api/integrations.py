"""Accounting integrations (API.md, Y1-Y8): connect, OAuth callback, sync now, runs."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from creditdesk.domain import errors as domain_errors
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations
from creditdesk.web import urls
from creditdesk.web.api import connect_bodies, fields
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Limit
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter
from creditdesk.web.api.run_answers import run_out

router = ApiRouter(tags=["integrations"], route_class=DecimalJSONRoute)


def _callback_text(description: str | None = None) -> Any:
    """``code`` and ``state``: what the provider puts in the redirect."""
    return Query(max_length=500, description=description,
                 json_schema_extra={"pattern": fields.NON_BLANK})


def integration_out(i: integrations.IntegrationView) -> dict[str, Any]:
    out = {"id": i.id, "provider": i.provider, "status": i.status, "region": i.region,
           "realm_id": i.realm_id, "company_name": i.company_name,
           "last_synced_at": i.last_synced_at, "last_error": i.last_error,
           "next_sync_at": i.next_sync_at, "created_at": i.created_at}
    if i.authorize_url:
        out["authorize_url"] = i.authorize_url
    if i.extra:
        out.update(i.extra)
    if "web_connector" in out:  # QuickBooks Desktop: where its .qwc file is downloaded
        web_connector = out["web_connector"]
        out["web_connector"] = {"username": web_connector.get("username"),
                                "qwc_url": urls.qwc_path(i.id), **web_connector}
    return out


def injected_client(request: Request) -> httpx.Client | None:
    """The HTTP client a test put on app.state for provider calls (pointing at a fake);
    None: the integrations service makes its own."""
    return getattr(request.app.state, "integration_client", None)


def wake_runner(request: Request) -> None:
    sync_jobs.wake(request.app.state)


@router.post("/integrations", status_code=201)
def create_integration(body: connect_bodies.IntegrationIn, request: Request, db: DB,
                       actor: CurrentActor) -> dict[str, Any]:
    """OAuth providers answer ``pending_authorization`` with an ``authorize_url``; Sage
    Intacct's credentials are checked with Intacct first and it answers ``connected``."""
    created = integrations.connect(
        db, actor=actor, settings=urls.provider_settings(), client=injected_client(request),
        provider=body.provider, region=body.region, fields=body.provider_fields())
    if created.status == "connected":
        wake_runner(request)  # the first sync starts now
    return integration_out(created)


CALLBACK_REDIRECT = {"description": (
    "The connection was started on the dashboard (or, for an unknown authorization link, "
    "the request is a browser's, accepting text/html): the person is taken back to the "
    "Integrations page, which says the outcome in words.")}


@router.get("/integrations/oauth/callback", responses={303: CALLBACK_REDIRECT, 404: {},
                                                       409: {}})
async def oauth_callback(request: Request, db: DB,
                         state: Annotated[str, _callback_text()],
                         code: Annotated[str | None, _callback_text(
                             "The authorization code; required unless `error` is given "
                             "(the provider's answer when the consent was declined)")] = None,
                         realmId: Annotated[str | None, Query(max_length=500, json_schema_extra={
                             "pattern": fields.NO_NUL})] = None,
                         error: Annotated[str | None, Query(max_length=500, json_schema_extra={
                             "pattern": fields.NO_NUL})] = None,
                         error_description: Annotated[str | None, Query(
                             max_length=500, json_schema_extra={"pattern": fields.NO_NUL})
                         ] = None,
                         ) -> Any:
    """The OAuth redirect target: exchanges the code, checks the organisation, connects; an
    ``error`` from the provider (a declined consent) is recorded on the connection. Started
    on the dashboard: a 303 back to the Integrations page with the outcome (decided by what
    the connection stored when it was started); from the API: JSON, or a problem."""
    started = await run_in_threadpool(integrations.oauth_started_from, db, state=state)
    to_page = (started[1] == integrations.DASHBOARD if started is not None
               else "text/html" in request.headers.get("accept", ""))
    if code is None and error is None and not to_page:  # API.md: code and state
        raise domain_errors.ValidationError.for_field(
            "code", "is required unless the provider answered an error")
    try:
        if error is not None or (to_page and not code):
            await run_in_threadpool(integrations.decline_oauth, db, state=state,
                                    error=error or "no_code", description=error_description)
        result = await _complete(request, db, state, code, realmId)
    except domain_errors.DomainError:
        if not to_page:
            raise
        return RedirectResponse(outcome_url(started[0] if started else None), status_code=303)
    await run_in_threadpool(wake_runner, request)  # may defer jobs (a database call on PG)
    if to_page:
        return RedirectResponse(outcome_url(result.id), status_code=303)
    return integration_out(result)


def outcome_url(integration_id: str | None) -> str:
    """The Integrations page telling how a sign-in ended: that connection's state, or that
    the authorization link was unknown (expired ones are said on their connection)."""
    query = f"connection={integration_id}" if integration_id else "oauth=unknown-link"
    return f"{urls.INTEGRATIONS_PAGE}?{query}"


async def _complete(request: Request, db: DB, state: str, code: str | None,
                    realm_id: str | None) -> integrations.IntegrationView:
    return await run_in_threadpool(integrations.finish_oauth, db,
                                   settings=urls.provider_settings(), state=state, code=code,
                                   realm_id=realm_id, client=injected_client(request))


@router.get("/integrations")
def list_integrations(db: DB, actor: CurrentActor, limit: Limit = 50,
                      cursor: Cursor = None) -> dict[str, Any]:
    page = integrations.list_integrations(db, actor=actor, limit=limit, cursor=cursor)
    return {"data": [integration_out(i) for i in page.data], "next_cursor": page.next_cursor}


@router.get("/integrations/{integration_id}")
def get_integration(integration_id: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return integration_out(integrations.get_integration(db, actor=actor,
                                                        integration_id=integration_id))


@router.post("/integrations/{integration_id}/sync", status_code=202)
def sync_now(integration_id: str, request: Request, db: DB,
             actor: CurrentActor) -> dict[str, Any]:
    run_id = integrations.request_sync(db, actor=actor, integration_id=integration_id)
    wake_runner(request)
    return {"run_id": run_id}


@router.get("/integrations/{integration_id}/runs")
def list_runs(integration_id: str, db: DB, actor: CurrentActor, limit: Limit = 50,
              cursor: Cursor = None) -> dict[str, Any]:
    page = integrations.list_runs(db, actor=actor, integration_id=integration_id, limit=limit,
                                  cursor=cursor)
    return {"data": [run_out(r) for r in page.data], "next_cursor": page.next_cursor}


@router.delete("/integrations/{integration_id}", status_code=204)
def disconnect(integration_id: str, db: DB, actor: CurrentActor) -> Response:
    integrations.disconnect(db, actor=actor, integration_id=integration_id)
    return Response(status_code=204)
