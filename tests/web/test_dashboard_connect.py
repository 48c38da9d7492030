"""Dashboard > Integrations, connecting QuickBooks Online or Xero (Y1, Y2, P1) through the
routes: Connect answers a 303 to the provider (an HX-Redirect to an htmx request); the OAuth
callback takes a dashboard-started connection back to the page with the outcome in words and
keeps JSON for the API; pending connections continue or are removed; Disconnect says what
happens to synced memos; no Connect for a connected system; a missing app is said; a sync's
progress is a fragment that polls only while a run is queued or running."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

import pytest

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations
from creditdesk.services.common.context import Actor
from tests.qbo_fixtures import REALM, FakeQbo
from tests.xero_fixtures import FakeXero

PAGE = "/dashboard/integrations"
CALLBACK = "/api/v1/integrations/oauth/callback"
HTMX = {"HX-Request": "true"}


def _connect(admin, provider: str = "quickbooks_online", **headers) -> str:
    admin.get(PAGE)
    r = admin.post(f"{PAGE}/connect", data={"provider": provider, "region": "us"},
                   follow_redirects=False, headers=headers)
    assert r.status_code in (200, 303), r.text
    return r.headers.get("hx-redirect") or r.headers["location"]


def _consent(fake, url: str, **choice: str) -> dict[str, str]:
    extra = "".join(f"&{k}={v}" for k, v in choice.items())
    answer = fake.client.get(url + extra, timeout=30)
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlparse(answer.headers["location"]).query).items()}


def _back(admin, fake, params: dict[str, str], accept: str = "text/html") -> str:
    admin.c.app.state.integration_client = fake.patient
    r = admin.c.get(CALLBACK, params=params, headers={"accept": accept},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def _outcome(admin, location: str) -> str:
    found = re.search(r'id="oauth-outcome"[^>]*>([^<]*)<', admin.get(location).text)
    assert found, location
    return html.unescape(found.group(1))


def test_connect_goes_to_the_provider_and_comes_back_to_the_page(
        admin, fake_qbo: FakeQbo) -> None:
    url = _connect(admin)
    assert url.startswith(f"{fake_qbo.base_url}/connect/oauth2?")
    location = _back(admin, fake_qbo, _consent(fake_qbo, url))
    assert re.fullmatch(rf"{PAGE}\?connection=int_\w+", location)
    assert _outcome(admin, location) == ("Connected: QuickBooks Online company “Harbor "
                                         "Books”. The first sync starts now; its progress "
                                         "shows on the connection below.")
    page = admin.get(PAGE).text
    assert 'id="card-connect-qbo"' not in page and 'id="card-connect-xero"' in page


def test_an_htmx_connect_gets_hx_redirect_not_a_redirect_htmx_would_follow(
        admin, fake_qbo: FakeQbo) -> None:
    admin.get(PAGE)
    r = admin.post(f"{PAGE}/connect", data={"provider": "quickbooks_online", "region": "us"},
                   headers={"HX-Request": "true", "HX-Boosted": "true"},
                   follow_redirects=False)
    assert r.status_code == 200 and "location" not in r.headers
    assert r.headers["hx-redirect"].startswith(f"{fake_qbo.base_url}/connect/oauth2?")


def test_an_api_started_connection_still_answers_json(client, fake_qbo: FakeQbo) -> None:
    client.app.state.integration_client = fake_qbo.patient
    created = client.post("/api/v1/integrations", json={"provider": "quickbooks_online",
                                                        "region": "us"}).json()
    params = _consent(fake_qbo, created["authorize_url"])
    r = client.get(CALLBACK, params=params, headers={"accept": "text/html"})
    assert r.status_code == 200 and r.json()["status"] == "connected"


def test_refusals_come_back_to_the_page_in_words(admin, db: Database, actor: Actor,
                                                 fake_xero: FakeXero) -> None:
    fake_xero.state.add_org("t-uk", "London Books", "GB")
    url = _connect(admin, "xero")
    outcome = _outcome(admin, _back(admin, fake_xero, _consent(fake_xero, url, tenant="t-uk")))
    assert outcome.startswith("Xero was not connected.") and "United States" in outcome
    assert 'id="connect-xero"' in admin.get(PAGE).text  # may be tried again


def test_a_second_company_is_refused_in_words(admin, db: Database, actor: Actor,
                                              fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_company("555", "Other Books", "US")
    fake_qbo.state.add_memo("555", total="5.00")
    iid = fake_qbo.connect(db, actor, realm="555")
    fake_qbo.sync(db, iid)
    integrations.disconnect(db, actor=actor, integration_id=iid)  # its memos stay
    url = _connect(admin)
    outcome = _outcome(admin, _back(admin, fake_qbo, _consent(fake_qbo, url, realm=REALM)))
    assert "“Harbor Books” can't be connected" in outcome and "“Other Books”" in outcome


def test_a_declined_consent_and_an_unknown_link_are_said(admin, fake_qbo: FakeQbo) -> None:
    url = _connect(admin)
    fake_qbo.state.consent_error = "access_denied"
    outcome = _outcome(admin, _back(admin, fake_qbo, _consent(fake_qbo, url)))
    assert "Access was not allowed in QuickBooks Online" in outcome
    page = admin.get(PAGE).text
    assert "Continue to QuickBooks Online" in page and "Remove this connection" in page
    location = _back(admin, fake_qbo, {"state": "made-up", "code": "x", "realmId": "1"})
    assert location == f"{PAGE}?oauth=unknown-link"
    assert "unknown or was already used" in _outcome(admin, location)
    api = admin.c.get(CALLBACK, params={"state": "made-up", "code": "x", "realmId": "1"})
    assert api.status_code == 404 and api.json()["code"] == "not_found"


def test_a_pending_connection_continues_or_is_removed(admin, db: Database, actor: Actor,
                                                      fake_qbo: FakeQbo) -> None:
    _connect(admin)
    _connect(admin)  # a second click continues the same connection
    [pending] = integrations.list_integrations(db, actor=actor).data
    page = admin.get(PAGE).text
    assert page.count("Waiting for you to allow CreditDesk in QuickBooks Online") == 1
    assert 'id="connect-qbo"' not in page  # continue it on its card instead
    r = admin.post(f"{PAGE}/{pending.id}/resume", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(fake_qbo.base_url)
    r = admin.post(f"{PAGE}/{pending.id}/remove", follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(PAGE).text
    assert "was removed" in page and 'id="connect-qbo"' in page
    assert integrations.list_integrations(db, actor=actor).data == []


def test_disconnect_says_what_happens_to_synced_memos(admin, db: Database, actor: Actor,
                                                      fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    fake_qbo.state.add_memo(REALM, total="7.00")
    iid = fake_qbo.connect(db, actor)
    fake_qbo.sync(db, iid)
    page = admin.get(PAGE).text
    what = re.search(rf'id="disconnect-what-{iid}">(.*?)</p>', page, re.S)
    assert what and "The 2 credit memos synced from QuickBooks Online stay" in what.group(1)
    assert "read-only" in what.group(1)
    r = admin.post(f"{PAGE}/{iid}/disconnect", follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(PAGE).text
    assert "disconnected: syncing stopped" in page and 'id="connect-qbo"' in page
    assert integrations.get_integration(db, actor=actor, integration_id=iid).status == \
        "disconnected"


def test_disconnect_and_remove_need_an_admin(staff, db: Database, actor: Actor,
                                             fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    page = staff.get(PAGE).text
    assert f'id="disconnect-{iid}"' not in page
    assert staff.post(f"{PAGE}/{iid}/disconnect", follow_redirects=False).status_code == 403


def test_a_missing_app_is_said_and_refused(admin, db: Database, actor: Actor,
                                           fake_qbo: FakeQbo, monkeypatch) -> None:
    monkeypatch.setenv("CREDITDESK_QBO_CLIENT_ID", "")
    page = admin.get(PAGE).text
    said = re.search(r'id="connect-qbo-unconfigured">([^<]*)<', page)
    assert said and "isn't configured (CREDITDESK_QBO_CLIENT_ID not set)" in html.unescape(
        said.group(1))
    assert 'id="connect-qbo"' not in page
    r = admin.post(f"{PAGE}/connect", data={"provider": "quickbooks_online", "region": "us"},
                   follow_redirects=False)
    assert r.status_code == 409 and 'id="error-connect-quickbooks_online"' in r.text
    assert integrations.list_integrations(db, actor=actor).data == []


@pytest.mark.parametrize("provider", ["quickbooks_online", "xero"])
def test_the_connect_forms_are_plain_navigations(admin, provider: str, fake_qbo: FakeQbo,
                                                 fake_xero: FakeXero) -> None:
    form = {"quickbooks_online": "connect-qbo", "xero": "connect-xero"}[provider]
    assert re.search(rf'<form [^>]*id="{form}" hx-boost="false"', admin.get(PAGE).text)


def test_sync_progress_polls_while_a_run_is_queued(admin, db: Database, actor: Actor,
                                                   fake_qbo: FakeQbo) -> None:
    fake_qbo.state.add_memo(REALM, total="5.00")
    iid = fake_qbo.connect(db, actor)
    admin.get(PAGE)
    admin.post(f"{PAGE}/{iid}/sync")
    fragment = admin.get(f"{PAGE}/{iid}/sync-status", headers=HTMX).text
    assert f'hx-get="{PAGE}/{iid}/sync-status"' in fragment and "every 2s" in fragment
    assert "Sync waiting to start" in fragment and 'class="sync-refresh"' in fragment
    assert "<html" not in fragment
    as_page = admin.get(f"{PAGE}/{iid}/sync-status", follow_redirects=False)
    assert as_page.status_code == 303 and as_page.headers["location"] == PAGE
    sync_jobs.run_pending(db, fake_qbo.factory())
    fragment = admin.get(f"{PAGE}/{iid}/sync-status", headers=HTMX).text
    assert "hx-get" not in fragment  # the run is over: the polling stops
    assert re.search(r"Last sync finished at [\d-]+ [\d:]+ UTC: 1 fetched; 1 memo created, "
                     r"0 updated, 0 voided; 0 invoices created, 0 updated, 0 voided\.", fragment)


def test_a_failed_sync_says_why(admin, db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    with db.write() as s:
        s.add(models.SyncRun(id="run_failed1", partner_id=actor.partner_id, integration_id=iid,
                             trigger="manual", status="failed", queued_at=s.get_one(
                                 models.Integration, iid).created_at,
                             fetched=0, created=0, updated=0, voided=0,
                             errors=[{"external_id": None, "message": "QuickBooks Online "
                                      "refused the authorization"}]))
    fragment = admin.get(f"{PAGE}/{iid}/sync-status", headers=HTMX).text
    assert "Last sync failed earlier: QuickBooks Online refused the authorization" \
        in fragment


def test_the_sync_status_of_another_partner_is_not_found(rival, db: Database, actor: Actor,
                                                         fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    browser, _ = rival
    assert browser.get(f"{PAGE}/{iid}/sync-status", headers=HTMX).status_code == 404
    assert "Connected" not in browser.get(f"{PAGE}?connection={iid}").text


def test_a_connection_needing_reconnection_signs_in_again_on_its_card(
        admin, db: Database, actor: Actor, fake_qbo: FakeQbo) -> None:
    iid = fake_qbo.connect(db, actor)
    with db.write() as s:
        s.get_one(models.Integration, iid).status = "needs_reconnection"
    page = admin.get(PAGE).text
    assert "Reconnect QuickBooks Online" in page and 'id="card-connect-qbo"' not in page
    r = admin.post(f"{PAGE}/{iid}/resume", follow_redirects=False)
    assert r.status_code == 303
    location = _back(admin, fake_qbo, _consent(fake_qbo, r.headers["location"]))
    assert location == f"{PAGE}?connection={iid}"
    assert _outcome(admin, location).startswith("Connected: QuickBooks Online company")
    refused = admin.post(f"{PAGE}/{iid}/resume", follow_redirects=False)  # connected now
    assert refused.status_code == 409 and f'id="error-integration-{iid}"' in refused.text
