"""Sign-in, sign-out, the session cookie, CSRF, throttling and roles (issue 3, item 1)."""

from __future__ import annotations

from creditdesk.services.access import sign_in
from tests.web.conftest import csrf_of


def test_login_page_has_labelled_fields_and_a_csrf_input(new_browser, partner) -> None:
    b = new_browser()
    r = b.get("/login")
    assert r.status_code == 200
    assert 'name="csrf_' in r.text and '<label for="email">' in r.text
    assert '<label for="password">' in r.text
    assert csrf_of(r)


def test_dashboard_redirects_to_sign_in_when_signed_out(new_browser, partner) -> None:
    r = new_browser().get("/dashboard/credit-memos", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=/dashboard/credit-memos")


def test_sign_in_sets_a_secure_session_cookie_and_opens_the_dashboard(new_browser,
                                                                       partner) -> None:
    b = new_browser()
    r = b.sign_in("admin@acme.test", "correct horse")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/credit-memos"
    cookie = r.headers["set-cookie"].lower()
    assert "creditdesk_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    page = b.get("/dashboard/credit-memos")
    assert page.status_code == 200 and "Credit memos" in page.text
    assert "admin@acme.test" in page.text


def test_cookie_is_secure_over_https(db, partner) -> None:
    from fastapi.testclient import TestClient

    from creditdesk.web.app import create_app
    from tests.web.conftest import SECRET

    with TestClient(create_app(db, secret_key=SECRET), base_url="https://testserver") as c:
        r = c.get("/login")
        assert "secure" in r.headers["set-cookie"].lower()


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(new_browser,
                                                                    partner) -> None:
    b = new_browser()
    b.get("/login?next=/dashboard/customers")
    r = b.post("/login", {"email": "admin@acme.test", "password": "correct horse",
                          "next": "/dashboard/customers"}, follow_redirects=False)
    assert r.headers["location"] == "/dashboard/customers"
    b2 = new_browser()
    b2.get("/login")
    r = b2.post("/login", {"email": "admin@acme.test", "password": "correct horse",
                           "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/dashboard/credit-memos"


def test_wrong_password_is_refused_with_a_clear_message(new_browser, partner) -> None:
    b = new_browser()
    r = b.sign_in("admin@acme.test", "wrong password")
    assert r.status_code == 401
    assert "Wrong email or password." in r.text
    assert 'value="admin@acme.test"' in r.text  # what the user typed is kept
    assert b.get("/dashboard/credit-memos", follow_redirects=False).status_code == 303


def test_failed_sign_ins_are_limited_per_email_and_address(new_browser, partner) -> None:
    b = new_browser()
    for _ in range(sign_in.MAX_FAILURES):
        assert b.sign_in("admin@acme.test", "nope nope").status_code == 401
    r = b.sign_in("admin@acme.test", "correct horse")  # even the right password waits
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.text
    # another email from the same address is not affected
    assert b.sign_in("someone@else.test", "x").status_code == 401


def test_throttle_ends_after_the_window(new_browser, partner, monkeypatch) -> None:
    from datetime import timedelta

    from creditdesk.services.common.context import clock

    b = new_browser()
    for _ in range(sign_in.MAX_FAILURES):
        b.sign_in("admin@acme.test", "nope nope")
    later = clock.now() + sign_in.WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert b.sign_in("admin@acme.test", "correct horse").status_code == 303


def test_csrf_token_is_required_on_sign_in(new_browser, partner) -> None:
    b = new_browser()
    b.get("/login")
    r = b.post("/login", {"email": "admin@acme.test", "password": "correct horse"},
               csrf=False, follow_redirects=False)
    assert r.status_code == 403
    assert "expired" in r.text
    r = b.post("/login", {"email": "admin@acme.test", "password": "correct horse",
                          "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403


def test_csrf_token_is_required_on_dashboard_forms(admin, db, actor) -> None:
    from tests import factories

    cid = factories.customer(db, actor)
    memo_id = factories.memo(db, actor, cid, issue=False)
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/issue", csrf=False)
    assert r.status_code == 403
    assert "draft" in admin.get(f"/dashboard/credit-memos/{memo_id}").text.lower()
    from creditdesk.services.credit_memos import memos
    assert memos.get_memo(db, actor=actor, memo_id=memo_id).status == "draft"


def test_sign_out_ends_the_session(admin) -> None:
    # E4: the session (which held flashes) is deleted, so the notice rides on the address.
    r = admin.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?signed_out=1"
    assert "You are signed out." in admin.get(r.headers["location"]).text
    assert admin.get("/dashboard/credit-memos", follow_redirects=False).status_code == 303


def test_sign_out_needs_csrf(admin) -> None:
    assert admin.post("/logout", csrf=False).status_code == 403
    assert admin.get("/dashboard/credit-memos").status_code == 200


def test_staff_can_use_memos_but_not_preferences(staff) -> None:
    assert staff.get("/dashboard/credit-memos").status_code == 200
    assert "Team Preferences" not in staff.get("/dashboard/credit-memos").text
    r = staff.get("/dashboard/preferences/credit-balance-visibility")
    assert r.status_code == 403
    assert "Only administrators" in r.text
    r = staff.post("/dashboard/preferences/credit-balance-visibility",
                   {"show_to_all_customers": "on"})
    assert r.status_code == 403


def test_admin_sees_preferences(admin) -> None:
    page = admin.get("/dashboard/credit-memos").text
    assert 'id="nav-preferences"' in page
    assert admin.get("/dashboard/preferences/credit-balance-visibility").status_code == 200


def test_sign_in_with_missing_fields_is_a_clear_422(new_browser, partner) -> None:
    b = new_browser()
    b.get("/login")
    r = b.post("/login", {"email": "", "password": ""})
    assert r.status_code == 422 and "Enter your email and password." in r.text


def test_garbage_session_cookie_is_just_signed_out(new_browser, partner) -> None:
    b = new_browser()
    b.c.cookies.set("creditdesk_session", "garbage.value.here")
    assert b.get("/dashboard/credit-memos", follow_redirects=False).status_code == 303
