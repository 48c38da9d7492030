"""The ASGI application: API routers, the Partner Dashboard and the Customer Portal,
error handlers and middleware on one Database."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from creditdesk import __version__
from creditdesk.config import get_settings
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.web import (
    auth,
    dashboard,
    errors,
    headers,
    idempotency,
    limits,
    qbwc,
    sessions,
)
from creditdesk.web.api import (
    approvals,
    catalog,
    customers,
    documents,
    events,
    exports,
    incidents,
    invoices,
    memos,
    openapi,
    reports,
    settings,
    suggestions,
    tax,
    users,
)
from creditdesk.web.integrations_app import install as install_integrations
from creditdesk.web.portal import apply_credit as portal_apply_credit
from creditdesk.web.portal import routes as portal

API_PREFIX = "/api/v1"
STATIC = Path(__file__).parent / "static"


def create_app(db: Database | None = None, *, secret_key: str | None = None) -> FastAPI:
    """Build the app on ``db`` (default: the configured database URL)."""
    app = FastAPI(
        title="CreditDesk", version=__version__,
        description="Accounts-receivable credit memos: native and synced from accounting "
                    "systems. Authenticate with `Authorization: Bearer <api_key>`.",
    )
    app.state.db = db or Database(get_settings().database_url)
    sync_jobs.install_events()  # D4: events rendered in the API's shapes, delivery woken

    # First of the routes, so that routing tries no other for it; async and a ready
    # response, so that it costs no thread-pool hop and no serialising (B8).
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    for module in (customers, catalog, invoices, exports, memos, reports, settings, suggestions,
                   approvals, users, tax, documents, events, incidents):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(auth.router)
    app.include_router(dashboard.router())
    app.include_router(portal.router)
    app.include_router(portal_apply_credit.router)
    install_integrations(app, API_PREFIX)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app)
    idempotency.install(app)
    openapi.install(app, API_PREFIX)
    auth.install(app)
    app.add_middleware(errors.LastResort)  # added first: innermost, next to the routes
    app.add_middleware(sessions.Sessions, secret_key=secret_key)
    app.add_middleware(idempotency.IdempotencyMiddleware)
    app.add_middleware(limits.BodyLimitMiddleware, answers={qbwc.PATH: qbwc.too_large})
    app.add_middleware(headers.SecurityHeaders)  # added last: runs first, on every answer

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/credit-memos", status_code=303)

    return app
