"""The signed session cookie of the pages (Starlette's SessionMiddleware, itsdangerous).

HttpOnly and SameSite=Lax always; Secure whenever the request came over https (behind a
proxy: uvicorn's ``--proxy-headers``). The API under ``/api`` and the static files get no
session. The key is ``CREDITDESK_SECRET_KEY`` (or the generated one), read on first use so
that building the app never writes a key file.
"""

from __future__ import annotations

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditdesk.config import get_settings

COOKIE = "creditdesk_session"
MAX_AGE = 7 * 24 * 3600  # the cookie; the dashboard and portal sessions expire sooner
NO_SESSION = ("/api/", "/static/", "/healthz", "/docs", "/openapi.json")


class Sessions:
    def __init__(self, app: ASGIApp, secret_key: str | None = None) -> None:
        self.app = app
        self.secret_key = secret_key
        self.inner: SessionMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_SESSION):
            await self.app(scope, receive, send)
            return
        if self.inner is None:
            key = self.secret_key or get_settings().resolved_secret_key()
            self.inner = SessionMiddleware(self.app, secret_key=key, session_cookie=COOKIE,
                                           max_age=MAX_AGE, same_site="lax", https_only=False)
        secure = scope.get("scheme") == "https"

        async def send_secure(message: Message) -> None:
            if secure and message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v + b"; secure" if k == b"set-cookie"
                     and v.startswith(COOKIE.encode() + b"=") else v)
                    for k, v in message.get("headers", [])]
            await send(message)

        await self.inner(scope, receive, send_secure)
