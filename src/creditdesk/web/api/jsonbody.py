"""The route class of every JSON API route: exact JSON numbers, credentials first, and no
input that the database could not even compare.

API.md lets clients send amounts as JSON numbers "converted exactly"; Python's json would
turn ``60.10`` into a binary float first, so every route of the API uses this request class.
Before anything else the caller is authenticated, so that a request without credentials is
answered 401 whatever its body. PostgreSQL refuses text containing NUL characters even in a
WHERE clause; such a path id names nothing (404) and such a query parameter is invalid (422).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from creditdesk.domain import errors
from creditdesk.web.api import deps


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_no_constants)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8, NaN, absurdly long integers
        raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from None


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


def check_parameters(request: Request) -> None:
    """Refuse NUL characters in path and query parameters (see the module docstring)."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise errors.NotFound(f"There is no resource with that {name}.")
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise errors.ValidationError.for_field(name, "must not contain NUL characters")


def _needs_actor(route: APIRoute) -> bool:
    pending, seen = [route.dependant], set()
    while pending:
        dependant = pending.pop()
        if dependant.call is deps.get_actor:
            return True
        if id(dependant) not in seen:
            seen.add(id(dependant))
            pending.extend(dependant.dependencies)
    return False


class DecimalJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needs_actor = _needs_actor(self)

        async def exact_handler(request: Request) -> Response:
            exact = DecimalJSONRequest(request.scope, request.receive)
            if needs_actor:
                await deps.get_actor(exact, exact.app.state.db)
            check_parameters(exact)
            return await handler(exact)

        return exact_handler
