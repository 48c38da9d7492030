"""The ASGI application: API routers, error handlers and middleware on one Database."""

from __future__ import annotations

from fastapi import FastAPI

from creditdesk import __version__
from creditdesk.config import get_settings
from creditdesk.db.engine import Database
from creditdesk.web import errors, idempotency, limits
from creditdesk.web.api import catalog, customers, invoices, memos, reports

API_PREFIX = "/api/v1"


def create_app(db: Database | None = None) -> FastAPI:
    """Build the app on ``db`` (default: the configured database URL)."""
    app = FastAPI(
        title="CreditDesk", version=__version__,
        description="Accounts-receivable credit memos: native and synced from accounting "
                    "systems. Authenticate with `Authorization: Bearer <api_key>`.",
    )
    app.state.db = db or Database(get_settings().database_url)
    for module in (customers, catalog, invoices, memos, reports):
        app.include_router(module.router, prefix=API_PREFIX)
    errors.install(app)
    app.add_middleware(idempotency.IdempotencyMiddleware)
    app.add_middleware(limits.BodyLimitMiddleware)  # added last: runs first

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
