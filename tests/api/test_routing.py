"""web/api/router.py: an API router's "not one of mine" check decides as trying its routes
would, and it is in force for every API router of the app."""

from __future__ import annotations

import gc

from fastapi import routing as fastapi_routing
from fastapi.testclient import TestClient
from starlette.routing import Match

from creditdesk.web.api import router
from creditdesk.web.api.router import ApiRouter
from creditdesk.web.app import create_app
from tests.api.conftest import API


def _included_api_routers(app):
    return [r for r in app.router.routes if isinstance(getattr(r, "original_router", None),
                                                       ApiRouter)]


def _scope(app, method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "app": app,
            "headers": [], "query_string": b""}


def test_every_api_router_tells_other_paths_at_once(client):
    included = _included_api_routers(client.app)
    assert len(included) >= 8
    for inclusion in included:
        inclusion.matches(_scope(client.app, "GET", f"{API}/x"))
        _, starts = vars(inclusion)[router._STARTS]  # kept on the app's own inclusion
        assert starts and all(t.startswith(API) for t in starts)


def _decisions(app, paths: list[str]) -> list[Match]:
    return [inclusion.matches(_scope(app, method, path))[0]
            for path in paths for method in ("GET", "POST", "PATCH", "DELETE", "PUT")
            for inclusion in _included_api_routers(app)]


def test_the_check_decides_as_trying_the_routes_would(client, monkeypatch):
    app = client.app
    paths = [p.replace("{", "x_").replace("}", "") for p in app.openapi()["paths"]]
    paths += [p + "/" for p in paths] + [f"{API}/nothing", "/healthz", "/dashboard/x"]
    fast = _decisions(app, paths)
    monkeypatch.setattr(ApiRouter, "_literal_starts", lambda self, scope: None)
    assert fast == _decisions(app, paths)  # FastAPI's own matching, every route tried
    assert Match.FULL in fast and Match.PARTIAL in fast and Match.NONE in fast


def _route_contexts() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, fastapi_routing._EffectiveRouteContext))


def test_the_routes_texts_go_with_the_app(db, partner):
    """The module-level routers keep nothing of an app that is gone (they held every app's
    routes: the suite, an app per test, grew by 13 million objects)."""
    def serve_once() -> None:
        with TestClient(create_app(db)) as c:
            c.get(f"{API}/customers", headers={"Authorization": f"Bearer {partner.api_key}"})

    serve_once()
    before = _route_contexts()
    for _ in range(3):
        serve_once()
    assert _route_contexts() <= before
