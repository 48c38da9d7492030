"""Y11-Y13 over the HTTP API (API.md "Books-connected receivables"): applying synced credit
answers 202 with the application pending; removal of an applied one answers 202 until the
system answers; a pending one is 409 write_back_pending; retry answers 202."""

from __future__ import annotations

from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from tests.api.conftest import API, problem
from tests.services.test_write_back import Books, allocations, drain
from tests.xero_fixtures import TENANT, FakeXero


def test_y11_apply_answers_202_pending_then_the_list_shows_it_applied(
        db: Database, actor: Actor, client: TestClient, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    r = client.post(f"{API}/credit-memos/{b.memo_id}/applications",
                    json={"invoice_id": b.invoices[0], "amount": "20.00"})
    assert r.status_code == 202, r.text
    app = r.json()["application"]
    assert (app["status"], app["origin"], app["amount"]) == ("pending", "user", "20.00")
    assert app["write_back"] == {"system": "xero", "external_id": None, "error": None}
    drain(db, fake_xero)
    listed = client.get(f"{API}/credit-memos/{b.memo_id}/applications").json()["data"]
    [made] = allocations(fake_xero, b.note)
    assert [(a["id"], a["status"], a["write_back"]["external_id"]) for a in listed] == [
        (app["id"], "applied", made["AllocationID"])]
    memo = client.get(f"{API}/credit-memos/{b.memo_id}").json()
    assert (memo["applied_amount"], memo["remaining_amount"]) == ("20.00", "80.00")


def test_y13_removal_answers_202_and_409_while_pending(
        db: Database, actor: Actor, client: TestClient, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    client.post(f"{API}/credit-memos/{b.memo_id}/applications",
                json={"invoice_id": b.invoices[0], "amount": "20.00"})
    again = client.delete(f"{API}/credit-memos/{b.memo_id}/applications",
                          params={"invoice_id": b.invoices[0]})
    problem(again, 409, "write_back_pending")
    drain(db, fake_xero)
    r = client.delete(f"{API}/invoices/{b.invoices[0]}/credits/{b.memo_id}")
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"invoice", "credit_memo"}
    drain(db, fake_xero)
    assert client.get(f"{API}/credit-memos/{b.memo_id}/applications").json()["data"] == []
    assert allocations(fake_xero, b.note) == []


def test_y12_retry_answers_202_and_only_for_a_failed_write_back(
        db: Database, actor: Actor, client: TestClient, fake_xero: FakeXero) -> None:
    b = Books(db, actor, fake_xero)
    fake_xero.state.update_note(TENANT, b.note, RemainingCredit="5.00")
    app = client.post(f"{API}/credit-memos/{b.memo_id}/applications",
                      json={"invoice_id": b.invoices[0], "amount": "20.00"}).json()["application"]
    url = f"{API}/credit-memos/{b.memo_id}/applications/{app['id']}/retry"
    problem(client.post(url), 409, "invalid_state")
    drain(db, fake_xero)
    failed = client.get(f"{API}/credit-memos/{b.memo_id}/applications").json()["data"][0]
    assert failed["status"] == "failed" and failed["write_back"]["error"]
    fake_xero.state.update_note(TENANT, b.note, RemainingCredit="100.00")
    r = client.post(url)
    assert r.status_code == 202, r.text
    assert r.json()["application"]["status"] == "pending"
    problem(client.post(f"{API}/credit-memos/{b.memo_id}/applications/app_nope/retry"),
            404, "not_found")
