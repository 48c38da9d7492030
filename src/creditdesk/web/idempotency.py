"""ASGI middleware for the Idempotency-Key header on POST requests (E2).

It sits outside the routes so that the stored answer is exactly the bytes the client got.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditdesk.domain import errors
from creditdesk.services import idempotency, vault
from creditdesk.web import errors as web_errors

HEADER = b"idempotency-key"


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


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key_bytes, auth = headers.get(HEADER), headers.get(b"authorization")
        if key_bytes is None or not auth:
            await self.app(scope, receive, send)
            return
        db = scope["app"].state.db
        body = await _read_body(receive)
        key = key_bytes.decode("latin-1").strip()
        credential = hashlib.sha256(auth).hexdigest()
        try:
            stored = await run_in_threadpool(idempotency.claim, db, scope=credential, key=key,
                                     request_hash=_request_hash(scope["method"], scope["path"],
                                                                scope.get("query_string", b""),
                                                                body))
        except errors.DomainError as exc:
            await web_errors.domain_problem(exc)(scope, _replay(body), send)
            return
        if stored is not None:
            await _send_stored(send, stored)
            return
        status, chunks, content_type = 500, [], "application/json"

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replay(body), capture)
        finally:
            if status >= 500 or status == 401:
                await run_in_threadpool(idempotency.release, db, scope=credential, key=key)
            else:
                await run_in_threadpool(idempotency.complete, db, scope=credential, key=key,
                                status=status, body=b"".join(chunks).decode("utf-8", "replace"),
                                content_type=content_type)


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


async def _send_stored(send: Send, stored: idempotency.Stored) -> None:
    body = stored.body.encode()
    await send({"type": "http.response.start", "status": stored.status, "headers": [
        (b"content-type", stored.content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"idempotent-replayed", b"true")]})
    await send({"type": "http.response.body", "body": body})

