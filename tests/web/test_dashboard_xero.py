"""Dashboard > Integrations with Xero: Connect Xero goes to Xero's consent screen; a synced
Xero connection shows with its runs (Y1, Y2, P1)."""

from __future__ import annotations

from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.common.context import Actor
from tests.xero_fixtures import TENANT, FakeXero


def test_y1_connect_xero_redirects_to_the_consent_screen(admin, fake_xero: FakeXero) -> None:
    page = admin.get("/dashboard/integrations")
    assert 'id="connect-xero"' in page.text
    r = admin.post("/dashboard/integrations/connect", data={"provider": "xero"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"{fake_xero.base_url}/identity/connect/authorize?")


def test_y2_synced_xero_connection_shows_with_its_runs(
        admin, db: Database, actor: Actor, fake_xero: FakeXero) -> None:
    fake_xero.state.add_credit_note(TENANT, total="5.00", number="CN-0777")
    fake_xero.connect(db, actor)
    sync_jobs.run_pending(db, fake_xero.factory())
    page = admin.get("/dashboard/integrations")
    assert "Xero: Harbor Books" in page.text and "succeeded" in page.text
    assert "CN-0777" in admin.get("/dashboard/credit-memos?source=xero").text
