"""The one table from errors to HTTP: every refusal becomes application/problem+json.

Nothing a client sends may produce a 500: the last handler turns anything unexpected into
a problem document (and logs it) instead of leaking a stack trace.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditdesk.domain import errors

log = logging.getLogger("creditdesk.web")

PROBLEM = "application/problem+json"

STATUS: dict[type[errors.DomainError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.TooManyAttempts: 429,
    errors.NotFound: 404,
    errors.InvalidState: 409,
    errors.MemoHasApplications: 409,
    errors.MemoHasRefunds: 409,
    errors.ReadOnly: 409,
    errors.WriteBackPending: 409,
    errors.ApprovalRequired: 409,
    errors.Conflict: 409,
    errors.IdempotencyKeyInProgress: 409,
    errors.NotConfigured: 409,
    errors.ValidationError: 422,
    errors.ExceedsMemoRemaining: 422,
    errors.ExceedsInvoiceBalance: 422,
    errors.ExceedsInvoiceTotal: 422,
    errors.CurrencyMismatch: 422,
    errors.CustomerMismatch: 422,
    errors.IdempotencyKeyReused: 422,
    errors.Unavailable: 503,
}

# Codes the handlers below answer with, beyond the STATUS table's classes.
HANDLER_CODES: dict[int, str] = {
    401: "unauthenticated", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
    413: "request_too_large", 422: "validation_error", 500: "internal_error",
    503: "unavailable",
}

TITLES = {
    401: "Unauthenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict",
    413: "Request too large", 415: "Unsupported media type", 422: "Unprocessable request",
    429: "Too many attempts",
    500: "Internal error", 503: "Service busy",
}


# Error pages (dashboard and portal) say what happened in plain words; the API keeps the
# problem+json titles above.
PAGE_TITLES = {
    400: "Something in this request is wrong", 401: "Please sign in",
    403: "You can't do that here", 404: "This page isn't here",
    405: "This page can't do that", 409: "That can't be done right now",
    413: "That was too much to send at once", 415: "That kind of request isn't accepted",
    422: "Something in this address is wrong", 429: "Too many attempts",
    500: "Something went wrong on our side", 503: "We're busy: try again in a moment",
}
NOTHING_HERE = "There is nothing at this path."
PAGE_NOTHING_HERE = ("The page you asked for isn't here: the address may be mistyped, or the "
                     "page may have moved. Use the links above to find what you need.")


def problem(status: int, code: str, detail: str, field_errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://creditdesk.dev/problems/{code}", "title": TITLES.get(status, "Error"),
        "status": status, "detail": detail, "code": code,
    }
    if field_errors:
        body["errors"] = field_errors
    all_headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    all_headers.update(headers or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=all_headers)


PAGE_PREFIXES = ("/dashboard", "/portal", "/login", "/logout")


def is_page(request: Request) -> bool:
    """The dashboard and the portal answer errors with an HTML page, the API with JSON."""
    return request.url.path.startswith(PAGE_PREFIXES)


def status_for(exc: errors.DomainError) -> int:
    return next(s for cls, s in STATUS.items() if isinstance(exc, cls))


def codes_by_status() -> dict[int, list[str]]:
    """Every code each status can carry (the OpenAPI document lists them, E7)."""
    out: dict[int, set[str]] = {}
    for cls, status in STATUS.items():
        out.setdefault(status, set()).add(cls.code)
    for status, code in HANDLER_CODES.items():
        out.setdefault(status, set()).add(code)
    return {status: sorted(codes) for status, codes in sorted(out.items())}


def allowed_methods(request: Request) -> str:
    """Every method served at this request's path, whichever route serves it: Starlette's
    own 405 names only the first route matching the path (RFC 9110 wants them all)."""
    path, methods = get_route_path(request.scope), set()
    for route in routing.iter_route_contexts(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and route.methods and regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


def _page(request: Request, status: int, detail: str) -> Response:
    from creditdesk.web import templating  # the pages' renderer, only when a page failed

    if detail == NOTHING_HERE:
        detail = PAGE_NOTHING_HERE
    return templating.error_page(request, status, PAGE_TITLES.get(status, "Something went wrong"),
                                 detail)


def domain_problem(exc: errors.DomainError) -> JSONResponse:
    status = status_for(exc)
    fields = [{"field": e.field, "message": e.message} for e in exc.errors]
    return problem(status, exc.code, exc.detail, fields or None)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    name = ""
    for p in parts:
        name += f"[{p}]" if p.isdigit() else (f".{p}" if name else p)
    return name or "body"


def _field(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":  # its loc is a character offset, not a field
        return "body"
    return _field_name(tuple(err.get("loc", ())))


_OBJECT_EXPECTED = {"model_attributes_type", "model_type", "dict_type"}


def _json_kind(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "an array"
    return "a string" if isinstance(value, str) else "a number"


def _message(err: dict[str, Any]) -> str:
    whole_body = tuple(err.get("loc", ())) == ("body",)
    if err.get("type") == "json_invalid":
        return f"is not valid JSON ({err.get('ctx', {}).get('error', 'syntax error')})"
    if err.get("type") == "missing":
        return "is required: send a JSON object" if whole_body else "is required"
    if err.get("type") == "extra_forbidden":
        return "is not a field of this request"
    if whole_body and isinstance(err.get("input"), bytes | str):
        return "must be a JSON object sent with 'Content-Type: application/json'"
    if err.get("type") in _OBJECT_EXPECTED:
        return f"must be a JSON object, not {_json_kind(err.get('input'))}"
    msg = str(err.get("msg", "is invalid"))
    return msg.removeprefix("Value error, ")


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    fields = [{"field": _field(e), "message": _message(e)} for e in exc.errors()]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5]) or "invalid request"
    return problem(422, "validation_error", f"The request is invalid. {detail}.", fields)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> Response:
        if is_page(request):
            return _page(request, status_for(exc), exc.detail)
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if is_page(request):
            fields = [f"{_field(e)} {_message(e)}" for e in exc.errors()][:5]
            return _page(request, 422, "This address has an invalid value: "
                         + "; ".join(fields) + ".")
        return validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HANDLER_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else "Request refused."
        if exc.status_code == 404 and detail == "Not Found":
            detail = NOTHING_HERE
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            detail = f"{request.method} is not allowed on this path; it allows {headers['Allow']}."
        elif exc.status_code == 413:
            detail = "The request body is too large."
        if is_page(request):
            page = _page(request, exc.status_code, detail)
            page.headers.update(headers)
            return page
        return problem(exc.status_code, code, detail, headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # The database's constraints are the second line behind the locks; reaching them
        # means a concurrent change won a race. Nothing was written: the client may retry.
        log.warning("integrity error: %s", exc.orig)
        if is_page(request):
            return _page(request, 409, "Your change conflicted with a concurrent change and "
                         "was not applied; reload the page and try again.")
        return problem(409, "conflict", "The request conflicted with a concurrent change and "
                       "was not applied; reload and try again.")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # The database refused a value (e.g. a character it can't store) that validation
        # let through. The transaction was rolled back: it is the client's input, not a crash.
        log.warning("data error: %s", exc.orig)
        if is_page(request):
            return _page(request, 422, "The form contains a value the database can't store; "
                         "check the text and numbers you entered.")
        return problem(422, "validation_error", "The request contains a value the database "
                       "can't store; check the text and numbers you sent.")

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        log.error("database unavailable: %s", exc.orig)
        if is_page(request):
            return _page(request, 503, "The database is busy; try again in a moment.")
        return problem(503, "unavailable", "The database is busy; try again in a moment.",
                       headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return unexpected(request, exc)


def unexpected(request: Request, exc: Exception) -> Response:
    """The answer to an exception nothing else handled: logged, never shown."""
    log.exception("unexpected error", exc_info=exc)
    if is_page(request):
        return _page(request, 500, "Something went wrong on our side; nothing was changed. "
                     "Try again, and contact support if it keeps happening.")
    return problem(500, "internal_error", "Something went wrong on our side; nothing was "
                   "changed. Try again, and contact support if it keeps happening.")


class LastResort:
    """ASGI middleware next to the routes: an exception no handler took becomes the 500
    answer here and goes no further. Starlette's own last handler sends that answer and
    then re-raises, and uvicorn answers a raise that follows a response by closing the
    connection, so the client's next request on its pooled keep-alive connection failed.
    (The ``Exception`` handler above stays for failures in the outer middleware.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # half an answer is out: only closing the connection can say so
                raise
            await unexpected(Request(scope), exc)(scope, receive, send)
