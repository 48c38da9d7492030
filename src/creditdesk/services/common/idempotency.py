"""E2: requests carrying an Idempotency-Key are executed once, across crashes too.

Keys belong to a partner and live 24 hours. A request with an effect claims its key as the
first statement of its transaction (``claim_on``) and writes its answer into the same
transaction just before it commits (``answer_on``), so the row and the effect are
committed together or not at all: a retry finds the answer and replays it, or finds
nothing and runs. A retry racing the first attempt waits for it on the key's unique index
(then replays what it committed, or runs if it rolled back); on PostgreSQL it waits at most
``RACE_WAIT`` and is then told the key is in progress. An answer without an effect (a
refusal) is stored afterwards on its own (``store``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Row, Select, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.common import vault
from creditdesk.services.common.context import clock, new_id

EXPIRES_AFTER = timedelta(hours=24)
RACE_WAIT = "5s"  # PostgreSQL lock_timeout while a retry waits for the attempt it races
MAX_KEY = 255
_IR = models.IdempotencyRecord


@dataclass(frozen=True)
class Stored:
    """An answer as the client got it."""

    status: int
    body: str
    content_type: str


@dataclass(frozen=True)
class Request:
    """Who sent which key with which request (a keyed fingerprint of it)."""

    partner_id: str
    key: str
    request_hash: str


class Replay(Exception):
    """The key has an answer already: send it again instead of running the request."""

    def __init__(self, stored: Stored) -> None:
        super().__init__(stored.status)
        self.stored = stored


def check_key(key: str) -> str:
    """The key as given, or a validation error naming the header."""
    if not key or len(key) > MAX_KEY:
        raise errors.ValidationError.for_field(
            "Idempotency-Key", f"must be 1 to {MAX_KEY} characters")
    return key


def _in_progress() -> errors.IdempotencyKeyInProgress:
    return errors.IdempotencyKeyInProgress(
        "A request with this Idempotency-Key is still being processed; retry in a moment.")


def _expired(created_at: datetime) -> bool:
    return clock.now() - created_at >= EXPIRES_AFTER


# A key's row as _select reads it: id, request_hash, response_status, response_body,
# response_content_type, created_at.
_Columns = tuple[str, str, int | None, str | None, str | None, datetime]


def _where(req: Request) -> ColumnElement[bool]:
    return (_IR.partner_id == req.partner_id) & (_IR.key == req.key)


def _answer(row: Row[*_Columns], req: Request) -> Stored:
    if row.request_hash != req.request_hash:
        raise errors.IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request; use a new key "
            "for a new request.")
    if row.response_status is None:  # only ever seen inside its own transaction
        raise _in_progress()
    try:
        body = str(vault.open_sealed(row.response_body).get("body", ""))
    except vault.VaultError:  # the secret key changed since: the answer can't be replayed
        raise errors.Conflict("The stored answer to this Idempotency-Key can no longer be "
                              "read; use a new key.") from None
    return Stored(row.response_status, body, row.response_content_type or "application/json")


def _select(req: Request) -> Select[*_Columns]:
    return select(_IR.id, _IR.request_hash, _IR.response_status, _IR.response_body,
                  _IR.response_content_type, _IR.created_at).where(_where(req))


def lookup(db: Database, req: Request) -> Stored | None:
    """The stored answer to the key (``Replay`` it), or None when the request should run.
    An expired record is deleted here, so that the key can be claimed again."""
    with db.lookup() as conn:
        row = conn.execute(_select(req)).one_or_none()
    if row is None:
        return None
    if _expired(row.created_at):
        with db.write_connection() as conn:
            conn.execute(delete(_IR).where(_IR.id == row.id))
        return None
    return _answer(row, req)


def claim_on(conn: Connection, req: Request) -> None:
    """Insert the key's row as the first statement of the effect's transaction.

    Raises ``Replay`` when another attempt committed an answer meanwhile,
    ``IdempotencyKeyReused`` when that attempt was another request, and
    ``IdempotencyKeyInProgress`` when it is still running after ``RACE_WAIT`` (PostgreSQL).
    """
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{RACE_WAIT}'")
    try:
        for _ in range(2):
            try:
                with conn.begin_nested():
                    conn.execute(insert(_IR).values(
                        id=new_id("idem"), partner_id=req.partner_id, key=req.key,
                        request_hash=req.request_hash, created_at=clock.now()))
                return
            except IntegrityError:
                row = conn.execute(_select(req)).one_or_none()
                if row is None:
                    continue  # rolled back or purged meanwhile: claim it now
                if not _expired(row.created_at):
                    raise Replay(_answer(row, req)) from None
                conn.execute(delete(_IR).where(_IR.id == row.id))
            except OperationalError as exc:
                if postgres and getattr(exc.orig, "sqlstate", None) == "55P03":
                    raise _in_progress() from None  # lock_not_available: still running
                raise
        raise _in_progress()
    finally:
        if postgres:
            conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")


def answer_on(conn: Connection, req: Request, stored: Stored) -> None:
    """Write the answer into the row ``claim_on`` inserted, in the same transaction."""
    conn.execute(update(_IR).where(_where(req)).values(**_columns(stored)))


def store(db: Database, req: Request, stored: Stored) -> None:
    """Keep an answer that had no effect (a refusal) for the key's retries; if another
    attempt stored one first, that one stays."""
    try:
        with db.write_connection() as conn:
            conn.execute(insert(_IR).values(
                id=new_id("idem"), partner_id=req.partner_id, key=req.key,
                request_hash=req.request_hash, created_at=clock.now(), **_columns(stored)))
    except IntegrityError:
        pass


def _columns(stored: Stored) -> dict[str, object]:
    # Sealed: a stored answer may hold a secret shown once (a Web Connector password).
    return {"response_status": stored.status, "response_body": vault.seal({"body": stored.body}),
            "response_content_type": stored.content_type}


def purge_expired(db: Database) -> int:
    """Delete the records older than 24 hours (the scheduled job); how many went."""
    with db.write_connection() as conn:
        return conn.execute(delete(_IR).where(
            _IR.created_at < clock.now() - EXPIRES_AFTER)).rowcount
