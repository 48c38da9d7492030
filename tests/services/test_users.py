"""E4 in the services: users (add, role, deactivate, end sessions), a user's password, and
the sessions they end; each change audited (E1); a partner always keeps an active admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.domain import errors
from creditdesk.services.access import partners, sign_in, users, web_sessions
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.read_models import audit_trail
from tests.concurrency import race, settle

ADMIN, PASSWORD = "admin@acme.test", "correct horse"


@pytest.fixture
def me(db, partner) -> Actor:
    """The partner's admin as a signed-in user."""
    return sign_in.sign_in(db, email=ADMIN, password=PASSWORD, address="127.0.0.1").actor


def start(db, actor: Actor) -> str:
    """A dashboard session of the actor; its id hash."""
    return web_sessions.start(db, kind="dashboard", partner_id=actor.partner_id,
                              user_id=actor.user_id)[1].id_hash


def live(db, token_hash: str) -> bool:
    with db.read() as s:
        return s.get(models.WebSession, token_hash) is not None


def add_staff(db, me: Actor, email: str = "staff@acme.test") -> Actor:
    users.create_user(db, actor=me, email=email, password="staff password")
    return sign_in.sign_in(db, email=email, password="staff password",
                           address="127.0.0.1").actor


def test_e4_find_refuses_unknown_ended_and_expired_sessions(db, me, monkeypatch) -> None:
    token, row = web_sessions.start(db, kind="dashboard", partner_id=me.partner_id,
                                    user_id=me.user_id)
    assert web_sessions.find(db, kind="dashboard", token=token) == row
    assert web_sessions.find(db, kind="portal", token=token) is None  # the other area's
    assert web_sessions.find(db, kind="dashboard", token="x" * 43) is None
    assert web_sessions.find(db, kind="dashboard", token=None) is None
    later = clock.now() + web_sessions.IDLE["dashboard"]
    monkeypatch.setattr(clock, "now", lambda: later)
    assert web_sessions.find(db, kind="dashboard", token=token) is None
    assert web_sessions.delete_expired(db) == 1


def test_e4_list_users_shows_role_status_and_live_sessions(db, me) -> None:
    staff = add_staff(db, me)
    start(db, staff)
    start(db, staff)
    start(db, me)
    listed = {u.email: u for u in users.list_users(db, actor=me)}
    assert [u.email for u in users.list_users(db, actor=me)] == [ADMIN, "staff@acme.test"]
    assert listed[ADMIN].role == "admin" and listed["staff@acme.test"].sessions == 2
    assert listed["staff@acme.test"].active
    with pytest.raises(errors.Forbidden):
        users.list_users(db, actor=staff)


def test_e4_staff_cannot_manage_users(db, me) -> None:
    staff = add_staff(db, me)
    for call in (lambda: users.create_user(db, actor=staff, email="x@acme.test",
                                           password="long enough", role="admin"),
                 lambda: users.change_role(db, actor=staff, user_id=staff.user_id, role="admin"),
                 lambda: users.deactivate(db, actor=staff, user_id=me.user_id),
                 lambda: users.end_sessions(db, actor=staff, user_id=me.user_id)):
        with pytest.raises(errors.Forbidden):
            call()


def test_e4_deactivate_ends_sessions_revokes_keys_and_is_audited(db, me) -> None:
    staff = add_staff(db, me)
    session = start(db, staff)
    with db.write() as s:
        s.add(models.ApiKey(id="ak_staff", partner_id=me.partner_id, name="k", prefix="cdk_x",
                            key_hash="0" * 64, created_at=clock.now(), user_id=staff.user_id))
    assert users.deactivate(db, actor=me, user_id=staff.user_id) == 1
    assert not live(db, session)
    with db.read() as s:
        assert s.get(models.ApiKey, "ak_staff").revoked_at is not None
    with pytest.raises(errors.Unauthenticated):
        sign_in.user_actor(db, user_id=staff.user_id)
    with pytest.raises(errors.Unauthenticated, match="deactivated"):
        sign_in.sign_in(db, email="staff@acme.test", password="staff password", address="x")
    event = audit_trail.list_events(db, actor=me, entity_type="user",
                                    entity_id=staff.user_id).data[0]
    assert event.action == "user.deactivate" and event.actor == f"user:{ADMIN}"
    assert event.data == {"email": "staff@acme.test", "sessions_ended": 1,
                          "api_keys_revoked": 1}


def test_e4_the_last_active_admin_stays(db, me) -> None:
    staff = add_staff(db, me)
    with pytest.raises(errors.InvalidState, match="You are the only active administrator"):
        users.change_role(db, actor=me, user_id=me.user_id, role="staff")
    with pytest.raises(errors.InvalidState):
        users.deactivate(db, actor=me, user_id=me.user_id)
    users.change_role(db, actor=me, user_id=staff.user_id, role="admin")
    users.change_role(db, actor=me, user_id=me.user_id, role="staff")  # another admin now
    assert {u.email: u.role for u in users.list_users(db, actor=sign_in.user_actor(
        db, user_id=staff.user_id))} == {ADMIN: "staff", "staff@acme.test": "admin"}


def test_e4_users_of_another_partner_are_not_found(db, me, other_actor) -> None:
    with db.read() as s:
        other_admin = s.scalar(select(models.User.id).where(
            models.User.partner_id == other_actor.partner_id))
    for call in (users.deactivate, users.end_sessions, users.reactivate):
        with pytest.raises(errors.NotFound):
            call(db, actor=me, user_id=other_admin)
    with pytest.raises(errors.NotFound):
        users.change_role(db, actor=me, user_id=other_admin, role="staff")


def test_e4_password_change_keeps_only_this_session(db, me) -> None:
    this, other = start(db, me), start(db, me)
    ended = users.change_password(db, actor=me, current=PASSWORD, new="a new passphrase",
                                  confirm="a new passphrase", address="127.0.0.1",
                                  keep_session=this)
    assert ended == 1 and live(db, this) and not live(db, other)
    assert sign_in.sign_in(db, email=ADMIN, password="a new passphrase", address="y").user_id


def test_e5_password_change_checks_are_throttled(db, me) -> None:
    for _ in range(sign_in.MAX_FAILURES):
        with pytest.raises(errors.ValidationError):
            users.change_password(db, actor=me, current="wrong guess", new="a new passphrase",
                                  confirm="a new passphrase", address="1.2.3.4",
                                  keep_session=None)
    with pytest.raises(errors.TooManyAttempts):
        users.change_password(db, actor=me, current=PASSWORD, new="a new passphrase",
                              confirm="a new passphrase", address="1.2.3.4", keep_session=None)


def test_e4_sign_out_everywhere_and_end_sessions(db, me) -> None:
    staff = add_staff(db, me)
    mine = [start(db, me), start(db, me)]
    theirs = start(db, staff)
    assert users.end_sessions(db, actor=me, user_id=staff.user_id) == 1
    assert not live(db, theirs) and all(live(db, h) for h in mine)
    assert users.sign_out_everywhere(db, actor=me) == 2
    assert not any(live(db, h) for h in mine)
    actions = [e.action for e in audit_trail.list_events(db, actor=me).data]
    assert "user.sessions_end" in actions and "user.sign_out_everywhere" in actions


def test_e4_sign_in_drops_the_users_expired_sessions(db, me, monkeypatch) -> None:
    old = start(db, me)
    later = clock.now() + timedelta(hours=13)
    monkeypatch.setattr(clock, "now", lambda: later)
    start(db, me)
    assert not live(db, old)


@pytest.mark.postgres_only
@pytest.mark.parametrize("round_", range(3))  # a race: three tries to catch a lost lock
def test_e4_two_admins_demoting_each_other_at_once_leave_one_admin(pg_db, round_) -> None:
    new = partners.create_partner(pg_db, name="Race MSP", admin_email="a@race.test",
                                  admin_password=PASSWORD)
    a = partners.authenticate_user(pg_db, email="a@race.test", password=PASSWORD)
    users.create_user(pg_db, actor=a, email="b@race.test", password=PASSWORD, role="admin")
    b = partners.authenticate_user(pg_db, email="b@race.test", password=PASSWORD)
    outcomes = race([("demote", lambda: users.change_role(pg_db, actor=a, user_id=a.user_id,
                                                          role="staff")),
                     ("demote", lambda: users.change_role(pg_db, actor=b, user_id=b.user_id,
                                                          role="staff"))])
    done, refused = settle(outcomes, {"demote": (errors.InvalidState,)})
    assert len(done["demote"]) == 1 and len(refused["demote"]) == 1
    with pg_db.read() as s:
        roles = s.scalars(select(models.User.role).where(
            models.User.partner_id == new.partner_id)).all()
    assert sorted(roles) == ["admin", "staff"]
