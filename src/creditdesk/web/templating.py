"""Jinja2 for the pages: one environment, the ``money`` filter, and ``render``.

Templates live in ``web/templates`` (one per page; their blocks are the htmx fragments,
see ``htmx.py``); CSS and htmx itself in ``web/static``, both shipped inside the package.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from creditdesk.domain import memo as memo_rules
from creditdesk.domain import refund as refund_rules
from creditdesk.domain.money import Money
from creditdesk.web import csrf, htmx, table_labels
from creditdesk.web.portal import session as portal_session


def money(value: Money | None) -> str:
    """``$1,234.50``, ``CA$12.00``, ``1,000.500 KWD``: the one way amounts are shown."""
    return "" if value is None else value.shown()


def label(value: object) -> str:
    """``partially_applied`` → ``Partially applied``."""
    text = str(value or "").replace("_", " ")
    return text[:1].upper() + text[1:]


def when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def source_name(value: str) -> str:
    try:
        return memo_rules.SOURCE_NAMES[memo_rules.Source(value)]
    except ValueError:
        return value


env = Environment(loader=PackageLoader("creditdesk.web", "templates"),
                  autoescape=select_autoescape(default=True), trim_blocks=True,
                  lstrip_blocks=True)
env.filters.update(money=money, label=label, when=when, source_name=source_name)
env.globals.update(REASONS=[r.value for r in memo_rules.Reason],
                   STATUSES=[s.value for s in memo_rules.MemoStatus],
                   SOURCES=[s.value for s in memo_rules.Source],
                   REFUND_METHODS=[(m.value, n) for m, n in refund_rules.METHOD_NAMES.items()])


def flash(request: Request, message: str) -> None:
    """A one-time notice shown on the next page (after a redirect)."""
    request.session.setdefault("flash", []).append(message)


def context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    ctx = {"request": request, "csrf_token": csrf.token(request),
           "user": getattr(request.state, "user", None),
           "flashes": request.session.pop("flash", []) if "session" in request.scope else []}
    ctx.update(values)
    return ctx


def render(request: Request, name: str, values: dict[str, Any] | None = None, *,
           status: int = 200, block: str | None = None,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """The page ``name``, or only its ``block`` (an htmx fragment)."""
    template = env.get_template(name)
    if status >= 400 and request.method != "GET" and htmx.is_htmx(request):
        # A refused form shows again, as without JavaScript: the address stays the page's
        # (no history entry for the POST URL, which a reload would GET: 405), and the page
        # scrolls to the message (its [autofocus]) rather than to the top.
        headers = {"HX-Push-Url": "false", **(headers or {})}
        if request.headers.get("hx-boosted") == "true":
            headers.setdefault("HX-Reswap", "innerHTML show:[autofocus]:top")
    ctx = context(request, values or {})
    if block is None:
        html = template.render(ctx)
    else:
        html = "".join(template.blocks[block](template.new_context(ctx)))
    return HTMLResponse(table_labels.label_tables(html), status_code=status, headers=headers)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """The dashboard's error page, or the portal's: under the partner's name and the
    portal's navigation when a signed-in customer asked (``portal_customer``)."""
    values = {"status": status, "title": title, "detail": detail}
    if request.url.path.startswith("/portal"):
        who = getattr(request.state, "portal_customer", None)
        if who is None:
            try:
                who = portal_session.session_customer(request, request.app.state.db)
            except Exception:  # the error may be the database itself: the page still shows
                who = None
        values |= {"who": who, "partner_name": who.partner_name if who else None}
        return render(request, "portal/error.html", values, status=status)
    return render(request, "error.html", values, status=status)
