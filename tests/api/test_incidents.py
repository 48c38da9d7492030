"""G5 over HTTP, as API.md writes it: POST/GET /incidents, GET/PUT /settings/sla, and the
service-issue suggestion that POST /suggestions/refresh makes and accept turns into a draft."""

from __future__ import annotations

from tests.api.conftest import API, problem

POLICY = {"availability_promised": "99.9", "bands": [
    {"below": "99.9", "credit_percent": "10"}, {"below": "99", "credit_percent": "25"}]}


def _plan(client) -> tuple[str, str, str]:
    """(customer, variant, invoice): $200 of hosting billed on 2026-03-01."""
    cid = client.post(f"{API}/customers", json={"name": "Initech"}).json()["id"]
    product = client.post(f"{API}/products", json={"name": "Hosting", "variants": [
        {"sku": "HOST-1", "name": "Pro", "price": "200.00"}]}).json()
    vid = product["variants"][0]["id"]
    inv = client.post(f"{API}/invoices", json={
        "customer_id": cid, "issue_date": "2026-03-01",
        "lines": [{"description": "Hosting", "quantity": 1, "unit_price": "200.00",
                   "variant_id": vid}]}).json()["id"]
    assert client.post(f"{API}/invoices/{inv}/issue").status_code == 200
    return cid, vid, inv


def test_g5_post_and_list_incidents(client) -> None:
    cid, vid, _ = _plan(client)
    r = client.post(f"{API}/incidents", json={
        "started_at": "2026-03-03T10:00:00Z", "ended_at": "2026-03-03T14:00:00+02:00",
        "description": "Database failover", "customer_ids": [cid], "variant_ids": [vid]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["started_at"].startswith("2026-03-03T10:00:00")
    assert body["ended_at"].startswith("2026-03-03T12:00:00")  # converted to UTC
    assert body["customer_ids"] == [cid] and body["variant_ids"] == [vid]
    everyone = client.post(f"{API}/incidents", json={
        "started_at": "2026-03-05T00:00:00Z", "ended_at": "2026-03-05T01:00:00Z",
        "description": "Network"})
    assert everyone.status_code == 201 and everyone.json()["customer_ids"] == []
    listed = client.get(f"{API}/incidents").json()
    assert [i["id"] for i in listed["data"]] == [everyone.json()["id"], body["id"]]
    assert listed["next_cursor"] is None


def test_g5_bad_incidents_are_refused_naming_the_field(client, other_client) -> None:
    theirs = other_client.post(f"{API}/customers", json={"name": "Theirs"}).json()["id"]
    base = {"started_at": "2026-03-03T10:00:00Z", "ended_at": "2026-03-03T11:00:00Z",
            "description": "x"}
    cases = [({**base, "ended_at": "2026-03-03T10:00:00Z"}, "ended_at"),
             ({**base, "ended_at": "2026-03-03T09:00:00Z"}, "ended_at"),
             ({**base, "customer_ids": [theirs]}, "customer_ids"),
             ({**base, "variant_ids": ["var_nope"]}, "variant_ids"),
             ({**base, "description": "  "}, "description"),
             ({**base, "started_at": "yesterday"}, "started_at")]
    for body, field in cases:
        problem(client.post(f"{API}/incidents", json=body), 422, "validation_error", field,
                ctx=body)
    assert client.get(f"{API}/incidents").json()["data"] == []


def test_g5_sla_settings_round_trip_and_validation(client, other_client) -> None:
    _, vid, _ = _plan(client)
    assert client.get(f"{API}/settings/sla").json() == {"policies": []}
    body = {"policies": [POLICY, {"variant_id": vid, "availability_promised": 99.95,
                                  "bands": [{"below": "99.95", "credit_percent": "5"}]}]}
    r = client.put(f"{API}/settings/sla", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"policies": [
        {"variant_id": None, "availability_promised": "99.9", "bands": [
            {"below": "99.9", "credit_percent": "10"}, {"below": "99", "credit_percent": "25"}]},
        {"variant_id": vid, "availability_promised": "99.95", "bands": [
            {"below": "99.95", "credit_percent": "5"}]}]}
    assert client.get(f"{API}/settings/sla").json() == r.json()
    assert other_client.get(f"{API}/settings/sla").json() == {"policies": []}
    bad = [({"policies": [{**POLICY, "variant_id": "var_nope"}]}, "variant_id"),
           ({"policies": [{**POLICY, "availability_promised": "0"}]}, "availability_promised"),
           ({"policies": [{**POLICY, "availability_promised": "100.5"}]},
            "availability_promised"),
           ({"policies": [{**POLICY, "bands": []}]}, "bands"),
           ({"policies": [{**POLICY, "bands": [{"below": "99", "credit_percent": "1"},
                                               {"below": "99", "credit_percent": "2"}]}]},
            "below"),
           ({"policies": [POLICY, POLICY]}, "variant_id")]
    for payload, field in bad:
        got = problem(client.put(f"{API}/settings/sla", json=payload), 422,
                      "validation_error", ctx=payload)
        assert any(field in e["field"] for e in got["errors"]), (payload, got)
    assert client.get(f"{API}/settings/sla").json() == r.json()


def test_g5_refresh_makes_the_service_issue_suggestion_and_accept_a_draft(client) -> None:
    cid, vid, inv = _plan(client)
    assert client.put(f"{API}/settings/sla", json={"policies": [POLICY]}).status_code == 200
    for start, end, what in (("2026-03-03T10:00:00Z", "2026-03-03T14:00:00Z", "Failover"),
                             ("2026-03-03T13:00:00Z", "2026-03-03T16:00:00Z", "Storage")):
        assert client.post(f"{API}/incidents", json={
            "started_at": start, "ended_at": end, "description": what,
            "variant_ids": [vid]}).status_code == 201
    assert client.post(f"{API}/suggestions/refresh", json={"customer_id": cid}).status_code == 200
    found = [s for s in client.get(f"{API}/suggestions", params={"status": "open"}).json()["data"]
             if s["reason"] == "service_issue"]
    [s] = found
    assert (s["amount"], s["currency"], s["invoice_ids"], s["confidence"]) == (
        "20.00", "USD", [inv], 1.0)
    assert "Failover" in s["explanation"] and "99.19%" in s["explanation"]
    r = client.post(f"{API}/suggestions/{s['id']}/accept")
    assert r.status_code == 201, r.text
    memo = r.json()["credit_memo"]
    assert (memo["status"], memo["reason"], memo["invoice_id"], memo["total"]) == (
        "draft", "service_issue", inv, "20.00")
    client.post(f"{API}/suggestions/refresh", json={})
    assert [x for x in client.get(f"{API}/suggestions", params={"status": "open"}).json()["data"]
            if x["reason"] == "service_issue"] == []


def test_g5_incidents_of_another_partner_are_not_listed(client, other_client) -> None:
    assert other_client.post(f"{API}/incidents", json={
        "started_at": "2026-03-03T10:00:00Z", "ended_at": "2026-03-03T11:00:00Z",
        "description": "theirs"}).status_code == 201
    assert client.get(f"{API}/incidents").json()["data"] == []


def test_g5_incidents_page_with_limit_and_cursor(client) -> None:
    made = [client.post(f"{API}/incidents", json={
        "started_at": f"2026-03-0{d}T10:00:00Z", "ended_at": f"2026-03-0{d}T11:00:00Z",
        "description": f"outage {d}"}).json()["id"] for d in range(1, 4)]
    first = client.get(f"{API}/incidents", params={"limit": 2}).json()
    assert [i["id"] for i in first["data"]] == made[:0:-1] and first["next_cursor"]
    rest = client.get(f"{API}/incidents", params={"limit": 2,
                                                  "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in rest["data"]] == made[:1] and rest["next_cursor"] is None
