"""AP1 over the API: users and their own API keys, thresholds, approval requests (four eyes),
and issue refused without an approval (409 approval_required)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.services.access import partners, users
from creditdesk.web.app import create_app
from tests.api.conftest import API, customer, memo, ok, problem
from tests.services.test_suggestions import duplicated_plan

PASSWORD = "long enough"


@pytest.fixture
def app_(db: Database):
    return create_app(db)


def _client(app_, key: str) -> TestClient:
    c = TestClient(app_, raise_server_exceptions=False)
    c.headers["Authorization"] = f"Bearer {key}"
    return c


def add_user(client: TestClient, email: str, role: str = "admin") -> dict[str, Any]:
    return ok(client.post(f"{API}/users", json={"email": email, "role": role,
                                                  "password": PASSWORD}), 201)


def key_of(client: TestClient, user_id: str) -> str:
    return ok(client.post(f"{API}/users/{user_id}/api-keys"), 201)["api_key"]


@pytest.fixture
def people(client: TestClient, app_) -> Iterator[dict[str, TestClient]]:
    """Two admins (ann, bob) and a staff user (sam), each through their own API key."""
    out = {}
    for name, role in (("ann", "admin"), ("bob", "admin"), ("sam", "staff")):
        user = add_user(client, f"{name}@acme.test", role)
        out[name] = _client(app_, key_of(client, user["id"]))
    yield out
    for c in out.values():
        c.close()


def set_threshold(client: TestClient, amount: str = "1000.00", currency: str = "USD") -> None:
    ok(client.put(f"{API}/settings/approvals",
                  json={"thresholds": [{"currency": currency, "amount": amount}]}))


# --- users and their keys ---------------------------------------------------------------


def test_users_are_added_listed_and_audited(client):
    user = add_user(client, "New.Person@Acme.test", "staff")
    assert {k: user[k] for k in ("email", "role", "active")} == {
        "email": "new.person@acme.test", "role": "staff", "active": True}
    listed = ok(client.get(f"{API}/users"))
    assert "new.person@acme.test" in [u["email"] for u in listed["data"]]
    assert listed["next_cursor"] is None
    trail = ok(client.get(f"{API}/audit-events", params={"entity_id": user["id"]}))["data"]
    assert [e["action"] for e in trail] == ["user.create"]


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email", "role": "staff", "password": PASSWORD}, "email"),
    ({"email": "a@acme.test", "role": "boss", "password": PASSWORD}, "role"),
    ({"email": "a@acme.test", "role": "staff", "password": "short"}, "password"),
    ({"email": "a@acme.test", "role": "staff"}, "password"),
    ({"role": "staff", "password": PASSWORD}, "email"),
])
def test_a_bad_user_is_refused_naming_the_field(client, body, field):
    problem(client.post(f"{API}/users", json=body), 422, "validation_error", field)


def test_a_duplicate_email_is_refused_naming_the_field(client):
    add_user(client, "dup@acme.test")
    problem(client.post(f"{API}/users", json={"email": "DUP@acme.test", "role": "staff",
                                               "password": PASSWORD}), 409, "conflict", "email")


def test_staff_can_not_manage_users(client, people):
    sam = people["sam"]
    problem(sam.get(f"{API}/users"), 403, "forbidden")
    problem(sam.post(f"{API}/users", json={"email": "x@acme.test", "role": "admin",
                                           "password": PASSWORD}), 403, "forbidden")
    me = next(u for u in ok(client.get(f"{API}/users"))["data"] if u["email"] == "sam@acme.test")
    problem(sam.post(f"{API}/users/{me['id']}/api-keys"), 403, "forbidden")


def test_a_user_key_acts_as_the_user(client, people):
    c = customer(people["sam"])
    trail = ok(client.get(f"{API}/audit-events", params={"entity_id": c}))["data"]
    assert trail[0]["actor"] == "user:sam@acme.test"
    assert ok(people["ann"].get(f"{API}/users"))["data"]  # an admin's key: an admin


def test_a_deactivated_user_s_key_stops_working(client, people, db):
    sam_id = next(u["id"] for u in ok(client.get(f"{API}/users"))["data"]
                  if u["email"] == "sam@acme.test")
    admin = partners.authenticate_user(db, email="admin@acme.test", password="correct horse")
    users.deactivate(db, actor=admin, user_id=sam_id)
    problem(people["sam"].get(f"{API}/customers"), 401, "unauthenticated")
    problem(client.post(f"{API}/users/{sam_id}/api-keys"), 409, "invalid_state")


def test_another_partner_s_user_is_not_found(client, other_client):
    user = add_user(client, "mine@acme.test")
    problem(other_client.post(f"{API}/users/{user['id']}/api-keys"), 404, "not_found")


# --- thresholds -------------------------------------------------------------------------


def test_thresholds_are_replaced_whole_and_audited(client):
    assert ok(client.get(f"{API}/settings/approvals")) == {"thresholds": []}
    body = {"thresholds": [{"currency": "USD", "amount": "1000"}, {"currency": "JPY",
                                                                   "amount": 50000}]}
    got = ok(client.put(f"{API}/settings/approvals", json=body))
    assert got == {"thresholds": [{"currency": "JPY", "amount": "50000"},
                                  {"currency": "USD", "amount": "1000.00"}]}
    assert ok(client.get(f"{API}/settings/approvals")) == got
    trail = ok(client.get(f"{API}/audit-events"))["data"]
    assert trail[0]["action"] == "settings.approvals"
    assert trail[0]["data"]["to"] == {"JPY": "50000", "USD": "1000.00"}


@pytest.mark.parametrize(("threshold", "field"), [
    ({"currency": "XXY", "amount": "10"}, "thresholds[0].currency"),
    ({"currency": "USD", "amount": "10.001"}, "thresholds[0].amount"),
    ({"currency": "JPY", "amount": "10.5"}, "thresholds[0].amount"),
    ({"currency": "USD", "amount": "0"}, "thresholds[0].amount"),
    ({"currency": "USD", "amount": "ten"}, "thresholds[0].amount"),
    ({"currency": "USD"}, "thresholds[0].amount"),
])
def test_bad_thresholds_are_refused_naming_the_field(client, threshold, field):
    r = client.put(f"{API}/settings/approvals", json={"thresholds": [threshold]})
    problem(r, 422, "validation_error", field)
    assert ok(client.get(f"{API}/settings/approvals")) == {"thresholds": []}


def test_a_currency_twice_is_refused(client):
    r = client.put(f"{API}/settings/approvals", json={"thresholds": [
        {"currency": "USD", "amount": "1"}, {"currency": "USD", "amount": "2"}]})
    problem(r, 422, "validation_error", "thresholds[1].currency")


def test_staff_can_not_change_thresholds(people):
    problem(people["sam"].put(f"{API}/settings/approvals", json={"thresholds": []}),
            403, "forbidden")


# --- AP1 --------------------------------------------------------------------------------


def test_ap1_at_or_above_the_threshold_issue_needs_an_approval(client):
    set_threshold(client, "1000.00")
    c = customer(client)
    below = memo(client, c, "999.99", issue=False)
    assert ok(client.post(f"{API}/credit-memos/{below['id']}/issue"))["status"] == "issued"
    at = memo(client, c, "1000.00", issue=False)
    body = problem(client.post(f"{API}/credit-memos/{at['id']}/issue"), 409,
                   "approval_required")
    assert "approval" in body["detail"] and "$1,000.00" in body["detail"]
    assert ok(client.get(f"{API}/credit-memos/{at['id']}"))["status"] == "draft"
    # another currency has no threshold
    eur = memo(client, customer(client, "Euro", "EUR"), "5000.00", issue=False, currency="EUR")
    assert ok(client.post(f"{API}/credit-memos/{eur['id']}/issue"))["status"] == "issued"


def test_ap1_four_eyes_request_approve_issue(client, people):
    set_threshold(client)
    ann, bob = people["ann"], people["bob"]
    m = memo(ann, customer(ann), "1500.00", issue=False)
    req = ok(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests",
                      json={"comment": "big refund"}), 201)
    assert (req["status"], req["total"], req["requested_by"], req["request_comment"]) == (
        "pending", "1500.00", "user:ann@acme.test", "big refund")
    # pending: still a draft, still refused
    problem(ann.post(f"{API}/credit-memos/{m['id']}/issue"), 409, "approval_required")
    got = ok(ann.get(f"{API}/credit-memos/{m['id']}"))
    assert got["status"] == "draft" and got["approval"] == req
    [listed] = ok(ann.get(f"{API}/credit-memos", params={"status": "draft"}))["data"]
    assert listed["approval"] == req
    # self-approval and a partner-wide key: 403
    problem(ann.post(f"{API}/approval-requests/{req['id']}/approve"), 403, "forbidden")
    problem(client.post(f"{API}/approval-requests/{req['id']}/approve"), 403, "forbidden")
    problem(people["sam"].post(f"{API}/approval-requests/{req['id']}/approve"), 403,
            "forbidden")
    done = ok(bob.post(f"{API}/approval-requests/{req['id']}/approve", json={"comment": "ok"}))
    assert (done["status"], done["decided_by"], done["decision_comment"]) == (
        "approved", "user:bob@acme.test", "ok")
    problem(bob.post(f"{API}/approval-requests/{req['id']}/approve"), 409, "invalid_state")
    issued = ok(ann.post(f"{API}/credit-memos/{m['id']}/issue"))
    assert issued["status"] == "issued" and issued["approval"] is None
    actions = [e["action"] for e in ok(client.get(f"{API}/audit-events", params={
        "entity_id": m["id"]}))["data"]]
    assert {"approval_request.create", "approval_request.approve",
            "credit_memo.issue"} <= set(actions)


def test_ap1_a_request_by_a_partner_wide_key_is_approved_by_any_admin(client, people):
    set_threshold(client)
    m = memo(client, customer(client), "1000.00", issue=False)
    req = ok(client.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 201)
    assert req["requested_by_user_id"] is None
    ok(people["ann"].post(f"{API}/approval-requests/{req['id']}/approve"))
    assert ok(client.post(f"{API}/credit-memos/{m['id']}/issue"))["status"] == "issued"


def test_ap1_reject_needs_a_comment_and_blocks_issue(client, people):
    set_threshold(client)
    ann, bob = people["ann"], people["bob"]
    m = memo(ann, customer(ann), "2000.00", issue=False)
    req = ok(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 201)
    problem(bob.post(f"{API}/approval-requests/{req['id']}/reject"), 422, "validation_error",
            "comment")
    problem(bob.post(f"{API}/approval-requests/{req['id']}/reject", json={"comment": "  "}),
            422, "validation_error", "comment")
    problem(ann.post(f"{API}/approval-requests/{req['id']}/reject", json={"comment": "no"}),
            403, "forbidden")
    done = ok(bob.post(f"{API}/approval-requests/{req['id']}/reject",
                       json={"comment": "too much"}))
    assert (done["status"], done["decision_comment"]) == ("rejected", "too much")
    body = problem(ann.post(f"{API}/credit-memos/{m['id']}/issue"), 409, "approval_required")
    assert "rejected by user:bob@acme.test" in body["detail"]
    # asked again, approved: issued
    again = ok(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 201)
    ok(bob.post(f"{API}/approval-requests/{again['id']}/approve"))
    assert ok(ann.post(f"{API}/credit-memos/{m['id']}/issue"))["status"] == "issued"
    listed = ok(ann.get(f"{API}/credit-memos/{m['id']}/approval-requests"))["data"]
    assert [r["status"] for r in listed] == ["approved", "rejected"]


def test_ap1_editing_an_approved_draft_withdraws_its_approval(client, people):
    set_threshold(client)
    ann, bob = people["ann"], people["bob"]
    m = memo(ann, customer(ann), "1000.00", issue=False)
    req = ok(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 201)
    ok(bob.post(f"{API}/approval-requests/{req['id']}/approve"))
    ok(ann.patch(f"{API}/credit-memos/{m['id']}", json={"amount": "9000.00"}))
    assert ok(ann.get(f"{API}/credit-memos/{m['id']}"))["approval"] is None
    listed = ok(ann.get(f"{API}/credit-memos/{m['id']}/approval-requests"))["data"]
    assert [r["status"] for r in listed] == ["withdrawn"]
    problem(ann.post(f"{API}/credit-memos/{m['id']}/issue"), 409, "approval_required")
    trail = [e["action"] for e in ok(client.get(f"{API}/audit-events", params={
        "entity_id": m["id"]}))["data"]]
    assert "approval_request.withdraw" in trail


def test_ap1_editing_a_pending_draft_withdraws_the_request(client, people):
    set_threshold(client)
    ann, bob = people["ann"], people["bob"]
    m = memo(ann, customer(ann), "1000.00", issue=False)
    req = ok(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 201)
    ok(ann.patch(f"{API}/credit-memos/{m['id']}", json={"notes": "changed"}))
    problem(bob.post(f"{API}/approval-requests/{req['id']}/approve"), 409, "invalid_state")


def test_ap1_one_open_request_per_memo_and_drafts_only(client, people):
    set_threshold(client)
    ann = people["ann"]
    m = memo(ann, customer(ann), "1000.00", issue=False)
    ok(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 201)
    problem(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 409, "invalid_state")
    issued = memo(ann, customer(ann, "Other"), "10.00")
    problem(ann.post(f"{API}/credit-memos/{issued['id']}/approval-requests"), 409,
            "invalid_state")


def test_ap1_preview_of_issue_answers_the_real_refusal(client):
    set_threshold(client)
    m = memo(client, customer(client), "1000.00", issue=False)
    problem(client.post(f"{API}/credit-memos/{m['id']}/issue", params={"preview": "true"}),
            409, "approval_required")


def test_ap1_requests_of_another_partner_are_not_found(client, other_client, people):
    set_threshold(client)
    ann = people["ann"]
    m = memo(ann, customer(ann), "1000.00", issue=False)
    req = ok(ann.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 201)
    problem(other_client.post(f"{API}/approval-requests/{req['id']}/approve"), 404,
            "not_found")
    problem(other_client.post(f"{API}/credit-memos/{m['id']}/approval-requests"), 404,
            "not_found")
    problem(other_client.get(f"{API}/credit-memos/{m['id']}/approval-requests"), 404,
            "not_found")


def test_ap1_a_suggestion_s_draft_follows_the_rule(client, db, partner, people):
    actor = partners.authenticate_api_key(db, partner.api_key)
    cid, _dup = duplicated_plan(db, actor)
    ok(client.post(f"{API}/suggestions/refresh", json={"customer_id": cid}))
    [s] = ok(client.get(f"{API}/suggestions", params={"customer_id": cid}))["data"]
    set_threshold(client, s["amount"])  # exactly at the threshold
    draft = ok(client.post(f"{API}/suggestions/{s['id']}/accept"), 201)["credit_memo"]
    problem(client.post(f"{API}/credit-memos/{draft['id']}/issue"), 409, "approval_required")
    req = ok(people["ann"].post(f"{API}/credit-memos/{draft['id']}/approval-requests"), 201)
    ok(people["bob"].post(f"{API}/approval-requests/{req['id']}/approve"))
    assert ok(client.post(f"{API}/credit-memos/{draft['id']}/issue"))["status"] == "issued"
