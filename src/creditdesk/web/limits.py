"""ASGI middleware capping the size of request bodies (E3): 413 problem+json, read no further.

The largest legitimate body (500 invoice lines) is far below the cap; anything bigger is
refused before it is buffered, parsed or stored by the idempotency layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditdesk.web import errors as web_errors

MAX_BODY_BYTES = 2 * 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so that the routes re-raise it as is."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is too large.")


def _too_large() -> web_errors.JSONResponse:
    return web_errors.problem(413, "request_too_large",
                              f"The request body is larger than {MAX_BODY_BYTES:,} bytes.")


class BodyLimitMiddleware:
    """``answers``: the refusal of a path that speaks another format (the Web Connector's
    SOAP endpoint answers with a SOAP fault)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES,
                 answers: Mapping[str, Callable[[], Response]] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.answers = dict(answers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.answers.get(scope["path"], _too_large)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and (len(length) > 18 or int(length) > self.max_bytes):
            await refusal()(scope, receive, send)
            return
        received, started = 0, False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await refusal()(scope, receive, send)
