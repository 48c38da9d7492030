"""G3 under a race, on PostgreSQL with real threads: two accepts of one suggestion leave
exactly one draft memo; the other request is answered 409 (pg_db: row locks matter)."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.services.access import partners
from creditdesk.services.credit_memos import memos
from creditdesk.services.suggesting import suggestions
from creditdesk.web.app import create_app
from tests.services.test_suggestions import duplicated_plan

pytestmark = pytest.mark.slow
JOIN_TIMEOUT = 90.0


@pytest.mark.parametrize("round_", range(3))
def test_g3_two_concurrent_accepts_leave_exactly_one_draft(pg_db: Database,
                                                          round_: int) -> None:
    new = partners.create_partner(pg_db, name=f"Race {round_}",
                                  admin_email=f"race{round_}@acme.test",
                                  admin_password="correct horse")
    actor = partners.authenticate_api_key(pg_db, new.api_key)
    cid, dup = duplicated_plan(pg_db, actor)
    suggestions.refresh(pg_db, actor=actor, customer_id=cid)
    [s] = suggestions.list_suggestions(pg_db, actor=actor).data
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []
    failures: list[BaseException] = []

    def accept(client: TestClient) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            r = client.post(f"/api/v1/suggestions/{s.id}/accept")
            answers.append((r.status_code, r.json()))
        except BaseException as exc:  # reported below: a thread must not fail silently
            failures.append(exc)

    clients = [TestClient(create_app(pg_db), raise_server_exceptions=False) for _ in range(2)]
    for c in clients:
        c.__enter__()
        c.headers["Authorization"] = f"Bearer {new.api_key}"
    try:
        threads = [threading.Thread(target=accept, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(JOIN_TIMEOUT)
        assert not any(t.is_alive() for t in threads), "an accept is still running (deadlock?)"
    finally:
        for c in clients:
            c.__exit__(None, None, None)
    assert not failures, failures
    assert sorted(code for code, _ in answers) == [201, 409], answers
    [created] = [body for code, body in answers if code == 201]
    [refused] = [body for code, body in answers if code == 409]
    assert refused["code"] == "invalid_state"
    left = memos.list_memos(pg_db, actor=actor).data
    assert [(m.id, m.status, m.invoice_id) for m in left] == [
        (created["credit_memo"]["id"], "draft", dup)]
    after = suggestions.get_suggestion(pg_db, actor=actor, suggestion_id=s.id)
    assert after.status == "accepted" and after.credit_memo_id == left[0].id
