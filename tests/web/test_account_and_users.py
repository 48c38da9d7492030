"""E4: your account (change password, sign out everywhere) and the users page (admins:
add, role, deactivate, end sessions), each change audited (E1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.services.access import partners
from creditdesk.services.common.context import clock, new_id
from creditdesk.services.read_models import audit_trail

ADMIN, PASSWORD = "admin@acme.test", "correct horse"


def signed_in(b) -> bool:
    return b.get("/dashboard/credit-memos", follow_redirects=False).status_code == 200


def user_id(db, email: str) -> str:
    with db.read() as s:
        return s.scalar(select(models.User.id).where(models.User.email == email))


def actions(db, actor) -> list[str]:
    return [e.action for e in audit_trail.list_events(db, actor=actor, limit=100).data]


@pytest.fixture
def second(new_browser, partner):
    """The admin, signed in on a second browser."""
    b = new_browser()
    assert b.sign_in(ADMIN, PASSWORD).status_code == 303
    return b


def test_e4_navigation_links_to_account_for_everyone_and_users_for_admins(admin, staff) -> None:
    page = admin.get("/dashboard/credit-memos").text
    assert 'id="nav-account"' in page and 'id="nav-users"' in page
    page = staff.get("/dashboard/credit-memos").text
    assert 'id="nav-account"' in page and 'id="nav-users"' not in page


def test_e4_password_change_ends_the_other_sessions_and_keeps_this_one(
        db, actor, admin, second, new_browser) -> None:
    r = admin.post("/dashboard/account/password", {
        "current_password": PASSWORD, "new_password": "a new passphrase",
        "confirm_password": "a new passphrase"})
    assert r.status_code == 200 and "Your password was changed; your 1 other session ended." \
        in r.text
    assert signed_in(admin) and not signed_in(second)
    assert new_browser().sign_in(ADMIN, PASSWORD).status_code == 401
    assert new_browser().sign_in(ADMIN, "a new passphrase").status_code == 303
    assert "user.password_change" in actions(db, actor)


@pytest.mark.parametrize("form, field, message", [
    ({"current_password": "wrong one", "new_password": "a new passphrase",
      "confirm_password": "a new passphrase"}, "current_password",
     "That is not your current password"),
    ({"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
     "new_password", "at least 8 characters"),
    ({"current_password": PASSWORD, "new_password": "a new passphrase",
      "confirm_password": "another one"}, "confirm_password", "does not match"),
])
def test_e4_password_change_refusals_are_shown_at_the_form(admin, second, new_browser, form,
                                                            field, message) -> None:
    r = admin.post("/dashboard/account/password", form)
    assert r.status_code == 422
    assert f'id="err-password-{field}"' in r.text and message in r.text
    assert signed_in(second)  # nothing changed
    assert new_browser().sign_in(ADMIN, PASSWORD).status_code == 303


def test_e4_sign_out_everywhere_ends_every_session(db, actor, admin, second) -> None:
    assert "on 2 browsers or devices" in admin.get("/dashboard/account").text
    r = admin.post("/dashboard/account/sign-out-everywhere", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?signed_out=1"
    assert not signed_in(admin) and not signed_in(second)
    assert "user.sign_out_everywhere" in actions(db, actor)


def test_e4_users_page_is_for_admins_only(db, staff) -> None:
    r = staff.get("/dashboard/users")
    assert r.status_code == 403 and "Only administrators" in r.text
    r = staff.post("/dashboard/users", {"email": "x@acme.test", "role": "admin",
                                        "password": "long enough"})
    assert r.status_code == 403 and user_id(db, "x@acme.test") is None
    r = staff.post(f"/dashboard/users/{user_id(db, 'staff@acme.test')}/role", {"role": "admin"})
    assert r.status_code == 403


def test_e4_admin_adds_a_user_who_can_then_sign_in(db, actor, admin, new_browser) -> None:
    r = admin.post("/dashboard/users", {"email": "Bea@Acme.test", "role": "staff",
                                        "password": "bea's password"})
    assert r.status_code == 200 and "bea@acme.test was added as staff" in r.text
    assert 'id="user-' in r.text and "bea@acme.test" in r.text
    assert new_browser().sign_in("bea@acme.test", "bea's password").status_code == 303
    assert "user.create" in actions(db, actor)


@pytest.mark.parametrize("form, status, shown", [
    ({"email": ADMIN, "role": "staff", "password": "long enough"}, 409, "already exists"),
    ({"email": "not-an-email", "role": "staff", "password": "long enough"}, 422,
     "must be an email address"),
    ({"email": "c@acme.test", "role": "owner", "password": "long enough"}, 422,
     "must be admin or staff"),
    ({"email": "c@acme.test", "role": "staff", "password": "short"}, 422, "at least 8"),
])
def test_e4_adding_a_user_refuses_bad_input_next_to_the_form(db, admin, form, status,
                                                              shown) -> None:
    r = admin.post("/dashboard/users", form)
    assert r.status_code == status and shown in r.text and 'id="error-add"' in r.text
    assert user_id(db, "c@acme.test") is None


def test_e4_admin_changes_a_role(db, actor, admin, staff) -> None:
    sid = user_id(db, "staff@acme.test")
    r = admin.post(f"/dashboard/users/{sid}/role", {"role": "admin"})
    assert r.status_code == 200 and "The role was changed to admin." in r.text
    assert staff.get("/dashboard/users").status_code == 200  # at once, same session
    assert "user.role_change" in actions(db, actor)


def test_e4_the_last_active_admin_cannot_demote_or_deactivate_themselves(db, admin) -> None:
    me = user_id(db, ADMIN)
    r = admin.post(f"/dashboard/users/{me}/role", {"role": "staff"})
    assert r.status_code == 409 and "You are the only active administrator" in r.text
    r = admin.post(f"/dashboard/users/{me}/deactivate")
    assert r.status_code == 409 and "You are the only active administrator" in r.text
    assert admin.get("/dashboard/users").status_code == 200  # still an active admin


def test_e4_an_admin_may_step_down_when_another_admin_remains(db, actor, admin) -> None:
    admin.post("/dashboard/users", {"email": "bea@acme.test", "role": "admin",
                                    "password": "bea's password"})
    r = admin.post(f"/dashboard/users/{user_id(db, ADMIN)}/role", {"role": "staff"},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/credit-memos"
    assert admin.get("/dashboard/users").status_code == 403


def test_e4_admin_ends_a_users_sessions(db, actor, admin, staff) -> None:
    r = admin.post(f"/dashboard/users/{user_id(db, 'staff@acme.test')}/end-sessions")
    assert r.status_code == 200 and "sessions ended" in r.text
    assert not signed_in(staff) and signed_in(admin)
    assert "user.sessions_end" in actions(db, actor)


def test_e4_deactivation_ends_sessions_refuses_sign_in_and_revokes_user_keys(
        db, actor, admin, staff, new_browser, client) -> None:
    sid = user_id(db, "staff@acme.test")
    key = partners.API_KEY_PREFIX + "user-key-of-staff-0123456789abcdefghijklmnop"
    with db.write() as s:
        s.add(models.ApiKey(id=new_id("ak"), partner_id=actor.partner_id, name="staff",
                            prefix=key[:8], key_hash=partners.hash_api_key(key),
                            created_at=clock.now(), user_id=sid))
    assert client.get("/api/v1/customers",
                      headers={"Authorization": f"Bearer {key}"}).status_code == 200
    r = admin.post(f"/dashboard/users/{sid}/deactivate")
    assert r.status_code == 200 and "deactivated" in r.text.lower()
    assert not signed_in(staff)
    r = new_browser().sign_in("staff@acme.test", "staff password")
    assert r.status_code == 401 and "deactivated" in r.text
    assert client.get("/api/v1/customers",
                      headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert "user.deactivate" in actions(db, actor)
    admin.post(f"/dashboard/users/{sid}/reactivate")
    assert new_browser().sign_in("staff@acme.test", "staff password").status_code == 303


def test_e4_another_partners_user_is_not_found(db, admin, rival) -> None:
    rival_admin = user_id(db, "admin@rival.test")
    for action in ("deactivate", "end-sessions"):
        r = admin.post(f"/dashboard/users/{rival_admin}/{action}")
        assert r.status_code == 404
    assert signed_in(rival[0])
