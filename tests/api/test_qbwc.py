"""QuickBooks Desktop end to end: CreditDesk served by uvicorn on a real port, the fake Web
Connector driving ``/qbwc`` over HTTP from a fake company file (Y1-Y8, API.md)."""

from __future__ import annotations

import httpx
import pytest
from defusedxml import ElementTree as SafeET
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from creditdesk.connectors import qbwc_soap as soap
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import qbwc_setup
from creditdesk.services.common.context import Actor
from creditdesk_devtools.fakes.qbwc_client import FakeWebConnector
from creditdesk_devtools.fakes.qbwc_company import FakeCompany
from tests.qbwc_fixtures import Live
from tests.sync_helpers import synced_customers

API = "/api/v1"


@pytest.fixture
def qbd(db: Database, actor: Actor, live: Live) -> qbwc_setup.Created:
    return qbwc_setup.create(db, actor=actor)


def memos(db: Database) -> dict[str, models.CreditMemo]:
    with db.read() as s:
        rows = s.scalars(select(models.CreditMemo).where(
            models.CreditMemo.source == "quickbooks_desktop")).all()
        return {r.external_id: r for r in rows}


def runs(db: Database) -> list[models.SyncRun]:
    with db.read() as s:
        return list(s.scalars(select(models.SyncRun).order_by(models.SyncRun.queued_at,
                                                              models.SyncRun.id)).all())


def integration(db: Database, iid: str) -> models.Integration:
    with db.read() as s:
        return s.get_one(models.Integration, iid)


def post(live: Live, body: bytes | str) -> httpx.Response:
    return live.http.post(f"{live.url}/qbwc", content=body,
                          headers={"Content-Type": soap.CONTENT_TYPE})


# --- SOAP shapes and authentication ----------------------------------------------------------
def test_soap_shapes_versions_and_wsdl(live: Live) -> None:
    r = post(live, soap.request("serverVersion", strVersion=""))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    root = SafeET.fromstring(r.content)
    body = root.find(f"{{{soap.SOAP_NS}}}Body")
    assert body is not None and body[0].tag == f"{{{soap.INTUIT_NS}}}serverVersionResponse"
    assert soap.read_answer(r.content, "serverVersion").startswith("CreditDesk")
    ok = post(live, soap.request("clientVersion", strVersion="2.3.0.215"))
    assert soap.read_answer(ok.content, "clientVersion") == ""
    old = post(live, soap.request("clientVersion", strVersion="1.5.0.1"))
    assert soap.read_answer(old.content, "clientVersion") == "O:2.1"
    wsdl = live.http.get(f"{live.url}/qbwc", params={"wsdl": ""})
    assert wsdl.status_code == 200
    doc = SafeET.fromstring(wsdl.content)
    ops = {o.get("name") for o in doc.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert ops == set(soap.METHODS)
    assert b"https://books.example.test/qbwc" in wsdl.content


@pytest.mark.parametrize("body", [
    b"", b"not xml", b"<a/>", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    soap.request("serverVersion").replace("serverVersion", "dropTables").encode(),
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/>'
    b'</soap:Envelope>', b"\xff\xfe\x00garbage",
])
def test_anything_else_gets_a_client_fault_never_a_500(live: Live, body: bytes) -> None:
    r = post(live, body)
    assert r.status_code == 400, r.text
    assert b"<faultcode>soap:Client</faultcode>" in r.content and b"Traceback" not in r.content


def test_bad_login_is_nvu_and_a_good_one_connects(db: Database, live: Live,
                                                  qbd: qbwc_setup.Created) -> None:
    assert integration(db, qbd.integration.id).status == "pending_authorization"
    for user, password in ((qbd.username, "wrong"), ("nobody", qbd.password), ("", "")):
        r = post(live, soap.request("authenticate", strUserName=user, strPassword=password))
        assert soap.read_answer(r.content, "authenticate") == ["", "nvu"]
    assert integration(db, qbd.integration.id).status == "pending_authorization"
    r = post(live, soap.request("authenticate", strUserName=qbd.username,
                                strPassword=qbd.password))
    ticket, answer = soap.read_answer(r.content, "authenticate")
    assert len(ticket) >= 40 and answer == ""
    row = integration(db, qbd.integration.id)
    assert row.status == "connected" and qbd.password not in (row.credentials_encrypted or "")
    with db.read() as s:  # only the ticket's hash is stored
        assert s.scalar(select(func.count()).select_from(models.QbwcSession).where(
            models.QbwcSession.ticket_hash == ticket)) == 0
    last = post(live, soap.request("getLastError", ticket="made-up"))
    assert "expired" in soap.read_answer(last.content, "getLastError")


# --- the conversation ------------------------------------------------------------------------
def test_full_conversation_with_iterators_statuses_customers_and_run(
        db: Database, live: Live, qbd: qbwc_setup.Created) -> None:
    co = FakeCompany()
    issued = co.add_memo("250.00", ref="CM-1007")
    partial = co.add_memo("100.00", "40.00", customer_id="80000059-1700000000",
                          customer_name="Dock Ltd")
    applied = co.add_memo("80.00", "0.00")
    many = [co.add_memo("10.00") for _ in range(230)]  # 233 memos: 3 pages of 100
    out = live.connector(qbd, co).run()
    assert out.auth[1] == "" and out.last_error is None, out.log
    assert out.progress[-1] == 100 and all(0 <= p < 100 for p in out.progress[:-1])
    kinds = [r.split("<QBXMLMsgsRq")[1][:80] for r in co.requests]
    assert "TxnDeletedQueryRq" in kinds[0] and 'iterator="Start"' in kinds[1]
    assert all('iterator="Continue"' in k for k in kinds[2:4]) and len(kinds) == 5
    assert "InvoiceQueryRq" in kinds[4] and 'iterator="Start"' in kinds[4]  # Y9
    got = memos(db)
    assert len(got) == 233
    assert (got[issued].status, got[issued].number, got[issued].total_minor) == (
        "issued", "CM-1007", 25000)
    assert (got[partial].status, got[partial].applied_minor) == ("partially_applied", 6000)
    assert got[applied].status == "applied" and got[many[0]].currency == "USD"
    assert synced_customers(db, "quickbooks_desktop") == {
        ("80000058-1700000000", "Harbor Supply Co"), ("80000059-1700000000", "Dock Ltd")}
    (run,) = runs(db)
    assert (run.status, run.trigger, run.fetched, run.created, run.updated, run.voided) == (
        "succeeded", "web_connector", 233, 233, 0, 0)
    assert run.started_at and run.finished_at and "233 record(s) read" in out.closed
    row = integration(db, qbd.integration.id)
    assert row.last_synced_at and row.next_sync_at is None  # the Web Connector schedules
    assert row.company_name == co.path and row.cursor["modified_since"]


def test_a_quiet_update_completes_and_a_memo_voided_before_it_was_seen_never_shows(
        db: Database, live: Live, qbd: qbwc_setup.Created) -> None:
    """The Web Connector's side of an incremental update; changes, voids and deletions
    themselves run against every system in tests/services/test_sync_contract.py."""
    co = FakeCompany()
    kept = co.add_memo("50.00")
    live.connector(qbd, co).run()
    again = live.connector(qbd, co).run()  # nothing changed: nothing created or updated
    assert again.progress[-1] == 100
    assert (runs(db)[-1].created, runs(db)[-1].updated) == (0, 0)
    gone = co.add_memo("9.00")
    co.void(gone)  # voided before CreditDesk ever saw it: nothing to show
    live.connector(qbd, co).run()
    got = memos(db)
    assert set(got) == {kept} and gone not in got
    assert runs(db)[-1].status == "succeeded"


def test_y3_credit_memo_lines_land_through_the_web_connector(
        db: Database, live: Live, qbd: qbwc_setup.Created) -> None:
    co = FakeCompany()
    txn = co.add_memo("130.00", lines=[("Pallet return", "1.5", "80.00", "120.00"),
                                       ("Freight", None, None, "10.00")])
    live.connector(qbd, co).run()
    assert all("<IncludeLineItems>true</IncludeLineItems>" in rq for rq in co.requests
               if "CreditMemoQueryRq" in rq)
    line = models.CreditMemoLine
    with db.read() as s:
        got = s.execute(select(line.description, line.reported_quantity, line.unit_price_minor,
                               line.amount_minor).where(line.credit_memo_id == memos(db)[txn].id)
                        .order_by(line.position)).all()
    assert [tuple(r) for r in got] == [("Pallet return", "1.5", 8000, 12000),
                                      ("Freight", None, None, 1000)]


@pytest.mark.reliability
def test_killed_conversation_resumes_without_duplicates(
        db: Database, live: Live, qbd: qbwc_setup.Created) -> None:
    co = FakeCompany()
    ids = [co.add_memo("10.00") for _ in range(250)]
    cut = live.connector(qbd, co).run(stop_after=2)  # deleted page + first memo page
    assert cut.closed is None and len(memos(db)) == 100
    assert integration(db, qbd.integration.id).cursor.get("modified_since") is None
    done = live.connector(qbd, co).run()
    assert done.progress[-1] == 100 and done.last_error is None
    got = memos(db)
    assert set(got) == set(ids) and len(got) == 250
    first, second = runs(db)
    assert first.status == "failed" and "resumes" in first.errors[-1]["message"]
    assert (second.status, second.created, second.updated) == ("succeeded", 150, 0)


def test_malformed_record_is_skipped_and_recorded(db: Database, live: Live,
                                                 qbd: qbwc_setup.Created) -> None:
    co = FakeCompany()
    good = co.add_memo("10.00")
    bad = co.add_malformed("<CustomerRef><ListID>1-1</ListID></CustomerRef>"
                           "<TotalAmount>12.3.4</TotalAmount><CreditRemaining>1</CreditRemaining>")
    out = live.connector(qbd, co).run()
    assert out.progress[-1] == 100
    assert set(memos(db)) == {good}
    (run,) = runs(db)
    assert run.status == "partial" and run.errors[0]["external_id"] == bad
    assert "TotalAmount" in run.errors[0]["message"] and "1 skipped" in (out.closed or "")


def test_quickbooks_error_status_fails_the_run_with_a_clear_message(
        db: Database, live: Live, qbd: qbwc_setup.Created) -> None:
    co = FakeCompany()
    co.add_memo("10.00")
    co.fail_next = (3180, "There was an error when saving a list.")
    out = live.connector(qbd, co).run()
    assert out.progress == [-1]
    assert out.last_error == ("QuickBooks answered status 3180 (Error): There was an error "
                              "when saving a list.")
    (run,) = runs(db)
    assert run.status == "failed" and "3180" in run.errors[-1]["message"]
    assert "3180" in (integration(db, qbd.integration.id).last_error or "")
    assert "failed" in (out.closed or "")
    co.hresult_next = ("0x80040400", "QuickBooks found an error when parsing the XML")
    out = live.connector(qbd, co).run()
    assert out.progress == [-1] and "0x80040400" in (out.last_error or "")
    assert live.connector(qbd, co).run().progress[-1] == 100  # the next update recovers
    assert len(memos(db)) == 1


def test_connection_error_is_recorded(db: Database, live: Live,
                                      qbd: qbwc_setup.Created) -> None:
    out = live.connector(qbd, FakeCompany()).run(connection_error=True)
    assert "Could not start QuickBooks" in (out.last_error or "")
    assert runs(db)[0].status == "failed"


def test_other_company_file_is_refused(db: Database, live: Live,
                                       qbd: qbwc_setup.Created) -> None:
    live.connector(qbd, FakeCompany()).run()
    other = FakeCompany(path=r"C:\Books\Other.QBW")
    other.add_memo("10.00")
    out = live.connector(qbd, other).run()
    assert "Other.QBW" in (out.last_error or "") and memos(db) == {}


# --- the API side ----------------------------------------------------------------------------
def test_qwc_file_and_read_only_memos(db: Database, client: TestClient, live: Live,
                                      qbd: qbwc_setup.Created, monkeypatch) -> None:
    r = client.get(f"{API}/integrations/{qbd.integration.id}/qwc")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = SafeET.fromstring(r.content)
    assert doc.tag == "QBWCXML"
    assert doc.findtext("AppURL") == "https://books.example.test/qbwc"
    assert doc.findtext("UserName") == qbd.username and doc.findtext("QBType") == "QBFS"
    assert doc.findtext("IsReadOnly") == "false"  # Y11-Y13: write-backs
    assert doc.findtext("Scheduler/RunEveryNMinutes") == "15"
    for tag in ("OwnerID", "FileID"):
        value = doc.findtext(tag) or ""
        assert value.startswith("{") and value.endswith("}") and len(value) == 38
    for tag in ("AppName", "AppDescription", "AppSupport"):
        assert doc.findtext(tag)
    assert qbd.password not in r.text
    co = FakeCompany()
    co.add_memo("30.00", "10.00")
    live.connector(qbd, co).run()
    memo = client.get(f"{API}/credit-memos",
                      params={"source": "quickbooks_desktop"}).json()["data"][0]
    assert (memo["status"], memo["remaining_amount"], memo["read_only"]) == (
        "partially_applied", "10.00", True)
    refused = client.post(f"{API}/credit-memos/{memo['id']}/void", json={"reason": "x"})
    assert refused.status_code == 409 and "QuickBooks Desktop" in refused.json()["detail"]
    runs_out = client.get(f"{API}/integrations/{qbd.integration.id}/runs").json()["data"]
    assert runs_out[0]["status"] == "succeeded" and runs_out[0]["fetched"] == 1


def test_disconnected_integration_is_nvu(db: Database, actor: Actor, client: TestClient,
                                         live: Live, qbd: qbwc_setup.Created) -> None:
    assert client.delete(f"{API}/integrations/{qbd.integration.id}").status_code == 204
    out = live.connector(qbd, FakeCompany()).run()
    assert out.auth == ["", "nvu"]
    assert client.get(f"{API}/integrations/{qbd.integration.id}/qwc").status_code == 409


def test_connect_through_the_api_then_the_web_connector(db: Database, client: TestClient,
                                                        live: Live) -> None:
    r = client.post(f"{API}/integrations", json={"provider": "quickbooks_desktop"})
    assert r.status_code == 201, r.text
    body = r.json()
    wc = body["web_connector"]
    assert body["status"] == "pending_authorization" and "authorize_url" not in body
    assert wc["username"].startswith("creditdesk-") and len(wc["password"]) >= 40
    assert wc["qwc_url"] == f"{API}/integrations/{body['id']}/qwc"
    again = client.get(f"{API}/integrations/{body['id']}").json()
    assert again["web_connector"]["username"] == wc["username"]
    assert "password" not in again["web_connector"]  # shown once
    assert client.get(wc["qwc_url"]).status_code == 200
    co = FakeCompany()
    co.add_memo("12.00")
    out = FakeWebConnector(live.http, f"{live.url}/qbwc", wc["username"], wc["password"],
                           co).run()
    assert out.progress[-1] == 100
    assert client.get(f"{API}/integrations/{body['id']}").json()["status"] == "connected"
    now = client.post(f"{API}/integrations/{body['id']}/sync")
    assert now.status_code == 409 and "Update Selected" in now.json()["detail"]
    bad = client.post(f"{API}/integrations", json={"provider": "quickbooks_desktop",
                                                   "region": "us"})
    assert bad.status_code == 422
