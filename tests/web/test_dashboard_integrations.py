"""Dashboard > Integrations (P1): connections, their runs, Sync now; synced memos and their
lines read-only; QuickBooks Desktop's Web Connector set-up (password shown once, .qwc)."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from defusedxml import ElementTree as SafeET

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import qbwc
from creditdesk.services.common.context import Actor
from tests.qbo_fixtures import REALM, FakeQbo

PAGE = "/dashboard/integrations"


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


# QuickBooks Desktop: the Web Connector set-up ------------------------------------------------


@pytest.fixture
def _public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_PUBLIC_URL", "https://books.example.test")


def _value(page: str, input_id: str) -> str:
    found = re.search(rf'<input [^>]*id="{input_id}"[^>]*value="([^"]*)"', page)
    assert found, input_id
    return html_lib.unescape(found.group(1))


def _desktop(db: Database) -> list[models.Integration]:
    with db.read() as s:
        return list(s.query(models.Integration).filter_by(provider="quickbooks_desktop"))


def test_y1_connect_quickbooks_desktop_shows_the_password_once_and_the_qwc_link(
        admin, db: Database, _public_url: None) -> None:
    page = admin.get(PAGE)
    form = re.search(r'<form[^>]*id="connect-desktop".*?</form>', page.text, re.S)
    assert form and 'name="csrf_token"' in form.group(0)
    assert "QuickBooks Desktop is not available yet" not in page.text
    r = admin.post(f"{PAGE}/connect-desktop")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    (row,) = _desktop(db)
    assert row.status == "pending_authorization"
    password, username = _value(r.text, "qbwc-password"), _value(r.text, "qbwc-username")
    assert username == row.realm_id and len(password) >= 32
    assert "shown only once" in r.text and 'hx-history="false"' in r.text
    assert password not in (row.credentials_encrypted or "")  # only a fingerprint, sealed
    assert qbwc.authenticate(db, username, "wrong password") == ["", "nvu"]
    link = f'href="{PAGE}/{row.id}/qwc"'
    assert link in r.text and 'hx-boost="false"' in r.text

    again = admin.get(PAGE)  # the password is never shown again
    assert password not in again.text and username in again.text
    assert "pending authorization" in again.text and "Waiting for the QuickBooks Web" in again.text
    assert link in again.text and f'id="sync-{row.id}"' not in again.text

    qwc = admin.get(f"{PAGE}/{row.id}/qwc")
    assert qwc.status_code == 200 and qwc.headers["content-type"].startswith("application/xml")
    assert qwc.headers["content-disposition"] == f'attachment; filename="creditdesk-{username}.qwc"'
    root = SafeET.fromstring(qwc.content)
    assert (root.tag, root.findtext("UserName"), root.findtext("AppURL")) == (
        "QBWCXML", username, "https://books.example.test/qbwc")
    assert password not in qwc.text

    ticket, company = qbwc.authenticate(db, username, password)  # the Web Connector's first
    assert ticket and company == ""
    assert "connected" in admin.get(PAGE).text.split(f'id="integration-{row.id}"')[1][:400]


def test_connecting_quickbooks_desktop_needs_an_admin_and_a_csrf_token(
        admin, staff, db: Database) -> None:
    assert staff.post(f"{PAGE}/connect-desktop").status_code == 403
    assert 'id="connect-desktop"' not in staff.get(PAGE).text
    assert admin.post(f"{PAGE}/connect-desktop", csrf=False).status_code == 403
    assert _desktop(db) == []


def test_the_qwc_file_is_the_partners_own(admin, rival, db: Database) -> None:
    assert admin.post(f"{PAGE}/connect-desktop").status_code == 200
    (row,) = _desktop(db)
    rival_browser, _ = rival
    assert rival_browser.get(f"{PAGE}/{row.id}/qwc").status_code == 404
    assert row.realm_id not in rival_browser.get(PAGE).text
    assert admin.get(f"{PAGE}/int_missing/qwc").status_code == 404


def test_y3_a_synced_memos_lines_show_on_its_page_read_only(
        admin, db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="130.00", doc_number="QB-CM-7", lines=[
        ("Consulting hours", "1.5", "80.00", "120.00"), ("Rounding", "3", "3.33333", "10.00")])
    fake_qbo.connect(db, actor)
    sync_jobs.run_pending(db, fake_qbo.factory())
    with db.read() as s:
        memo = s.query(models.CreditMemo).filter_by(number="QB-CM-7").one()
    page = admin.get(f"/dashboard/credit-memos/{memo.id}")
    assert page.status_code == 200
    lines = page.text.split('id="h-lines"')[1].split("</table>")[0]
    assert "As QuickBooks Online reports them (read-only)." in lines
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", lines)]
    assert cells == ["Consulting hours", "—", "1.5", "$80.00", "$120.00",
                     "Rounding", "—", "3", "—", "$10.00"]
    assert "/edit" not in page.text and 'id="read-only"' in page.text
