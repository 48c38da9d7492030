"""Everything the accounting integrations add to the app: the API router, the webhooks and
the dashboard's Integrations page (one ``install`` so app.py changes by one call)."""

from __future__ import annotations

from fastapi import FastAPI

from creditdesk.web import qbwc, webhooks, webhooks_xero
from creditdesk.web.api import integrations as api
from creditdesk.web.dashboard import integrations as page


def install(app: FastAPI, api_prefix: str = "/api/v1") -> None:
    app.include_router(api.router, prefix=api_prefix)
    app.include_router(webhooks.router)
    app.include_router(webhooks_xero.router)
    app.include_router(page.router, prefix="/dashboard", include_in_schema=False)
    qbwc.install(app, api_prefix)  # QuickBooks Desktop: /qbwc and the .qwc download
