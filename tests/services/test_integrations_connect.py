"""Connecting an OAuth system step by step (Y1, Y2): a pending connection is continued, not
doubled; a missing app configuration starts nothing; a declined or expired sign-in keeps the
connection resumable; a reconnection must sign in to the same company; only a connection
that never synced can be removed; disconnecting twice records once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from creditdesk.connectors import registry
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.books import integrations
from creditdesk.services.common.context import Actor
from tests.qbo_fixtures import REALM, FakeQbo


def _start(db: Database, actor: Actor, fake: FakeQbo, **kw) -> integrations.IntegrationView:
    return integrations.create_integration(db, actor=actor, settings=fake.settings,
                                           provider="quickbooks_online", region="us", **kw)


def _finish(db: Database, fake: FakeQbo, authorize_url: str, realm: str = REALM):
    params = fake.authorize(authorize_url, realm)
    spec = registry.get("quickbooks_online")
    assert spec is not None
    return integrations.complete_oauth(db, state=params["state"], code=params["code"],
                                       realm_id=params["realmId"],
                                       exchange=spec.connect(fake.patient, fake.settings,
                                                             fake.retry()))


def _rows(db: Database) -> list[models.Integration]:
    with db.read() as s:
        return list(s.scalars(select(models.Integration)))


def _actions(db: Database, entity_id: str) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(models.AuditEvent.action).where(
            models.AuditEvent.entity_id == entity_id).order_by(models.AuditEvent.at)))


def test_a_second_connect_continues_the_pending_connection(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    first = _start(db, actor, fake_qbo)
    second = _start(db, actor, fake_qbo, started_from=integrations.DASHBOARD)
    assert second.id == first.id and second.authorize_url != first.authorize_url
    assert len(_rows(db)) == 1
    assert _actions(db, first.id) == ["integration.create", "integration.resume"]
    stale = fake_qbo.authorize(first.authorize_url or "")  # the first link stopped working
    with pytest.raises(errors.NotFound):
        integrations.complete_oauth(db, state=stale["state"], code=stale["code"],
                                    realm_id=REALM, exchange=lambda c, r: ({}, {}))
    assert integrations.oauth_started_from(db, state=fake_qbo.authorize(
        second.authorize_url or "")["state"]) == (first.id, integrations.DASHBOARD)
    assert _finish(db, fake_qbo, second.authorize_url or "").status == "connected"


def test_the_dashboard_refuses_a_system_already_connected(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.connect(db, actor)
    with pytest.raises(errors.InvalidState, match=r"already connected.*Harbor Books"):
        _start(db, actor, fake_qbo, refuse_if_connected=True)
    assert len(_rows(db)) == 1


@pytest.mark.parametrize("missing", ["QBO_CLIENT_ID", "QBO_CLIENT_SECRET"])
def test_a_missing_app_configuration_starts_nothing(
        db: Database, actor: Actor, fake_qbo: FakeQbo, monkeypatch, missing: str) -> None:
    monkeypatch.setenv(f"CREDITDESK_{missing}", "")
    with pytest.raises(errors.NotConfigured, match=rf"isn.t configured.*CREDITDESK_{missing}"):
        _start(db, actor, fake_qbo)
    assert _rows(db) == []


def test_resume_gives_a_new_link_to_the_same_connection(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    created = _start(db, actor, fake_qbo)
    resumed = integrations.resume_oauth(db, actor=actor, settings=fake_qbo.settings,
                                        integration_id=created.id)
    assert resumed.id == created.id and resumed.authorize_url != created.authorize_url
    connected = _finish(db, fake_qbo, resumed.authorize_url or "")
    assert connected.status == "connected"
    with pytest.raises(errors.InvalidState, match="connected; there is no sign-in"):
        integrations.resume_oauth(db, actor=actor, settings=fake_qbo.settings,
                                  integration_id=created.id)


def test_a_declined_consent_keeps_the_connection_resumable(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    created = _start(db, actor, fake_qbo)
    fake_qbo.state.consent_error = "access_denied"
    params = fake_qbo.authorize(created.authorize_url or "")
    assert params["error"] == "access_denied" and "code" not in params
    with pytest.raises(errors.ValidationError, match="Access was not allowed"):
        integrations.decline_oauth(db, state=params["state"], error=params["error"])
    row = integrations.get_integration(db, actor=actor, integration_id=created.id)
    assert row.status == "pending_authorization" and "declined" in (row.last_error or "")
    assert integrations.oauth_started_from(db, state=params["state"]) is None  # used up
    fake_qbo.state.consent_error = None
    resumed = integrations.resume_oauth(db, actor=actor, settings=fake_qbo.settings,
                                        integration_id=created.id)
    assert resumed.last_error is None
    assert _finish(db, fake_qbo, resumed.authorize_url or "").status == "connected"


def test_an_expired_link_is_refused_and_the_connection_can_be_resumed(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    created = _start(db, actor, fake_qbo)
    with db.write() as s:
        s.execute(update(models.Integration).values(
            updated_at=created.created_at - timedelta(hours=2)))
    with pytest.raises(errors.InvalidState, match="expired"):
        _finish(db, fake_qbo, created.authorize_url or "")
    row = integrations.get_integration(db, actor=actor, integration_id=created.id)
    assert row.status == "pending_authorization" and "expired" in (row.last_error or "")


def test_a_reconnection_must_sign_in_to_the_same_company(
        db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    with db.write() as s:
        s.execute(update(models.Integration).values(status="needs_reconnection"))
    fake_qbo.state.add_company("555", "Other Books", "US")
    resumed = integrations.resume_oauth(db, actor=actor, settings=fake_qbo.settings,
                                        integration_id=iid)
    with pytest.raises(errors.ValidationError, match="this connection is for “Harbor Books”"):
        _finish(db, fake_qbo, resumed.authorize_url or "", realm="555")
    row = integrations.get_integration(db, actor=actor, integration_id=iid)
    assert (row.status, row.realm_id) == ("needs_reconnection", REALM)
    again = integrations.resume_oauth(db, actor=actor, settings=fake_qbo.settings,
                                      integration_id=iid)
    assert _finish(db, fake_qbo, again.authorize_url or "").status == "connected"


def test_only_a_connection_that_never_synced_can_be_removed(
        db: Database, actor: Actor, fake_qbo: FakeQbo, other_actor: Actor) -> None:
    pending = _start(db, actor, fake_qbo)
    with pytest.raises(errors.NotFound):
        integrations.remove(db, actor=other_actor, integration_id=pending.id)
    integrations.remove(db, actor=actor, integration_id=pending.id)
    assert _rows(db) == [] and _actions(db, pending.id)[-1] == "integration.remove"
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    integrations.disconnect(db, actor=actor, integration_id=iid)
    with pytest.raises(errors.InvalidState, match="disconnect it instead"):
        integrations.remove(db, actor=actor, integration_id=iid)


def test_disconnecting_twice_records_once(db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    integrations.disconnect(db, actor=actor, integration_id=iid)
    integrations.disconnect(db, actor=actor, integration_id=iid)
    assert _actions(db, iid).count("integration.disconnect") == 1
