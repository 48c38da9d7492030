"""ASGI middleware adding the headers a browser needs to protect what it is sent (E6).

Every answer: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (for browsers
older than ``frame-ancestors``), ``Referrer-Policy: same-origin``, and over https
``Strict-Transport-Security``. And a Content-Security-Policy by what the answer is:

- an HTML page of the dashboard, the portal, sign-in or an error: scripts, styles, images,
  fonts and requests from this origin only — no inline script or handler, no eval, no
  inline ``<style>`` (htmx is configured for that in ``base.html``; the pages' few
  behaviours are ``static/app.js``) — no plugins, no ``<base>``, never framed, and forms
  posting here or to the accounting systems' OAuth sign-in (the Connect forms redirect there);
- the API docs (``/docs``, ``/redoc``): FastAPI's pages load Swagger UI or ReDoc from their
  CDN and start it with an inline script, which is allowed by its SHA-256 hash (computed
  from the page itself), not by ``'unsafe-inline'``, so an injected handler still can't run;
- anything else (JSON, files, SOAP): ``default-src 'none'`` — nothing to load or run.

Cookies are marked ``Secure`` over https by the session middleware (``sessions.py``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditdesk.connectors import settings as provider_settings

DOCS = ("/docs", "/redoc")
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
DOCS_POLICY = ("default-src 'none'; script-src https://cdn.jsdelivr.net{hashes}; "
               "style-src https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
               "font-src https://fonts.gstatic.com; img-src 'self' data: "
               "https://fastapi.tiangolo.com https://cdn.jsdelivr.net; connect-src 'self'; "
               "worker-src blob:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def page_policy() -> str:
    """The pages' policy; the OAuth sign-in origins come from the settings (a sandbox or a
    test points them elsewhere), read when a page is answered."""
    settings = provider_settings.load()
    oauth = sorted({o for o in map(_origin, (settings.qbo_auth_url, settings.xero_auth_url))
                    if o})
    return " ".join([PAGE_POLICY, *oauth])


def docs_policy(body: bytes) -> str:
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(body))
    return DOCS_POLICY.format(hashes=hashes)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        docs = scope["path"].startswith(DOCS)
        start: Message | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if https:
                    headers["Strict-Transport-Security"] = HSTS
                html = headers.get("content-type", "").startswith("text/html")
                if docs and html:  # its policy needs the page: held until the body
                    start = message
                    return
                headers["Content-Security-Policy"] = page_policy() if html else OTHER_POLICY
            elif start is not None:  # the docs page, small and sent in one piece
                MutableHeaders(scope=start)["Content-Security-Policy"] = docs_policy(
                    message.get("body", b"") if not message.get("more_body") else b"")
                await send(start)
                start = None
            await send(message)

        await self.app(scope, receive, send_with_headers)
