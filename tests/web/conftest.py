"""Helpers for the page tests: a browser-like client (cookies, no API key), signing in
through the real form, reading the CSRF token from the page, and portal sessions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.services.access import partners, portal_links, users
from creditdesk.services.common.context import Actor
from creditdesk.web import auth
from creditdesk.web.app import create_app

SECRET = "test-secret-key-for-web-tests-only-0123456789"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _no_sign_in_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "FAILURE_DELAY", 0)


def csrf_of(r: httpx.Response) -> str:
    found = _CSRF.search(r.text)
    assert found, f"no CSRF input on {r.url}"
    return found.group(1)


class Browser:
    """A TestClient that remembers the last CSRF token it saw and posts forms with it."""

    def __init__(self, client: TestClient) -> None:
        self.c = client
        self.token = ""

    def get(self, url: str, **kw) -> httpx.Response:
        r = self.c.get(url, **kw)
        found = _CSRF.search(r.text)
        if found:
            self.token = found.group(1)
        return r

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True,
             **kw) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            if not self.token:
                self.get("/login")
            body.setdefault("csrf_token", self.token)
        r = self.c.post(url, data=body, **kw)
        found = _CSRF.search(r.text)
        if found:
            self.token = found.group(1)
        return r

    def sign_in(self, email: str, password: str) -> httpx.Response:
        self.get("/login")
        r = self.post("/login", {"email": email, "password": password},
                      follow_redirects=False)
        if r.status_code == 303:  # as a browser would: the next page brings the new token
            self.get(r.headers["location"])
        return r


@pytest.fixture
def new_browser(db: Database) -> Iterator[Callable[[], Browser]]:
    clients: list[TestClient] = []

    def make() -> Browser:
        c = TestClient(create_app(db, secret_key=SECRET), raise_server_exceptions=False)
        c.__enter__()
        clients.append(c)
        return Browser(c)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def admin(new_browser, partner: partners.NewPartner) -> Browser:
    """A browser signed in as the partner's admin."""
    b = new_browser()
    r = b.sign_in("admin@acme.test", "correct horse")
    assert r.status_code == 303, r.text
    b.get(r.headers["location"])  # as a browser would (and it brings the new CSRF token)
    return b


@pytest.fixture
def staff(db: Database, new_browser, actor: Actor) -> Browser:
    users.create_user(db, actor=actor, email="staff@acme.test", password="staff password",
                        role="staff")
    b = new_browser()
    assert b.sign_in("staff@acme.test", "staff password").status_code == 303
    return b


@pytest.fixture
def rival(db: Database, new_browser) -> tuple[Browser, Actor]:
    """Another partner's admin, signed in, and its actor."""
    other = partners.create_partner(db, name="Rival MSP", admin_email="admin@rival.test",
                                    admin_password="correct horse")
    b = new_browser()
    assert b.sign_in("admin@rival.test", "correct horse").status_code == 303
    return b, partners.authenticate_api_key(db, other.api_key)


def portal_for(db: Database, new_browser, actor: Actor, customer_id: str) -> Browser:
    """A browser signed in to the portal through a fresh one-time link."""
    link = portal_links.create_link(db, actor=actor, customer_id=customer_id)
    b = new_browser()
    assert b.get(f"/portal/sign-in/{link.token}").status_code == 200
    r = b.post(f"/portal/sign-in/{link.token}", follow_redirects=False)
    assert r.status_code == 303, r.text
    b.get(r.headers["location"])  # as a browser would (and it brings the new CSRF token)
    return b
