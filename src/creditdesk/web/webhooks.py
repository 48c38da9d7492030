"""Accounting-system webhooks (Y2, Y7): verify the signature over the raw body, answer fast,
queue a targeted sync of the memos the notification names for each connection it concerns
(``sync.request_run`` with targets: recorded, not run, here). A bad signature changes
nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors import settings as provider_settings
from creditdesk.connectors.base import Targets
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services import sync
from creditdesk.web.errors import problem

router = APIRouter(include_in_schema=False)


def valid_signature(secret: str, body: bytes, signature: str | None) -> bool:
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())


def queue_targeted(db: Database, provider: str, by_realm: dict[str, Targets]) -> list[str]:
    """A targeted run for each connected integration of ``provider`` whose realm (QuickBooks
    company, Xero tenant) the notification names; the ids of the runs queued or merged into."""
    if not by_realm:
        return []
    with db.read() as session:
        found = session.execute(select(models.Integration.id, models.Integration.realm_id).where(
            models.Integration.provider == provider, models.Integration.status == "connected",
            models.Integration.realm_id.in_(sorted(by_realm)))).all()
    return [sync.request_run(db, integration_id=iid, trigger="webhook",
                             targets=by_realm[str(realm)]) for iid, realm in found]


@router.post("/webhooks/quickbooks")
async def quickbooks(request: Request) -> Response:
    body = await request.body()
    verifier = provider_settings.load().qbo_webhook_verifier
    if not valid_signature(verifier, body, request.headers.get("intuit-signature")):
        return problem(401, "invalid_signature", "The intuit-signature header is missing or "
                       "does not match the body.")
    try:
        payload = json.loads(body)
    except ValueError:
        return problem(422, "validation_error", "The webhook body is not JSON.")
    by_realm = qbo.webhook_targets(payload)
    if by_realm:
        await run_in_threadpool(queue_targeted, request.app.state.db, qbo.PROVIDER, by_realm)
        await run_in_threadpool(sync_jobs.wake, request.app.state)  # may defer jobs (PG)
    return Response(status_code=200)
