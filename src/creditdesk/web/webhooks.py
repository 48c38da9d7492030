"""Accounting-system webhooks (Y2, Y7): verify the signature over the raw body, answer fast,
queue a targeted sync of the memos the notification names for each connection it concerns
(``sync.request_run`` with targets: recorded, not run, here). A bad signature changes
nothing; nor does a signed body that is not the system's notification (E3: 415 for another
content type, else 422 saying what was wrong; Xero's answers have no body)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors import settings as provider_settings
from creditdesk.connectors.base import Targets
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import sync
from creditdesk.web.errors import problem

router = APIRouter(include_in_schema=False)
JSON_MEDIA = re.compile(r"application/(?:[a-z0-9.+-]+\+)?json")  # also CloudEvents' +json


class Unreadable(Exception):
    """A signed body that is not a notification: the status (415 or 422) and why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def signed_targets(request: Request, body: bytes,
                   targets_of: Callable[[Any], dict[str, Targets]]) -> dict[str, Targets]:
    """What a signed notification names, by realm (``targets_of`` reads the system's format);
    ``Unreadable`` for a body of another content type (none given is taken as JSON), one
    that is not JSON (nesting too deep for the parser included) or of another shape."""
    media = request.headers.get("content-type", "application/json").split(";")[0]
    if not JSON_MEDIA.fullmatch(media.strip().lower()):
        raise Unreadable(415, f"The body must be JSON (Content-Type: application/json), "
                              f"not {media.strip()[:60]!r}.")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise Unreadable(422, "The webhook body is not JSON, or is nested too deeply.") from None
    try:
        return targets_of(payload)
    except base.MalformedWebhook as exc:
        raise Unreadable(422, f"The webhook body is not a notification: {exc}.") from None


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
        by_realm = signed_targets(request, body, qbo.webhook_targets)
    except Unreadable as exc:
        code = "validation_error" if exc.status == 422 else "unsupported_media_type"
        return problem(exc.status, code, exc.detail)
    if by_realm:
        await run_in_threadpool(queue_targeted, request.app.state.db, qbo.PROVIDER, by_realm)
        await run_in_threadpool(sync_jobs.wake, request.app.state)  # may defer jobs (PG)
    return Response(status_code=200)
