"""What every route shares: the database, the authenticated partner, and the query
parameters of lists (page size, cursor, filters) as the OpenAPI document states them.

Scoping by partner happens here once: routes receive an ``Actor`` and pass it to the
services, which filter every query by ``actor.partner_id`` (P4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor
from creditdesk.web.api import fields


async def get_db(request: Request) -> Database:
    """Async: it does no I/O, and a sync dependency would cost a thread-pool hop."""
    return request.app.state.db


class PendingActor:
    """A bearer key not looked up yet. The route class (``jsonbody``) passes it to the
    endpoint, whose thread looks the key up before the endpoint runs: one thread-pool hop
    per request instead of two (the lookup's, then the endpoint's)."""

    def __init__(self, db: Database, token: str) -> None:
        self.db, self.token = db, token
        self.tried = False
        self.actor: Actor | None = None

    def resolve(self) -> Actor:
        """The partner behind the key, or Unauthenticated (blocking: in a thread)."""
        if self.actor is None:
            self.tried = True
            self.actor = partners.authenticate_api_key(self.db, self.token)
        return self.actor


def bearer_token(request: Request) -> str:
    """The key of ``Authorization: Bearer <api_key>``; Unauthenticated without one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated(
            "Send your API key as 'Authorization: Bearer <api_key>'.")
    return token.strip()


def pending_actor(request: Request, db: Database) -> PendingActor:
    """The caller's key, to be looked up in the endpoint's thread (``get_actor`` hands it
    on); Unauthenticated at once when the request has no bearer key at all."""
    pending = PendingActor(db, bearer_token(request))
    request.state.actor = pending
    return pending


async def get_actor(request: Request) -> Actor:
    """The partner behind the bearer key; looked up once per request (the route class
    authenticates before the body is even parsed, and this dependency reuses that, or
    hands on the ``PendingActor`` that the endpoint's thread looks up).
    Async so that the reuse costs no thread-pool hop; the lookup itself runs in one. It
    reads the database off the app itself: a ``get_db`` sub-dependency would cost FastAPI
    one more pass of its dependency solving on every request."""
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor | PendingActor):
        return cached  # type: ignore[return-value]  # a PendingActor: see jsonbody
    db: Database = request.app.state.db
    actor = await run_in_threadpool(partners.authenticate_api_key, db, bearer_token(request))
    request.state.actor = actor
    return actor


def filter_query(*, values: Sequence[str] | None = None, many: bool = False,
                 max_length: int | None = None) -> Any:
    """A text query parameter: no NUL (check_parameters refuses it), one of ``values`` when
    given (the services check, with their own message), repeatable when ``many``."""
    extra: dict[str, Any] = {"pattern": fields.NO_NUL} if values is None else {
        "enum": list(values)}
    return Query(max_length=max_length, json_schema_extra=(
        {"items": {"type": "string", **extra}} if many else extra))


DB = Annotated[Database, Depends(get_db)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (max 200)")]
Cursor = Annotated[str | None, Query(max_length=200, json_schema_extra={
    "pattern": fields.NO_NUL, "description": "The next_cursor of the previous page"})]
Filter = Annotated[str | None, filter_query()]
