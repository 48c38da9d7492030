"""The pages' routes as the app serves them (for the page fuzz tests' coverage checks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI

PAGE_PREFIXES = ("/dashboard", "/portal", "/login", "/logout")


@dataclass(frozen=True)
class PageRoute:
    method: str
    path: str  # with its {parameters}
    query: tuple[str, ...]  # the query parameters the route reads


def _routes(routes: list) -> Iterator[tuple[str, set[str], object]]:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # an included router (FastAPI >= 0.160)
            for c in contexts():
                yield c.path, set(c.methods or ()), c.dependant
        elif hasattr(route, "dependant"):
            yield route.path, set(route.methods or ()), route.dependant


def _query(dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query(sub)
    return names


def page_routes(app: FastAPI) -> list[PageRoute]:
    """Every GET and POST route of the dashboard, the portal and sign-in."""
    found = set()
    for path, methods, dependant in _routes(app.routes):
        if path.startswith(PAGE_PREFIXES):
            for method in methods & {"GET", "POST"}:
                found.add(PageRoute(method, path, tuple(sorted(_query(dependant)))))
    return sorted(found, key=lambda r: (r.path, r.method))
