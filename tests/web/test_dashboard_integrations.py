"""Dashboard > Integrations (P1): connections, their runs, Sync now; synced memos read-only."""

from __future__ import annotations

from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.context import Actor
from tests.qbo_fixtures import REALM, FakeQbo


def test_integrations_page_shows_connection_runs_and_sync_now(
        admin, db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00", doc_number="QB-CM-9")
    iid = fake_qbo.connect(db, actor)
    sync_jobs.run_pending(db, fake_qbo.factory())
    page = admin.get("/dashboard/integrations")
    assert page.status_code == 200
    assert "QuickBooks Online: Harbor Books" in page.text and "succeeded" in page.text
    assert 'href="/dashboard/integrations"' in page.text
    r = admin.post(f"/dashboard/integrations/{iid}/sync", follow_redirects=False)
    assert r.status_code == 303
    memos = admin.get("/dashboard/credit-memos?source=quickbooks_online")
    assert "QB-CM-9" in memos.text
