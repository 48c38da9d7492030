"""The pages' sessions (E4): a cookie with an opaque token, the session on the server.

Two cookies, one per area: ``creditdesk_session`` for the dashboard (and ``/login``),
``creditdesk_portal`` (``Path=/portal``) for the Customer Portal, so signing out of one
leaves the other alone. HttpOnly and SameSite=Lax always; Secure whenever the request came
over https (behind a proxy: uvicorn's ``--proxy-headers``); no expiry of their own (the
server's expiry governs, and the browser drops them when it closes). The API under
``/api`` and the static files get no session.

``request.session`` is the signed-in session's data (``services/access/web_sessions.py``),
written back before the response starts if a route changed it (a flash, say). A visitor who
is not signed in has no row: its data is not kept, and its CSRF token is an HMAC of its
cookie's token under ``CREDITDESK_SECRET_KEY`` (read on first use), so that anonymous
pages — the sign-in form — write nothing to the database.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import Request
from sqlalchemy.exc import OperationalError
from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditdesk.config import get_settings
from creditdesk.db.engine import Database
from creditdesk.services.access import web_sessions

COOKIES = {web_sessions.DASHBOARD: "creditdesk_session", web_sessions.PORTAL: "creditdesk_portal"}
PATHS = {web_sessions.DASHBOARD: "/", web_sessions.PORTAL: "/portal"}
NO_SESSION = ("/api/", "/static/", "/healthz", "/docs", "/openapi.json")
_STATE = "creditdesk.session"


@dataclass
class State:
    """One request's view of its session."""

    kind: str
    token: str | None  # the cookie's token, as sent or as newly issued
    secret: str
    row: web_sessions.WebSession | None = None
    data: dict[str, Any] = field(default_factory=dict)
    saved: dict[str, Any] = field(default_factory=dict)
    cookie_changed: bool = False

    def anonymous_csrf(self) -> str:
        if self.token is None:  # a first visit: its cookie is set with the response
            self.token, self.cookie_changed = secrets.token_urlsafe(32), True
        return hmac.new(self.secret.encode(), f"{self.kind}\0{self.token}".encode(),
                        hashlib.sha256).hexdigest()

    def adopt(self, token: str | None, row: web_sessions.WebSession | None) -> None:
        self.token, self.row, self.cookie_changed = token, row, True
        self.data.clear()
        self.data.update(row.data if row else {})
        self.saved = copy.deepcopy(self.data)

    def set_cookie(self, secure: bool) -> str:
        name, path = COOKIES[self.kind], PATHS[self.kind]
        attrs = f"; Path={path}; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
        if self.token is None:
            return f"{name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{attrs}"
        return f"{name}={self.token}{attrs}"


def state(request: Request) -> State | None:
    """The request's session state (None on paths without sessions)."""
    return request.scope.get(_STATE)


def _db(request: Request) -> Database:
    return request.app.state.db


def csrf_token(request: Request) -> str:
    """The session's CSRF token: kept in a signed-in session, derived for anyone else."""
    st = state(request)
    if st is None:
        return ""
    if st.row is not None:
        return str(st.row.data.get("csrf", ""))
    return st.anonymous_csrf()


def sign_in(request: Request, *, partner_id: str, user_id: str | None = None,
            customer_id: str | None = None, data: dict[str, Any] | None = None) -> None:
    """Start a session of this request's kind (a new token: the old one, if any, ends).
    Blocking: call from a sync route or through a thread."""
    st = state(request)
    assert st is not None
    token, row = web_sessions.start(
        _db(request), kind=st.kind, partner_id=partner_id, user_id=user_id,
        customer_id=customer_id, data={"csrf": secrets.token_urlsafe(32), **(data or {})},
        replaces=st.row.id_hash if st.row else None)
    st.adopt(token, row)


def sign_out(request: Request) -> None:
    """End this request's session on the server and remove its cookie."""
    st = state(request)
    if st is None:
        return
    if st.row is not None:
        web_sessions.end(_db(request), id_hash=st.row.id_hash)
    st.adopt(None, None)


def forget(request: Request) -> None:
    """The session was ended elsewhere in this request (sign out everywhere): drop the
    cookie, write nothing back."""
    st = state(request)
    if st is not None:
        st.adopt(None, None)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":  # Starlette's parser: lenient like browsers, never raises
            found = cookie_parser(value.decode("latin-1")).get(name)
            if found:
                return found
    return None


class Sessions:
    """ASGI middleware: loads the session before the route, saves it before the answer."""

    def __init__(self, app: ASGIApp, secret_key: str | None = None) -> None:
        self.app = app
        self.secret_key = secret_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_SESSION):
            await self.app(scope, receive, send)
            return
        if self.secret_key is None:
            self.secret_key = get_settings().resolved_secret_key()
        kind = web_sessions.PORTAL if scope["path"].startswith("/portal") \
            else web_sessions.DASHBOARD
        db: Database = scope["app"].state.db
        token = _cookie(scope, COOKIES[kind])
        try:
            row = await anyio.to_thread.run_sync(
                lambda: web_sessions.find(db, kind=kind, token=token)) if token else None
        except OperationalError:  # as the pages' 503: try again, nothing was changed
            await PlainTextResponse("The database is busy; try again in a moment.", 503,
                                    {"Retry-After": "1"})(scope, receive, send)
            return
        st = State(kind, token, self.secret_key, row)
        st.data.update(row.data if row else {})
        st.saved = copy.deepcopy(st.data)
        scope["session"], scope[_STATE] = st.data, st
        secure = scope.get("scheme") == "https"

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                if st.row is not None and st.data != st.saved:
                    data, id_hash = dict(st.data), st.row.id_hash
                    await anyio.to_thread.run_sync(
                        lambda: web_sessions.save_data(db, id_hash=id_hash, data=data))
                if st.cookie_changed:
                    MutableHeaders(scope=message).append("set-cookie", st.set_cookie(secure))
            await send(message)

        await self.app(scope, receive, send_with_session)
