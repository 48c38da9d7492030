"""E6: the headers every answer carries — a Content-Security-Policy with no inline script or
eval (pages), ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``, ``nosniff``, a
strict Referrer-Policy, HSTS and Secure cookies over https — and pages that need nothing
the policy refuses (no inline script, handler, ``javascript:`` URL or inline style)."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.services.access import portal_links
from creditdesk.services.common.context import Actor
from creditdesk.web import headers
from creditdesk.web.app import create_app
from tests import factories
from tests.web.conftest import SECRET, Browser, portal_for

TEMPLATES = Path(headers.__file__).parent / "templates"


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def assert_common(r) -> None:
    assert r.headers["x-content-type-options"] == "nosniff", r.url
    assert r.headers["x-frame-options"] == "DENY", r.url
    assert r.headers["referrer-policy"] == "same-origin", r.url
    assert directives(r.headers["content-security-policy"])["frame-ancestors"] == ["'none'"]


def assert_page_policy(r) -> None:
    assert_common(r)
    csp = directives(r.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], r.url
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"][0] == "'self'"
    assert "unsafe" not in r.headers["content-security-policy"]


class InlineFinder(HTMLParser):
    """What a strict policy refuses in a page: inline scripts, handlers, javascript: URLs,
    inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and not named.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on") or name == "style":
                self.found.append(f"{tag} {name}")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}=javascript:")


def inline_code(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.fixture
def pages(db: Database, actor: Actor) -> list[str]:
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid)
    memo = factories.memo(db, actor, cid, "10.00")
    return ["/login", "/dashboard/credit-memos", f"/dashboard/credit-memos/{memo}",
            "/dashboard/credit-memos/new", "/dashboard/invoices", f"/dashboard/invoices/{inv}",
            "/dashboard/customers", f"/dashboard/customers/{cid}", "/dashboard/integrations",
            "/dashboard/suggestions", "/dashboard/preferences/credit-balance-visibility",
            "/dashboard/credit-memos/cm_missing", "/dashboard/invoices?cursor=!!"]


def test_e6_every_dashboard_page_and_error_page_has_the_strict_policy(
        admin: Browser, pages: list[str]) -> None:
    for url in pages:
        r = admin.get(url)
        assert r.headers["content-type"].startswith("text/html"), url
        assert_page_policy(r)
        assert inline_code(r.text) == [], url
    r = admin.post("/dashboard/credit-memos/new", {"reason": "goodwill"})  # a refusal
    assert r.status_code == 422 and inline_code(r.text) == []
    assert_page_policy(r)


def test_e6_portal_pages_and_sign_in_have_the_strict_policy(
        db: Database, actor: Actor, new_browser) -> None:
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid)
    link = portal_links.create_link(db, actor=actor, customer_id=cid)
    stranger = new_browser()
    for url in (f"/portal/sign-in/{link.token}", "/portal/sign-in/not-a-token", "/portal/"):
        assert_page_policy(stranger.get(url))
    b = portal_for(db, new_browser, actor, cid)
    for url in ("/portal/", "/portal/invoices", f"/portal/invoices/{inv}",
                "/portal/credit-memos"):
        r = b.get(url)  # the credit memos are a 404 while the partner hides credit (P3)
        assert r.status_code in (200, 404) and inline_code(r.text) == [], url
        assert_page_policy(r)


def test_e6_no_template_holds_inline_code() -> None:
    """Every branch, not only the ones rendered above (the Jinja is read as HTML)."""
    for path in TEMPLATES.rglob("*.html"):
        text = re.sub(r"{#.*?#}", "", path.read_text(), flags=re.DOTALL)
        assert inline_code(text) == [], path.name


def test_e6_htmx_is_configured_for_the_policy(admin: Browser) -> None:
    page = admin.get("/dashboard/credit-memos").text
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page).group(1)
    assert '"allowEval":false' in config and '"includeIndicatorStyles":false' in config
    assert '<script src="/static/app.js" defer></script>' in page


def test_e6_the_api_files_and_webhooks_get_nosniff_and_a_none_policy(
        client: TestClient) -> None:
    for r in (client.get("/api/v1/customers"), client.get("/api/v1/nope"),
              client.get("/openapi.json"), client.get("/static/app.js"),
              client.get("/healthz"), client.post("/webhooks/quickbooks", content=b"{}"),
              client.post("/qbwc", content=b"x")):
        assert_common(r)
        assert r.headers["content-security-policy"] == headers.OTHER_POLICY, r.url


def test_e6_the_docs_allow_their_inline_script_by_hash_only(client: TestClient) -> None:
    for url in ("/docs", "/docs/oauth2-redirect", "/redoc"):
        r = client.get(url)
        assert_common(r)
        script_src = directives(r.headers["content-security-policy"])["script-src"]
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        inline = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
        assert [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                for s in inline] == [s for s in script_src if s.startswith("'sha256-")], url


def test_e6_oauth_sign_in_origins_are_form_targets(monkeypatch: pytest.MonkeyPatch,
                                                   admin: Browser) -> None:
    monkeypatch.setenv("CREDITDESK_QBO_AUTH_URL", "http://127.0.0.1:9999/oauth2/authorize")
    form_action = directives(admin.get("/login").headers["content-security-policy"])[
        "form-action"]
    assert form_action == ["'self'", "http://127.0.0.1:9999", "https://login.xero.com"]


def test_e6_over_https_cookies_are_secure_and_hsts_is_sent(
        db: Database, partner, actor: Actor) -> None:
    cid = factories.customer(db, actor)
    link = portal_links.create_link(db, actor=actor, customer_id=cid)
    with TestClient(create_app(db, secret_key=SECRET), base_url="https://creditdesk.test") as c:
        r = c.get("/login")
        assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        signed = c.post("/login", data={"email": "admin@acme.test", "password": "correct horse",
                                        "csrf_token": token}, follow_redirects=False)
        assert signed.status_code == 303
        portal = c.get(f"/portal/sign-in/{link.token}")
        for answer in (r, signed, portal):
            for cookie in answer.headers.get_list("set-cookie"):
                attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
                assert {"secure", "httponly", "samesite=lax"} <= attributes, cookie
    with TestClient(create_app(db, secret_key=SECRET)) as c:  # plain http (development)
        assert "strict-transport-security" not in c.get("/login").headers
