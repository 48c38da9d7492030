"""Xero webhooks (Y2, Y7): ``x-xero-signature`` = base64 HMAC-SHA256 of the raw body with the
webhook key. Xero wants 200 for a good signature and 401 for a bad one, both with no body and
no cookies, within 5 seconds; the intent-to-receive handshake is just that, on empty
``events`` payloads. CREDITNOTE events queue a sync of the tenant's connection."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from creditdesk.connectors import settings as provider_settings
from creditdesk.connectors import xero
from creditdesk.jobs import sync as sync_jobs
from creditdesk.web.webhooks import queue_for_realms, valid_signature

router = APIRouter(include_in_schema=False)
CATEGORY = "CREDITNOTE"


def creditnote_tenants(payload: Any) -> set[str]:
    """Tenants with customer credit-note changes (supplier credits are not synced)."""
    tenants: set[str] = set()
    events = payload.get("events") if isinstance(payload, dict) else None
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or event.get("eventCategory") != CATEGORY:
            continue
        data = event.get("data")
        kind = data.get("Type") if isinstance(data, dict) else None
        if kind not in (None, "ACCRECCREDIT"):
            continue
        if isinstance(event.get("tenantId"), str) and event["tenantId"]:
            tenants.add(event["tenantId"])
    return tenants


def _queue(request: Request, tenants: set[str]) -> None:
    queue_for_realms(request.app.state.db, xero.PROVIDER, tenants)
    sync_jobs.wake(request.app.state)


@router.post("/webhooks/xero")
async def xero_webhook(request: Request) -> Response:
    body = await request.body()
    key = provider_settings.load().xero_webhook_key
    if not valid_signature(key, body, request.headers.get("x-xero-signature")):
        return Response(status_code=401)  # no body: Xero's rule, also for intent-to-receive
    try:
        payload = json.loads(body)
    except ValueError:
        return Response(status_code=400)
    tenants = creditnote_tenants(payload)
    if tenants:
        await run_in_threadpool(_queue, request, tenants)
    return Response(status_code=200)
