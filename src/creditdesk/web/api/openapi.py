"""The OpenAPI document (E7): every answer each operation can give, derived in one place.

FastAPI documents the success answer and its own validation error. Everything else an
operation can answer follows from what it is, by the rules below, and not from notes on
each route (which would drift):

- every operation: 500 ``internal_error`` and 503 ``unavailable`` (the database or an
  accounting system can be busy at any moment);
- an operation that authenticates its caller: 401, and the bearer security scheme;
- an operation naming a resource (path ids, or body fields marked ``x-refers-to``): 404;
- a change (any method but GET): 409 (a state rule, a concurrent change, or a request with
  the same Idempotency-Key still running), 413 (the body limit) and 422;
- an operation reading query parameters or a body: 422;
- anything a route declares itself through FastAPI's ``responses=`` (e.g. 403 or 429).

Each error answer is ``application/problem+json`` with the Problem schema, its ``code``
limited to the codes ``web/errors.py`` maps to that status. POST operations also take the
optional ``Idempotency-Key`` header (E2). Written once per app, then cached by FastAPI.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from creditdesk.services.common import idempotency
from creditdesk.web import errors as web_errors
from creditdesk.web.api import jsonbody

SECURITY = "bearerAuth"
ALWAYS = (500, 503)
CHANGE = (409, 413, 422)
# Headers an error answer carries: always (401) or when the server has advice (503, 429).
ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string",
                                                            "enum": ["Bearer"]}}},
    429: {"Retry-After": {"required": False, "schema": {"type": "string"},
                          "description": "Seconds to wait before trying again"}},
    503: {"Retry-After": {"required": False, "schema": {"type": "string"},
                          "description": "Seconds to wait before trying again"}},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": (
        "E2: a key of your choosing (e.g. a UUID) that makes retrying this request safe. The "
        "same key with the same request replays the first answer (with `Idempotent-Replayed: "
        "true`); with a different request it is refused with 422 `idempotency_key_reused`; "
        "while the first request is still running, 409 `idempotency_key_in_progress`."),
    # Visible ASCII, as HTTP carries it; the server trims spaces around it.
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY,
               "pattern": r"^[!-~](?:[ -~]*[!-~])?$"},
}
REPLAYED = {"Idempotent-Replayed": {
    "required": False, "schema": {"type": "string", "enum": ["true"]},
    "description": "Present when this is the stored answer to an earlier request with the "
                   "same Idempotency-Key"}}


def install(app: FastAPI, prefix: str) -> None:
    """Serve ``document(app, prefix)`` at /openapi.json (and to /docs)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, prefix)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI, prefix: str) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for fastapi_own in ("HTTPValidationError", "ValidationError"):
        schemas.pop(fastapi_own, None)
    codes = web_errors.codes_by_status()
    schemas.update(problem_schemas(codes))
    components["securitySchemes"] = {SECURITY: {
        "type": "http", "scheme": "bearer",
        "description": "A partner's API key: `Authorization: Bearer cdk_…`"}}
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.include_in_schema \
                and context.path_format.startswith(prefix):
            for method in sorted(context.methods):
                operation = doc["paths"][context.path_format][method.lower()]
                _describe(operation, route, method, doc, codes)
    return doc


def error_statuses(route: APIRoute, method: str, body_schema: dict[str, Any] | None) -> list[int]:
    """The error statuses ``method route`` can answer, by the rules of the module docstring."""
    statuses = set(ALWAYS)
    if jsonbody.needs_actor(route):
        statuses.add(401)
    if route.param_convertors or _refers(body_schema):
        statuses.add(404)
    if method != "GET":
        statuses.update(CHANGE)
    if route.body_field is not None or jsonbody.query_parameters(route):
        statuses.add(422)
    statuses.update(int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400)
    return sorted(statuses)


def _refers(body_schema: dict[str, Any] | None) -> bool:
    """Whether a top-level field of the body names a resource (``fields.ref``)."""
    for prop in (body_schema or {}).get("properties", {}).values():
        if any("x-refers-to" in s for s in [prop, *prop.get("anyOf", [])]):
            return True
    return False


def problem_schemas(codes: dict[int, list[str]]) -> dict[str, Any]:
    """``Problem`` (API.md's error body), ``FieldError``, and ``Problem<status>`` for each
    status, whose ``code`` is one of that status's codes."""
    out: dict[str, Any] = {
        "FieldError": {
            "type": "object", "additionalProperties": False,
            "required": ["field", "message"],
            "properties": {"field": {"type": "string", "examples": ["lines[0].quantity"]},
                           "message": {"type": "string"}}},
        "Problem": {
            "type": "object", "additionalProperties": False,
            "description": "application/problem+json (RFC 9457) with a stable `code`",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string",
                           "description": "A sentence a person can act on"},
                "code": {"type": "string"},
                "errors": {"type": "array", "minItems": 1,
                           "items": {"$ref": "#/components/schemas/FieldError"},
                           "description": "The invalid fields (validation errors)"}}},
    }
    for status, status_codes in codes.items():
        out[f"Problem{status}"] = {"allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {"type": "object", "properties": {"status": {"type": "integer", "enum": [status]},
                                              "code": {"type": "string",
                                                       "enum": status_codes}}}]}
    return out


def _error_response(status: int, codes: dict[int, list[str]]) -> dict[str, Any]:
    listed = ", ".join(f"`{c}`" for c in codes.get(status, []))
    title = web_errors.TITLES.get(status, "Error")
    response: dict[str, Any] = {
        "description": f"{title}: {listed}" if listed else title,
        "content": {web_errors.PROBLEM: {"schema": {
            "$ref": f"#/components/schemas/Problem{status}"
            if status in codes else "#/components/schemas/Problem"}}}}
    if status in ERROR_HEADERS:
        response["headers"] = ERROR_HEADERS[status]
    return response


def _body_schema(operation: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema")
    while schema and "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for variant in (schema or {}).get("anyOf", []):  # an optional body: the object branch
        if "$ref" in variant:
            return doc["components"]["schemas"][variant["$ref"].rsplit("/", 1)[1]]
    return schema


def _describe(operation: dict[str, Any], route: APIRoute, method: str, doc: dict[str, Any],
              codes: dict[int, list[str]]) -> None:
    # FastAPI's own error answers (its 422 schema) give way to the derived ones.
    responses = {s: r for s, r in operation.get("responses", {}).items()
                 if not (s.isdigit() and int(s) >= 400)}
    for status in error_statuses(route, method, _body_schema(operation, doc)):
        responses[str(status)] = _error_response(status, codes)
    operation["responses"] = responses
    if jsonbody.needs_actor(route):
        operation["security"] = [{SECURITY: []}]
        if method == "POST":
            operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
            for status, response in responses.items():
                if status.startswith("2"):
                    response.setdefault("headers", {}).update(REPLAYED)
