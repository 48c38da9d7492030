"""Accounting-system webhooks (Y2, Y7): verify the signature over the raw body, answer fast,
queue a sync of each connection the notification names. A bad signature changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from creditdesk.connectors import settings as provider_settings
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


def qbo_realms(payload: Any) -> set[str]:
    """Realms with CreditMemo changes, from the classic or the CloudEvents payload."""
    realms: set[str] = set()
    if isinstance(payload, dict):
        for note in payload.get("eventNotifications") or []:
            entities = ((note or {}).get("dataChangeEvent") or {}).get("entities") or []
            if any((e or {}).get("name") == "CreditMemo" for e in entities):
                realms.add(str(note.get("realmId")))
    elif isinstance(payload, list):
        for event in payload:
            if (isinstance(event, dict)
                    and str(event.get("type", "")).startswith("qbo.creditmemo.")):
                realms.add(str(event.get("intuitaccountid")))
    return realms


def queue_for_realms(db: Database, provider: str, realms: set[str]) -> list[str]:
    with db.read() as session:
        ids = session.scalars(select(models.Integration.id).where(
            models.Integration.provider == provider, models.Integration.status == "connected",
            models.Integration.realm_id.in_(sorted(realms)))).all()
    return [sync.request_run(db, integration_id=i, trigger="webhook") for i in ids]


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
    realms = qbo_realms(payload)
    if realms:
        await run_in_threadpool(queue_for_realms, request.app.state.db, "quickbooks_online",
                                realms)
        await run_in_threadpool(sync_jobs.wake, request.app.state)  # may defer jobs (PG)
    return Response(status_code=200)
