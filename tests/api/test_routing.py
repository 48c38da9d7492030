"""web/api/router.py: an API router's "not one of mine" check decides as trying its routes
would, and it is in force for every API router of the app."""

from __future__ import annotations

from starlette.routing import Match

from creditdesk.web.api.router import ApiRouter
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
        starts = [known[1] for known in inclusion.original_router._starts.values()]
        assert starts and all(s and all(t.startswith(API) for t in s) for s in starts)


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
