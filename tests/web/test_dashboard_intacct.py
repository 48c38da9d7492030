"""Dashboard > Integrations with Sage Intacct: the Connect Sage Intacct form (labelled inputs,
password inputs for the secrets, CSRF), refusals next to the form keeping what was typed
except the secrets, and a connected company with its runs (Y1, Y2, Y7, P1)."""

from __future__ import annotations

import re

import pytest

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from tests.intacct_fixtures import COMPANY, USER, USER_PASSWORD, FakeIntacct

PAGE = "/dashboard/integrations"
CONNECT = "/dashboard/integrations/connect-with-credentials"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")


def form(fake: FakeIntacct, **changes: str) -> dict[str, str]:
    return {"provider": "sage_intacct", **fake.credentials().to_dict(), **changes}


def stored(db: Database) -> int:
    with db.read() as s:
        return len(s.query(models.Integration).all())


def test_the_form_has_labelled_inputs_and_password_inputs_for_the_secrets(admin) -> None:
    page = admin.get(PAGE)
    assert page.status_code == 200
    found = re.search(r'<form[^>]*id="connect-intacct".*?</form>', page.text, re.S)
    assert found, "no Connect Sage Intacct form"
    html = found.group(0)
    assert 'name="csrf_token"' in html and 'action="' + CONNECT + '"' in html
    for name in ("sender_id", "sender_password", "company_id", "user_id", "user_password"):
        assert f'<label for="intacct-{name}">' in html
        tag = re.search(rf'<input [^>]*id="intacct-{name}"[^>]*>', html)
        assert tag, name
        kind = "password" if name.endswith("password") else "text"
        assert f'type="{kind}"' in tag.group(0)
    assert "Sage Intacct and QuickBooks Desktop are not available yet" not in page.text


def test_y1_refusal_shows_next_to_the_form_keeping_all_but_the_secrets(
        admin, db: Database, fake_intacct: FakeIntacct) -> None:
    admin.get(PAGE)
    r = admin.post(CONNECT, form(fake_intacct, user_password="wrong-password-123"))
    assert r.status_code == 422
    assert "Sage Intacct refused the sign-in" in r.text and 'role="alert"' in r.text
    for kept in (fake_intacct.state.sender_id, COMPANY, USER):
        assert f'value="{kept}"' in r.text
    for secret in (fake_intacct.state.sender_password, "wrong-password-123", USER_PASSWORD):
        assert secret not in r.text
    assert stored(db) == 0

    r = admin.post(CONNECT, form(fake_intacct, company_id="", user_password=""))
    assert r.status_code == 422 and 'id="err-connect-sage_intacct-company_id"' in r.text
    assert 'id="err-connect-sage_intacct-user_password"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert stored(db) == 0

    fake_intacct.state.inject("503", "503")
    r = admin.post(CONNECT, form(fake_intacct))
    assert r.status_code == 503 and "could not be reached, try again" in r.text
    assert stored(db) == 0


def test_y1_connect_then_sync_shows_the_company_and_its_runs(
        admin, db: Database, fake_intacct: FakeIntacct) -> None:
    fake_intacct.state.add_adjustment(COMPANY, total="-75.00", record_id="ADJ-0777")
    admin.get(PAGE)
    r = admin.post(CONNECT, form(fake_intacct), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == PAGE
    sync_jobs.run_pending(db, sync_jobs.connector_factory(fake_intacct.client,
                                                          retry=fake_intacct.retry()))
    page = admin.get(PAGE)
    assert f"Sage Intacct: {COMPANY}" in page.text and "succeeded" in page.text
    assert fake_intacct.state.sender_password not in page.text
    assert "ADJ-0777" in admin.get("/dashboard/credit-memos?source=sage_intacct").text


def test_connect_needs_the_csrf_token_and_an_admin(
        admin, staff, db: Database, fake_intacct: FakeIntacct) -> None:
    assert admin.post(CONNECT, form(fake_intacct), csrf=False).status_code == 403
    staff.get(PAGE)
    assert staff.post(CONNECT, form(fake_intacct)).status_code == 403
    assert 'id="connect-intacct"' not in staff.get(PAGE).text
    assert stored(db) == 0
