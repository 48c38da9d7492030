"""The Idempotency-Key header on POST requests (E2): one execution, one answer, also across
a crash at any instant.

``IdempotencyMiddleware`` opens a unit (``db/units.py``) for a keyed POST and holds its
answer back; ``bind`` (called by the API route class once the caller is authenticated)
replays a stored answer or lets the request's writes join the unit, whose first statement
claims the key. When the route has answered, the answer is written into the same
transaction as the effect and committed with it, and only then sent. A request that fails
authentication or reaches no API operation never binds, so it stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from decimal import Decimal
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditdesk import faults
from creditdesk.db import units
from creditdesk.domain import errors
from creditdesk.services.common import idempotency, vault
from creditdesk.services.common.context import Actor
from creditdesk.web import errors as web_errors

HEADER = b"idempotency-key"
REPLAYED = "idempotent-replayed"
# Refusals a retry may see go differently: they are answered, not stored.
TRANSIENT_CODES = frozenset({"conflict", "idempotency_key_in_progress", "unavailable",
                             "too_many_attempts", "unauthenticated"})
# The commit of a held transaction gets threads of its own: in the shared pool, every thread
# could be a request waiting for a lock this commit would release (a deadlock).
_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary())


async def _off_loop(fn, *args) -> None:
    loop = asyncio.get_running_loop()
    limiter = _committers.get(loop)
    if limiter is None:
        limiter = _committers[loop] = anyio.CapacityLimiter(100)
    await anyio.to_thread.run_sync(fn, *args, limiter=limiter)


def _number(text: str) -> str:
    """A JSON number's exact value, the same for 60.1, 60.10 and 6.01e1 (never via float:
    0.1 and 0.10000000000000001 are different requests)."""
    sign, digits, exponent = Decimal(text).as_tuple()
    coefficient = "".join(map(str, digits)).rstrip("0")
    if not coefficient:
        return "0"
    assert isinstance(exponent, int)
    exponent += len(digits) - len(coefficient)
    return f"{'-' if sign else ''}{coefficient}e{exponent}"


class _Number(str):
    """A JSON number, kept as its exact value while canonicalising."""


def _canonical(value: Any) -> str:
    """One text for one JSON value, whatever the spacing, key order or number spelling."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _canonical(value[k])
                              for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, _Number):
        return "#" + value  # unquoted: no JSON string can spell the same text
    return json.dumps(value)


def _request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    try:
        exact = lambda text: _Number(_number(text))  # noqa: E731
        canonical = _canonical(json.loads(body, parse_float=exact, parse_int=exact)).encode()
    except (ValueError, RecursionError):
        canonical = body
    parts = [method.encode(), path.encode(), query, canonical]
    return vault.fingerprint(b"\0".join(parts))  # keyed: bodies may carry passwords


class _Keyed:
    """What the middleware knows of a keyed request before it is authenticated."""

    def __init__(self, unit: units.Unit, key: str, request_hash: str) -> None:
        self.unit, self.key, self.request_hash = unit, key, request_hash
        self.request: idempotency.Request | None = None  # once bound to a partner


def is_keyed(request: Request) -> bool:
    """Whether the request came with an Idempotency-Key (``bind`` has work to do)."""
    return "creditdesk.idempotency" in request.scope


async def bind(request: Request, actor: Actor) -> None:
    """Called once the caller of an API operation is known: replay the key's stored answer
    (raises ``idempotency.Replay``), or make the request's writes claim the key."""
    keyed = request.scope.get("creditdesk.idempotency")
    if not isinstance(keyed, _Keyed) or keyed.request is not None or is_preview(request):
        return
    req = idempotency.Request(actor.partner_id, keyed.key, keyed.request_hash)
    stored = await run_in_threadpool(idempotency.lookup, keyed.unit.db, req)
    if stored is not None:
        raise idempotency.Replay(stored)
    faults.point("idempotency.looked_up")
    keyed.request = req
    keyed.unit.bind(lambda conn: idempotency.claim_on(conn, req))


# The spellings of true a bool query parameter takes (pydantic's), e.g. ?preview=true.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})


def is_preview(request: Request) -> bool:
    """A P6 preview (``?preview=true``) changes nothing, so it has nothing to keep: it is
    neither replayed from nor stored under its key, which stays free for the real change
    (whose request differs by that query, so it could never share the preview's answer)."""
    return request.query_params.get("preview", "").strip().lower() in _TRUE


def install(app: FastAPI) -> None:
    @app.exception_handler(idempotency.Replay)
    async def _replay(_request: Request, exc: idempotency.Replay) -> Response:
        stored = exc.stored
        return Response(stored.body.encode(), status_code=stored.status,
                        media_type=stored.content_type, headers={REPLAYED: "true"})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = dict(scope["headers"]).get(HEADER) if scope["type"] == "http" else None
        if raw is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            key = idempotency.check_key(raw.decode("latin-1").strip())
        except errors.DomainError as exc:
            await web_errors.domain_problem(exc)(scope, receive, send)
            return
        body = await _read_body(receive)
        request_hash = _request_hash(scope["method"], scope["path"],
                                     scope.get("query_string", b""), body)
        answer = _Answer()
        with units.opened(scope["app"].state.db) as unit:
            keyed = _Keyed(unit, key, request_hash)
            try:
                await self.app({**scope, "creditdesk.idempotency": keyed}, _replay(body),
                               answer.capture)
                faults.point("idempotency.answered")
                await _off_loop(_keep, keyed, answer)
            except BaseException:
                with anyio.CancelScope(shield=True):  # a cancelled request still lets go
                    await _off_loop(unit.close)  # as a crash would: nothing half-done stays
                raise
        await answer.send(send)


class _Answer:
    """The route's answer, held back until it is committed."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def status(self) -> int:
        return self.start["status"] if self.start else 500

    def header(self, name: bytes) -> str | None:
        for k, v in (self.start or {}).get("headers", []):
            if k.lower() == name:
                return v.decode("latin-1")
        return None

    def stored(self) -> idempotency.Stored:
        return idempotency.Stored(self.status, b"".join(self.chunks).decode("utf-8", "replace"),
                                  self.header(b"content-type") or "application/json")

    def replace(self, response: Response) -> None:
        self.start = {"type": "http.response.start", "status": response.status_code,
                      "headers": response.raw_headers}
        self.chunks = [response.body]

    async def send(self, send: Send) -> None:
        assert self.start is not None
        await send(self.start)
        await send({"type": "http.response.body", "body": b"".join(self.chunks)})


def _keep(keyed: _Keyed, answer: _Answer) -> None:
    """Commit the effect with its answer, or store an answer that had none (in a thread)."""
    unit, req = keyed.unit, keyed.request
    if req is None or answer.header(REPLAYED.encode()) is not None:
        unit.close()  # not bound (no operation, no partner) or a replay: nothing to keep
        return
    if unit.has_effect and answer.status < 500:
        try:
            unit.commit(lambda conn: idempotency.answer_on(conn, req, answer.stored()))
        except DBAPIError:
            # The commit failed or its outcome is unknown: the client must retry with the
            # key, and the retry replays the answer or runs for the first time.
            answer.replace(web_errors.problem(
                503, "unavailable", "The change could not be confirmed; retry the request "
                "with the same Idempotency-Key.", headers={"Retry-After": "1"}))
        return
    unit.close()  # a 5xx keeps nothing: the effect (if any) is rolled back, the key free
    if answer.status < 500 and _code(answer) not in TRANSIENT_CODES:
        idempotency.store(unit.db, req, answer.stored())


def _code(answer: _Answer) -> str | None:
    if not (answer.header(b"content-type") or "").startswith(web_errors.PROBLEM):
        return None
    try:
        code = json.loads(b"".join(answer.chunks)).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
