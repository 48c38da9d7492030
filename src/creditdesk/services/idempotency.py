"""E2: requests carrying an Idempotency-Key are executed once.

A key is claimed (a ``pending`` row) before the request runs and completed with the
response afterwards; a retry replays that response, a different body with the same key
is refused, and a retry racing the first attempt is told to wait. A request that fails on
the server side releases its claim so that it can be retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services import vault
from creditdesk.services.context import clock, new_id

# A claim older than this is taken to belong to a crashed process and may be re-run.
STALE_AFTER = timedelta(minutes=5)
MAX_KEY = 255


@dataclass(frozen=True)
class Stored:
    status: int
    body: str
    content_type: str


def claim(db: Database, *, scope: str, key: str, request_hash: str) -> Stored | None:
    """Claim ``key`` for a new request, or return the response stored for it."""
    if not key or len(key) > MAX_KEY:
        raise errors.ValidationError.for_field(
            "Idempotency-Key", f"must be 1 to {MAX_KEY} characters")
    for _ in range(2):
        try:
            with db.write() as session:
                row = session.scalars(select(models.IdempotencyRecord).where(
                    models.IdempotencyRecord.scope == scope,
                    models.IdempotencyRecord.key == key)).one_or_none()
                if row is None:
                    session.add(models.IdempotencyRecord(
                        id=new_id("idem"), scope=scope, key=key, request_hash=request_hash,
                        status="pending", created_at=clock.now()))
                    return None
                if row.request_hash != request_hash:
                    raise errors.IdempotencyKeyReused(
                        "This Idempotency-Key was already used with a different request; "
                        "use a new key for a new request.")
                if row.status == "done":
                    assert row.response_status is not None
                    return Stored(row.response_status, _open_body(row.response_body),
                                  row.response_content_type or "application/json")
                if clock.now() - row.created_at < STALE_AFTER:
                    raise errors.IdempotencyKeyInProgress(
                        "A request with this Idempotency-Key is still being processed; "
                        "retry in a moment.")
                row.created_at = clock.now()
                return None
        except IntegrityError:
            continue  # another attempt inserted the same key first: read what it stored
    raise errors.IdempotencyKeyInProgress(
        "A request with this Idempotency-Key is still being processed; retry in a moment.")


def _open_body(sealed: str | None) -> str:
    try:
        return str(vault.open_sealed(sealed).get("body", ""))
    except vault.VaultError:  # the secret key changed since: the answer can't be replayed
        raise errors.Conflict("The stored answer to this Idempotency-Key can no longer be "
                              "read; use a new key.") from None


def complete(db: Database, *, scope: str, key: str, status: int, body: str,
             content_type: str) -> None:
    with db.write() as session:
        row = session.scalars(select(models.IdempotencyRecord).where(
            models.IdempotencyRecord.scope == scope,
            models.IdempotencyRecord.key == key)).one()
        row.status = "done"
        row.response_status = status
        # Sealed: a stored answer may hold a secret shown once (a Web Connector password).
        row.response_body = vault.seal({"body": body})
        row.response_content_type = content_type


def release(db: Database, *, scope: str, key: str) -> None:
    with db.write() as session:
        session.execute(delete(models.IdempotencyRecord).where(
            models.IdempotencyRecord.scope == scope, models.IdempotencyRecord.key == key,
            models.IdempotencyRecord.status == "pending"))
