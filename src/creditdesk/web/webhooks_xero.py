"""Xero webhooks (Y2, Y7): ``x-xero-signature`` = base64 HMAC-SHA256 of the raw body with the
webhook key. Xero wants 200 for a good signature and 401 for a bad one, both with no body and
no cookies, within 5 seconds; the intent-to-receive handshake is just that, on empty
``events`` payloads. A signed body that is not a notification is a 400 (415 for another
content type), nothing queued. CREDITNOTE events queue a targeted sync of the named credit
notes for the tenant's connection (``xero_records.webhook_targets``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from creditdesk.connectors import settings as provider_settings
from creditdesk.connectors import xero, xero_records
from creditdesk.connectors.base import Targets
from creditdesk.jobs import sync as sync_jobs
from creditdesk.web.webhooks import Unreadable, queue_targeted, signed_targets, valid_signature

router = APIRouter(include_in_schema=False)


def _queue(request: Request, by_tenant: dict[str, Targets]) -> None:
    queue_targeted(request.app.state.db, xero.PROVIDER, by_tenant)
    sync_jobs.wake(request.app.state)


@router.post("/webhooks/xero")
async def xero_webhook(request: Request) -> Response:
    body = await request.body()
    key = provider_settings.load().xero_webhook_key
    if not valid_signature(key, body, request.headers.get("x-xero-signature")):
        return Response(status_code=401)  # no body: Xero's rule, also for intent-to-receive
    try:
        by_tenant = signed_targets(request, body, xero_records.webhook_targets)
    except Unreadable as exc:  # no body here either: 415, or 400 for what is not a notification
        return Response(status_code=415 if exc.status == 415 else 400)
    if by_tenant:
        await run_in_threadpool(_queue, request, by_tenant)
    return Response(status_code=200)
