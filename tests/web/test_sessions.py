"""E4: server-side sessions of the dashboard and the portal — an opaque cookie, sign-out
that ends the session for every copy of the cookie, rotation at sign-in, idle and absolute
expiry, and one session store for every process on the database."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.services.access import web_sessions
from creditdesk.services.common.context import clock
from creditdesk.services.credit_memos import memos
from creditdesk.web.app import create_app
from tests import factories
from tests.web.conftest import SECRET, Browser, portal_for

DASH, PORTAL = "creditdesk_session", "creditdesk_portal"


class Clock:
    """services.context.clock, frozen and moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = clock.now()
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def copy_of(b: Browser, new_browser, name: str = DASH, path: str = "/") -> Browser:
    """A second browser holding a copy of ``b``'s cookie (and the CSRF token it last saw)."""
    thief = new_browser()
    thief.c.cookies.set(name, b.c.cookies.get(name), path=path)
    thief.token = b.token
    return thief


def session_rows(db) -> list[models.WebSession]:
    with db.read() as s:
        return list(s.scalars(select(models.WebSession)))


def test_e4_the_cookie_is_an_opaque_token_and_only_its_hash_is_stored(db, admin) -> None:
    token = admin.c.cookies.get(DASH)
    assert token and len(token) >= 40 and "." not in token  # no signed payload
    rows = session_rows(db)
    assert [r.id_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert rows[0].kind == "dashboard" and rows[0].user_id and token not in str(rows[0].data)


def test_e4_a_cookie_copied_before_sign_out_opens_no_page_and_posts_no_form(
        db, actor, admin, new_browser) -> None:
    cid = factories.customer(db, actor)
    memo_id = factories.memo(db, actor, cid, issue=False)
    thief = copy_of(admin, new_browser)
    assert thief.get("/dashboard/credit-memos").status_code == 200  # the copy works...
    assert admin.post("/logout", follow_redirects=False).status_code == 303
    r = thief.get("/dashboard/credit-memos", follow_redirects=False)  # ...until sign-out
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = thief.post(f"/dashboard/credit-memos/{memo_id}/issue", follow_redirects=False)
    assert r.status_code == 403 or r.headers["location"].startswith("/login?")
    assert memos.get_memo(db, actor=actor, memo_id=memo_id).status == "draft"
    assert session_rows(db) == []


def test_e4_a_portal_cookie_copied_before_sign_out_opens_no_page(db, actor,
                                                                  new_browser) -> None:
    cid = factories.customer(db, actor, "Wayne Enterprises")
    customer = portal_for(db, new_browser, actor, cid)
    thief = copy_of(customer, new_browser, PORTAL, "/portal")
    assert thief.get("/portal/").status_code == 200
    token_seen = customer.token
    assert customer.post("/portal/sign-out").status_code == 200
    r = thief.get("/portal/invoices")
    assert r.status_code == 401 and "Wayne" not in r.text
    thief.token = token_seen
    assert thief.post("/portal/sign-out").status_code == 403  # its CSRF token died with it
    assert customer.get("/portal/").status_code == 401


def test_e4_portal_and_dashboard_sessions_are_separate(db, actor, admin, new_browser) -> None:
    from creditdesk.services.access import portal_links

    cid = factories.customer(db, actor)  # the admin's own browser opens a portal link
    token = portal_links.create_link(db, actor=actor, customer_id=cid).token
    admin.get(f"/portal/sign-in/{token}")
    assert admin.post(f"/portal/sign-in/{token}", follow_redirects=False).status_code == 303
    assert admin.get("/portal/").status_code == 200
    assert admin.get("/dashboard/credit-memos").status_code == 200
    admin.post("/logout")  # the dashboard's sign-out leaves the portal signed in
    assert admin.get("/portal/").status_code == 200
    assert admin.get("/dashboard/credit-memos", follow_redirects=False).status_code == 303


def test_e4_sign_in_issues_a_new_session_id(db, new_browser, partner) -> None:
    b = new_browser()
    b.get("/login")
    planted = b.c.cookies.get(DASH)  # what an attacker could have set before sign-in
    assert planted
    b.sign_in("admin@acme.test", "correct horse")
    assert b.c.cookies.get(DASH) != planted
    victim_copy = new_browser()
    victim_copy.c.cookies.set(DASH, planted)
    assert victim_copy.get("/dashboard/credit-memos",
                           follow_redirects=False).status_code == 303


def test_e4_pages_for_signed_out_visitors_store_nothing(db, new_browser, partner) -> None:
    for _ in range(5):
        b = new_browser()
        assert b.get("/login").status_code == 200
        b.get("/dashboard/credit-memos")
    assert session_rows(db) == []


def test_e4_idle_expiry(db, new_browser, partner, frozen) -> None:
    b = new_browser()
    b.sign_in("admin@acme.test", "correct horse")
    for _ in range(4):  # used every 25 minutes: stays signed in past the idle limit
        frozen.advance(minutes=25)
        assert b.get("/dashboard/credit-memos").status_code == 200
    frozen.advance(minutes=31)
    r = b.get("/dashboard/credit-memos", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_e4_absolute_expiry(db, new_browser, partner, frozen) -> None:
    b = new_browser()
    b.sign_in("admin@acme.test", "correct horse")
    used = timedelta()
    while used < web_sessions.ABSOLUTE["dashboard"] - timedelta(minutes=20):
        frozen.advance(minutes=20)
        used += timedelta(minutes=20)
        assert b.get("/dashboard/credit-memos").status_code == 200
    frozen.advance(minutes=21)  # busy all day, but 12 hours are up
    assert b.get("/dashboard/credit-memos", follow_redirects=False).status_code == 303


def test_e4_portal_expires_too(db, actor, new_browser, frozen) -> None:
    cid = factories.customer(db, actor)
    b = portal_for(db, new_browser, actor, cid)
    frozen.advance(hours=1, minutes=1)
    assert b.get("/portal/").status_code == 401


def test_e4_last_use_is_written_at_most_once_a_minute(db, admin, frozen) -> None:
    (before,) = session_rows(db)
    frozen.advance(seconds=30)
    admin.get("/dashboard/credit-memos")
    assert session_rows(db)[0].last_seen_at == before.last_seen_at
    frozen.advance(seconds=31)
    admin.get("/dashboard/credit-memos")
    (after,) = session_rows(db)
    assert after.last_seen_at == frozen.at
    assert after.expires_at == frozen.at + web_sessions.IDLE["dashboard"]


def test_e4_every_server_process_shares_the_sessions(db, partner) -> None:
    """Two apps on one database, as two ``creditdesk serve`` processes would be."""
    with TestClient(create_app(db, secret_key=SECRET)) as one, \
            TestClient(create_app(db, secret_key=SECRET)) as two:
        a, b = Browser(one), Browser(two)
        assert a.sign_in("admin@acme.test", "correct horse").status_code == 303
        b.c.cookies.set(DASH, one.cookies.get(DASH))
        assert b.get("/dashboard/credit-memos").status_code == 200
        assert b.post("/logout", follow_redirects=False).status_code == 303  # on process two
        assert a.get("/dashboard/credit-memos", follow_redirects=False).status_code == 303


def test_e4_flash_messages_live_in_the_session(db, admin) -> None:
    admin.post("/dashboard/preferences/credit-balance-visibility",
               {"show_to_all_customers": "on"}, follow_redirects=False)
    (row,) = session_rows(db)
    assert row.data.get("flash")
    assert "now shown to all customers" in admin.get(
        "/dashboard/preferences/credit-balance-visibility").text
    assert not session_rows(db)[0].data.get("flash")  # shown once


def test_e4_the_clean_up_job_deletes_expired_sessions(db, admin, new_browser, frozen) -> None:
    from creditdesk.jobs import housekeeping

    frozen.advance(minutes=20)
    fresh = new_browser()
    fresh.sign_in("admin@acme.test", "correct horse")
    frozen.advance(minutes=15)  # the first one is idle for 35 minutes, the second for 15
    assert housekeeping.run(db)["sessions"] == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(models.WebSession)) == 1
    assert fresh.get("/dashboard/credit-memos").status_code == 200


def test_e4_cookies_are_httponly_lax_secure_over_https_and_the_portals_is_its_own(
        db, actor) -> None:
    from creditdesk.services.access import portal_links

    cid = factories.customer(db, actor)
    token = portal_links.create_link(db, actor=actor, customer_id=cid).token
    with TestClient(create_app(db, secret_key=SECRET), base_url="https://testserver") as c:
        b = Browser(c)
        b.get(f"/portal/sign-in/{token}")
        r = b.post(f"/portal/sign-in/{token}", follow_redirects=False)
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith(f"{PORTAL}=") and "path=/portal" in cookie
        assert all(flag in cookie for flag in ("httponly", "samesite=lax", "secure"))
        assert b.get("/portal/").status_code == 200  # (and its CSRF token)
        r = b.post("/portal/sign-out")
        assert r.status_code == 200 and PORTAL in r.headers["set-cookie"]
        assert b.get("/portal/").status_code == 401


def test_e4_sign_out_removes_the_cookie(admin) -> None:
    r = admin.post("/logout", follow_redirects=False)
    assert r.headers["set-cookie"].startswith(f"{DASH}=;") and "Max-Age=0" in \
        r.headers["set-cookie"]


def test_e4_an_odd_cookie_header_is_just_signed_out(new_browser, partner) -> None:
    b = new_browser()
    r = b.c.get("/dashboard/credit-memos", follow_redirects=False,
                headers={"Cookie": (f'x"=; {DASH}="\x01\xe9"; ;;; {DASH}=' + "a" * 5000)
                         .encode("latin-1")})
    assert r.status_code == 303
