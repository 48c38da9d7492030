"""E2: a POST carrying an Idempotency-Key is executed once; its first answer is replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.jobs import housekeeping
from creditdesk.services.common import idempotency
from creditdesk.services.common.context import clock
from creditdesk.services.credit_memos import memos
from tests.api.conftest import API, customer, invoice, memo, ok, problem, snapshot

JSON = {"content-type": "application/json"}


def _post(client, path, key, *, json=None, content=None):
    headers = {"Idempotency-Key": key, **(JSON if content is not None else {})}
    return client.post(f"{API}{path}", json=json, content=content, headers=headers)


def _count(client, path="/credit-memos"):
    return len(ok(client.get(f"{API}{path}", params={"limit": 200}))["data"])


def test_e2_same_key_same_body_replays(client, db):
    cid = customer(client)
    body = {"customer_id": cid, "reason": "goodwill", "amount": "60.00"}
    first = _post(client, "/credit-memos", "k-1", json=body)
    after_first = snapshot(db)
    second = _post(client, "/credit-memos", "k-1", json=body)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers.get("idempotent-replayed") == "true"
    assert _count(client) == 1 and snapshot(db) == after_first


def test_e2_same_json_with_other_spacing_order_or_number_spelling_replays(client):
    cid = customer(client)
    raw1 = b'{"customer_id": "%s", "reason": "goodwill", "amount": 60.1}' % cid.encode()
    raw2 = b'{ "amount":60.10,"reason" : "goodwill",  "customer_id":"%s" }' % cid.encode()
    first = _post(client, "/credit-memos", "k-2", content=raw1)
    second = _post(client, "/credit-memos", "k-2", content=raw2)
    assert ok(first, 201) == ok(second, 201) and _count(client) == 1


def test_e2_same_key_different_body_is_refused(client, db):
    cid = customer(client)
    ok(_post(client, "/credit-memos", "k-3",
             json={"customer_id": cid, "reason": "goodwill", "amount": "1.00"}), 201)
    before = snapshot(db)
    for other in [{"customer_id": cid, "reason": "goodwill", "amount": "1.01"},
                  {"customer_id": cid, "reason": "other", "amount": "1.00"},
                  {"customer_id": cid, "reason": "goodwill", "amount": "1.00", "notes": "x"}]:
        problem(_post(client, "/credit-memos", "k-3", json=other), 422,
                "idempotency_key_reused", ctx=other)
    problem(_post(client, "/customers", "k-3", json={"name": "x"}), 422,
            "idempotency_key_reused")  # another path is another request
    assert snapshot(db) == before and _count(client) == 1


def test_e2_numbers_equal_as_floats_but_not_as_decimals_are_different_bodies(client):
    cid = customer(client)
    raw = b'{"customer_id": "%s", "reason": "goodwill", "amount": %s}'
    ok(_post(client, "/credit-memos", "k-4", content=raw % (cid.encode(), b"0.1")), 201)
    r = _post(client, "/credit-memos", "k-4", content=raw % (cid.encode(), b"0.10000000000000001"))
    problem(r, 422, "idempotency_key_reused")


def test_e2_apply_is_executed_once(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    body = {"invoice_id": inv["id"], "amount": "25.00"}
    answers = [_post(client, f"/credit-memos/{m['id']}/applications", "apply-1", json=body)
               for _ in range(3)]
    assert {r.status_code for r in answers} == {201}
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert len(ok(client.get(f"{API}/credit-memos/{m['id']}/applications"))["data"]) == 1
    assert ok(client.get(f"{API}/credit-memos/{m['id']}"))["remaining_amount"] == "35.00"
    assert ok(client.get(f"{API}/invoices/{inv['id']}"))["balance_due"] == "75.00"


def test_e2_payment_and_issue_are_executed_once(client):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    for _ in range(2):
        ok(_post(client, f"/invoices/{inv['id']}/payments", "pay-1", json={"amount": "10"}), 201)
    assert len(ok(client.get(f"{API}/invoices/{inv['id']}"))["payments"]) == 1
    m = memo(client, cid, "5.00", issue=False)
    first = _post(client, f"/credit-memos/{m['id']}/issue", "issue-1")
    second = _post(client, f"/credit-memos/{m['id']}/issue", "issue-1")
    assert first.status_code == second.status_code == 200  # not 409 invalid_state
    assert second.json() == first.json()
    entries = ok(client.get(f"{API}/journal-entries", params={"source_id": m["id"]}))["data"]
    assert len(entries) == 1  # L2: posted once


def test_e2_a_4xx_first_response_is_replayed(client, db):
    cid = customer(client)
    inv = invoice(client, cid, "100.00")
    m = memo(client, cid, "60.00")
    body = {"invoice_id": inv["id"], "amount": "70.00"}
    first = _post(client, f"/credit-memos/{m['id']}/applications", "over-1", json=body)
    problem(first, 422, "exceeds_memo_remaining")
    second = _post(client, f"/credit-memos/{m['id']}/applications", "over-1", json=body)
    assert second.status_code == 422 and second.content == first.content
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.headers.get("idempotent-replayed") == "true"
    bad = _post(client, "/credit-memos", "bad-1", content=b"{oops")
    again = _post(client, "/credit-memos", "bad-1", content=b"{oops")
    problem(again, 422, "validation_error")
    assert again.content == bad.content


def test_e2_keys_are_scoped_per_partner(client, other_client):
    mine = customer(client)
    theirs = customer(other_client)
    a = ok(_post(client, "/credit-memos", "shared",
                 json={"customer_id": mine, "reason": "goodwill", "amount": "1.00"}), 201)
    b = ok(_post(other_client, "/credit-memos", "shared",
                 json={"customer_id": theirs, "reason": "goodwill", "amount": "1.00"}), 201)
    assert a["id"] != b["id"] and _count(client) == 1 and _count(other_client) == 1
    c = ok(_post(other_client, "/customers", "k-again", json={"name": "Same"}), 201)
    d = ok(_post(client, "/customers", "k-again", json={"name": "Same"}), 201)
    assert c["id"] != d["id"]


def test_e2_unauthenticated_request_does_not_claim_the_key(client, anon, db):
    cid = customer(client)
    body = {"customer_id": cid, "reason": "goodwill", "amount": "1.00"}
    r = anon.post(f"{API}/credit-memos", json=body, headers={
        "Idempotency-Key": "k-5", "Authorization": "Bearer cdk_wrong"})
    problem(r, 401, "unauthenticated")
    assert _records(db) == []
    ok(_post(client, "/credit-memos", "k-5", json=body), 201)


def _records(db):
    with db.read() as session:
        return session.scalars(select(models.IdempotencyRecord)).all()


@pytest.mark.parametrize("method,path", [
    ("POST", "/nowhere"), ("POST", "/credit-memos/cm_x/nowhere"),
    ("POST", "/customers/{cid}"),  # a path with no POST: 405
])
@pytest.mark.parametrize("auth", ["Bearer cdk_wrong", "Basic Zm9vOmJhcg==", "good"])
def test_e2_a_request_reaching_no_api_operation_stores_nothing(client, anon, db, partner,
                                                                method, path, auth):
    """E2 scope: whatever the Authorization header, a key sent to a path with no such
    operation writes no row (before, any such POST grew the table for ever)."""
    cid = customer(client)
    header = f"Bearer {partner.api_key}" if auth == "good" else auth
    for n in range(3):
        r = anon.request(method, f"{API}{path.format(cid=cid)}", json={"x": n}, headers={
            "Idempotency-Key": f"junk-{n}", "Authorization": header})
        assert r.status_code in (401, 404, 405), r.text
    assert _records(db) == []


def test_e2_failed_authentication_with_a_known_key_neither_replays_nor_reveals(
        client, anon, db):
    cid = customer(client)
    body = {"customer_id": cid, "reason": "goodwill", "amount": "1.00"}
    ok(_post(client, "/credit-memos", "k-known", json=body), 201)
    r = anon.post(f"{API}/credit-memos", json=body, headers={
        "Idempotency-Key": "k-known", "Authorization": "Bearer cdk_wrong"})
    problem(r, 401, "unauthenticated")
    assert r.headers.get("idempotent-replayed") is None


def test_e2_server_error_leaves_the_key_free_for_a_retry(client, monkeypatch):
    cid = customer(client)
    body = {"customer_id": cid, "reason": "goodwill", "amount": "1.00"}
    real = memos.create_memo

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(memos, "create_memo", broken)
    problem(_post(client, "/credit-memos", "k-6", json=body), 500, "internal_error")
    monkeypatch.setattr(memos, "create_memo", real)
    ok(_post(client, "/credit-memos", "k-6", json=body), 201)
    assert _count(client) == 1


def test_e2_a_server_error_after_the_effect_rolls_the_effect_back(client, db, monkeypatch):
    """A route that fails after its use case wrote answers 500 and keeps nothing: the memo
    is not created (the 500 says "nothing was changed"), and the retry creates it once.
    Here the answer fails as it is serialised: the use case wrote, then its view does not
    fit the response model."""
    cid = customer(client)
    body = {"customer_id": cid, "reason": "goodwill", "amount": "1.00"}
    before = snapshot(db)
    real = memos.create_memo
    monkeypatch.setattr(memos, "create_memo", lambda *a, **k: (real(*a, **k), None)[1])
    problem(_post(client, "/credit-memos", "k-6b", json=body), 500, "internal_error")
    assert snapshot(db) == before
    monkeypatch.setattr(memos, "create_memo", real)
    ok(_post(client, "/credit-memos", "k-6b", json=body), 201)
    assert _count(client) == 1


def test_e2_keys_expire_after_24_hours(client, db, monkeypatch):
    cid = customer(client)
    body = {"customer_id": cid, "reason": "goodwill", "amount": "1.00"}
    first = ok(_post(client, "/credit-memos", "k-exp", json=body), 201)
    later = datetime.now(UTC) + timedelta(hours=23, minutes=59)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert ok(_post(client, "/credit-memos", "k-exp", json=body), 201)["id"] == first["id"]
    later = datetime.now(UTC) + timedelta(hours=24, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    second = ok(_post(client, "/credit-memos", "k-exp", json=body), 201)
    assert second["id"] != first["id"] and _count(client) == 2
    assert len(_records(db)) == 1  # the expired record made way for the new one


def test_e2_the_scheduled_purge_deletes_expired_keys(client, db, monkeypatch):
    cid = customer(client)
    for n in range(3):
        ok(_post(client, "/customers", f"k-p{n}", json={"name": f"C{n}"}), 201)
    ok(_post(client, "/credit-memos", "k-p-last",
             json={"customer_id": cid, "reason": "goodwill", "amount": "1.00"}), 201)
    with db.write() as session:  # age three of them past 24 hours
        for row in session.scalars(select(models.IdempotencyRecord)
                                   .where(models.IdempotencyRecord.key != "k-p-last")):
            row.created_at = row.created_at - timedelta(hours=24, seconds=1)
    assert idempotency.purge_expired(db) == 3
    assert [r.key for r in _records(db)] == ["k-p-last"]
    assert housekeeping.run(db)["idempotency_records"] == 0  # the periodic job's part


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_e2_malformed_key_is_validation_error(client, db, key):
    before = snapshot(db)
    r = _post(client, "/customers", key, json={"name": "x"})
    problem(r, 422, "validation_error", "Idempotency-Key")
    assert snapshot(db) == before


def test_e2_key_on_get_and_delete_is_ignored(client):
    cid = customer(client)
    m = memo(client, cid, "1.00", issue=False)
    h = {"Idempotency-Key": "k-8"}
    assert ok(client.get(f"{API}/credit-memos/{m['id']}", headers=h))["id"] == m["id"]
    assert client.delete(f"{API}/credit-memos/{m['id']}", headers=h).status_code == 204
    ok(_post(client, "/customers", "k-8", json={"name": "fresh"}), 201)


def test_e2_stored_answers_and_request_fingerprints_reveal_nothing(client, db):
    """A stored answer may hold a secret shown once; the record keeps it sealed, and the
    request is kept as a keyed fingerprint, not a plain hash of a body with passwords."""
    import hashlib

    from sqlalchemy import select

    from creditdesk.db import models

    body = {"name": "Sealed Co", "email": "secret-bearer@example.com"}
    r = client.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "seal-1"})
    assert r.status_code == 201
    with db.read() as session:
        row = session.scalars(select(models.IdempotencyRecord)).one()
    assert "secret-bearer@example.com" not in (row.response_body or "")
    assert row.request_hash != hashlib.sha256(r.request.content).hexdigest()
    again = client.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "seal-1"})
    assert again.json() == r.json()
