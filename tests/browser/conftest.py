"""Browser tests: Playwright driving Debian's Chromium against a live server.

One uvicorn server per test session, in a background thread, serving ``create_app`` on a
free 127.0.0.1 port over a fresh, migrated SQLite file. Each test gets its own partner (an
admin user made through the services) and its own data, so tests share nothing but the
server. The browser is ``/usr/bin/chromium`` (``apt-get install -y chromium``); Playwright's
own browser download is never used.

Without ``/usr/bin/chromium`` (or the ``playwright`` package) the tests skip locally, with
the reason; when ``CI`` is set they fail instead: CI must run them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from creditdesk.db import migrate
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor
from creditdesk.web import auth
from creditdesk.web.app import create_app

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # the ``chromium`` fixture skips (fails in CI) and says why
    Page = expect = sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-extensions",
                 "--disable-default-apps", "--mute-audio"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
SECRET = "browser-tests-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
TIMEOUT_MS = 10_000

_serial = itertools.count(1)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} — CI must run the browser tests (apt-get install -y chromium; "
                    "pip install -e '.[dev]')", pytrace=False)
    pytest.skip(reason)


# --- the browser ---------------------------------------------------------------------------

@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    """One headless Chromium for the browser tests (closed after them: its sync API keeps
    an event loop running on the main thread, which later asyncio.run() calls refuse)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: install Debian's Chromium "
                     "(apt-get install -y chromium) to run the browser tests")
    if sync_playwright is None:
        _unavailable("the playwright package is missing (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, site):
    """Pages in fresh browser contexts (own cookies), desktop-sized, closed after the test."""
    contexts = []

    def make(viewport: dict | None = None, *, javascript: bool = True):
        ctx = chromium.new_context(base_url=site.url, viewport=viewport or DESKTOP,
                                   locale="en-US", timezone_id="UTC",
                                   java_script_enabled=javascript)
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page):
    return new_page()


# --- the live server -----------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    url: str
    db: Database


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("browser") / "creditdesk.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(db, secret_key=SECRET), log_level="warning",
                            lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="creditdesk-live-server")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/healthz").status_code == 200
    yield Site(base, db)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    db.dispose()


@pytest.fixture(autouse=True)
def _no_sign_in_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "FAILURE_DELAY", 0)


@pytest.fixture
def job_runner(site: Site) -> Iterator[Callable[..., sync_jobs.InProcessRunner]]:
    """Start the in-process job runner (what ``creditdesk serve`` runs on SQLite; the live
    server starts none) when the test asks: ``job_runner(tick=...)``. Stopped after the test.
    Its HTTP client is none: the browser tests call no provider."""
    started: list[sync_jobs.InProcessRunner] = []

    def start(tick: float = 0.5) -> sync_jobs.InProcessRunner:
        runner = sync_jobs.InProcessRunner(
            site.db, tick=tick, client_factory=lambda: contextlib.nullcontext(None))
        runner.start()
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.stop()
    sync_jobs.current_runner = None


# --- a partner per test --------------------------------------------------------------------

@dataclass(frozen=True)
class Tenant:
    """A partner with its admin user (email, PASSWORD), API key and service actor."""

    partner_id: str
    email: str
    api_key: str
    actor: Actor


@pytest.fixture
def tenant(site: Site) -> Tenant:
    n = next(_serial)
    email = f"admin{n}@partner{n}.test"
    new = partners.create_partner(site.db, name=f"Partner {n} IT Services", admin_email=email,
                                  admin_password=PASSWORD)
    return Tenant(new.partner_id, email, new.api_key,
                  partners.authenticate_api_key(site.db, new.api_key))


def sign_in(page, tenant: Tenant) -> None:
    """Sign in through the real form, as a person would."""
    page.goto("/login")
    page.get_by_label("Email").fill(tenant.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/credit-memos$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Credit memos")


def portal_link(site: Site, tenant: Tenant, customer_id: str) -> str:
    """A one-time portal sign-in link, made through the HTTP API as a partner would."""
    r = httpx.post(f"{site.url}/api/v1/customers/{customer_id}/portal-link",
                   headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith(f"{site.url}/portal/sign-in/"), url
    return url


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
