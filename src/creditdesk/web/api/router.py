"""The router of every API module: FastAPI's, that tells "not one of mine" with one
``str.startswith`` instead of trying each of its routes.

FastAPI matches a request against the routers included in the app one at a time, and each
included router against the regular expression of each of its routes: a request for
``/api/v1/credit-memos/…`` first tried every route of the customer, catalog and invoice
routers (about a third of the routing's cost, B8). A route's expression only matches a path
that begins with the route's text before its first ``{parameter}``; a router none of whose
routes' texts begins the path matches it neither fully nor for another method (405), so
answering "no match" at once changes nothing: same routes, same order, same answers.

The texts are read from the routes FastAPI built for the inclusion (through FastAPI's own
helper for the router being matched); where that is not there, or a route is not a plain
API route whose expression starts with its text, the router tries its routes as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

_included_router = getattr(fastapi_routing, "_get_scope_included_router", None)


def literal_starts(candidates: Sequence[Any]) -> tuple[str, ...] | None:
    """The texts before the first parameter of the routes of an inclusion, or None when one
    of them is not an API route whose expression begins with that text."""
    starts = set()
    for candidate in candidates:
        path_format = getattr(candidate, "path_format", None)
        regex = getattr(candidate, "path_regex", None)
        if not (isinstance(getattr(candidate, "original_route", None), APIRoute)
                and isinstance(path_format, str) and isinstance(regex, re.Pattern)):
            return None
        start = path_format.split("{", 1)[0]
        if not regex.pattern.startswith("^" + re.escape(start)):
            return None
        starts.add(start)
    return tuple(sorted(starts))


# Where an inclusion keeps its routes' texts: on FastAPI's inclusion object itself (one per
# app that includes the router), so that they go with the app. A cache on this module-level
# router held every app's routes for good: the test suite, which makes an app per test,
# grew by a whole app's routes a test (13 million objects by the 600th), and every garbage
# collection slowed with it.
_STARTS = "_creditdesk_literal_starts"


class ApiRouter(APIRouter):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        starts = self._literal_starts(scope)
        if starts is not None and not get_route_path(scope).startswith(starts):
            return Match.NONE, {}
        return super().matches(scope)

    def _literal_starts(self, scope: Scope) -> tuple[str, ...] | None:
        included = _included_router(scope) if _included_router is not None else None
        if getattr(included, "original_router", None) is not self:
            return None
        candidates = included.effective_candidates()  # FastAPI's, rebuilt when routes change
        known: tuple[Sequence[Any], tuple[str, ...] | None] | None = vars(included).get(_STARTS)
        if known is None or known[0] is not candidates:
            known = (candidates, literal_starts(candidates))
            setattr(included, _STARTS, known)
        return known[1]
