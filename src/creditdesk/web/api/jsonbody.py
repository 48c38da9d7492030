"""The route class of every JSON API route: exact JSON numbers, credentials first, and no
input that the database could not even compare.

API.md lets clients send amounts as JSON numbers "converted exactly"; Python's json would
turn ``60.10`` into a binary float first, so every route of the API uses this request class.
Before anything else the caller is authenticated, so that a request without credentials is
answered 401 whatever its body; then an Idempotency-Key is bound to that partner (E2). A
request without an Idempotency-Key has its API key looked up in the endpoint's own thread,
just before the endpoint runs (one thread-pool hop, not two); whatever fails before that
(the body, a parameter) first has the key looked up, so a wrong key is still answered 401.
PostgreSQL refuses text containing NUL characters even in a WHERE clause; such a path id
names nothing (404) and such a query parameter is invalid (422).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from creditdesk.domain import errors
from creditdesk.web import idempotency
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


def check_parameters(request: Request, query_names: frozenset[str]) -> None:
    """Refuse NUL characters in path and declared query parameters (see the module
    docstring); a parameter the operation does not declare is never read, so it is left."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise errors.NotFound(f"There is no resource with that {name}.")
    for name, value in request.query_params.multi_items():
        if name in query_names and "\x00" in value:
            raise errors.ValidationError.for_field(name, "must not contain NUL characters")


def _dependants(route: APIRoute) -> Iterator[Dependant]:
    """The route's dependant and all its sub-dependencies, each once."""
    pending, seen = [route.dependant], set()
    while pending:
        dependant = pending.pop()
        if id(dependant) not in seen:
            seen.add(id(dependant))
            yield dependant
            pending.extend(dependant.dependencies)


def needs_actor(route: APIRoute) -> bool:
    """Whether the route authenticates its caller (it depends on ``deps.get_actor``)."""
    return any(d.call is deps.get_actor for d in _dependants(route))


def actor_in_endpoint(route: APIRoute) -> bool:
    """Whether only the endpoint itself receives the actor (no other dependency does), and
    runs in a thread (``_in_thread``): then that thread can look the API key up."""
    return bool(getattr(route.endpoint, "in_thread", False)) and not any(
        s.call is deps.get_actor for d in _dependants(route) if d is not route.dependant
        for s in d.dependencies)


def query_parameters(route: APIRoute) -> frozenset[str]:
    """The names of the query parameters the route (or a dependency of it) reads."""
    return frozenset(p.alias for d in _dependants(route) for p in d.query_params)


def _in_thread(endpoint: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """A plain ``def`` endpoint as a coroutine that runs it in the thread pool.

    FastAPI would do the same, but then validate and serialise the answer in the pool too.
    A keyed request (E2) still holds its transaction and row locks at that point, so if every
    thread of the pool were a request waiting for those locks the answer could never be
    serialised, nor the locks released. As a coroutine endpoint, its answer is serialised
    on the event loop; nothing after the use case needs a thread of the shared pool.
    """

    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__
    async def in_thread(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(_call, endpoint, args, kwargs)

    in_thread.in_thread = True  # type: ignore[attr-defined]
    return in_thread


def _call(endpoint: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The endpoint, once the API key it was handed (if any) is looked up (in the thread)."""
    for name, value in kwargs.items():
        if isinstance(value, deps.PendingActor):
            kwargs[name] = value.resolve()
    return endpoint(*args, **kwargs)


class DecimalJSONRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        authenticates = needs_actor(self)
        in_endpoint = authenticates and actor_in_endpoint(self)
        query_names = query_parameters(self)

        async def exact_handler(request: Request) -> Response:
            exact = DecimalJSONRequest(request.scope, request.receive)
            if in_endpoint and not idempotency.is_keyed(exact):
                return await _key_in_endpoint(exact, handler, query_names)
            if authenticates:
                actor = await deps.get_actor(exact)
                await idempotency.bind(exact, actor)  # E2: replay, or claim with the effect
            check_parameters(exact, query_names)
            return await handler(exact)

        return exact_handler


async def _key_in_endpoint(request: DecimalJSONRequest,
                           handler: Callable[[Request], Coroutine[Any, Any, Response]],
                           query_names: frozenset[str]) -> Response:
    """Answer a request whose API key the endpoint's thread looks up (``_call``). Whatever
    fails before then, the key is looked up first, so a wrong key is still answered 401."""
    pending = deps.pending_actor(request, request.app.state.db)
    try:
        check_parameters(request, query_names)
        return await handler(request)
    except Exception:
        if not pending.tried:
            await run_in_threadpool(pending.resolve)
        raise
