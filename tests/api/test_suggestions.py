"""API.md /suggestions endpoints (G1-G3), on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.services.access import partners
from tests.api.conftest import ok, problem
from tests.services.test_suggestions import duplicated_plan

KEYS = {"id", "customer_id", "reason", "amount", "currency", "invoice_ids", "confidence",
        "explanation", "status"}


def test_g2_refresh_list_accept(client: TestClient, db: Database,
                                partner: partners.NewPartner) -> None:
    actor = partners.authenticate_api_key(db, partner.api_key)
    cid, dup = duplicated_plan(db, actor)
    body = ok(client.post("/api/v1/suggestions/refresh", json={"customer_id": cid}))
    assert body["created"] == 1
    [s] = ok(client.get("/api/v1/suggestions", params={"customer_id": cid}))["data"]
    assert set(s) >= KEYS
    assert s["reason"] == "duplicate_charge" and s["amount"] == "300.00"
    assert s["invoice_ids"][0] == dup and s["status"] == "open"
    memo = ok(client.post(f"/api/v1/suggestions/{s['id']}/accept"), 201)["credit_memo"]
    assert memo["status"] == "draft" and memo["invoice_id"] == dup
    problem(client.post(f"/api/v1/suggestions/{s['id']}/accept"), 409, "invalid_state")
    problem(client.post(f"/api/v1/suggestions/{s['id']}/dismiss"), 409, "invalid_state")


def test_g3_dismiss_and_errors(client: TestClient, db: Database,
                               partner: partners.NewPartner) -> None:
    actor = partners.authenticate_api_key(db, partner.api_key)
    duplicated_plan(db, actor)
    ok(client.post("/api/v1/suggestions/refresh"))  # no body: the whole partner
    [s] = ok(client.get("/api/v1/suggestions"))["data"]
    assert ok(client.post(f"/api/v1/suggestions/{s['id']}/dismiss"))["status"] == "dismissed"
    assert ok(client.get("/api/v1/suggestions", params={"status": "open"}))["data"] == []
    problem(client.get("/api/v1/suggestions", params={"status": "nope"}), 422,
            "validation_error", "status")
    problem(client.post("/api/v1/suggestions/sug_missing/accept"), 404, "not_found")
    problem(client.post("/api/v1/suggestions/refresh", json={"customer_id": "cus_x"}), 404,
            "not_found")
    problem(client.post("/api/v1/suggestions/refresh", json={"bogus": 1}), 422,
            "validation_error")
