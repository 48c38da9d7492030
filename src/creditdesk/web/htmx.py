"""The one htmx helper: is this an htmx request, and which fragment does it want?

Pages work without JavaScript; htmx only enhances (``hx-boost`` on the body, and a few
forms that swap one block). A fragment is a block of the page's own template, rendered
alone when htmx asks for it by the element id it targets.
"""

from __future__ import annotations

from fastapi import Request


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wanted_block(request: Request, *blocks: str) -> str | None:
    """The block to render alone: htmx targets an element whose id is the block's name
    (``memo-results`` → block ``memo_results``); boosted requests get the whole page."""
    if not is_htmx(request) or request.headers.get("hx-boosted") == "true":
        return None
    target = request.headers.get("hx-target", "")
    return target.replace("-", "_") if target in blocks else None


def redirect_headers(request: Request, url: str) -> dict[str, str]:
    """htmx follows a 303 itself; HX-Location keeps the browser URL right as well."""
    return {"HX-Location": url} if is_htmx(request) else {}
