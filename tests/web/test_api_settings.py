"""GET/PUT /api/v1/settings/credit-balance-visibility (P2, E1, P4)."""

from __future__ import annotations

from creditdesk.services.read_models import audit_trail
from tests import factories

URL = "/api/v1/settings/credit-balance-visibility"


def test_default_is_hidden_with_no_exceptions(client) -> None:
    r = client.get(URL)
    assert r.status_code == 200
    assert r.json() == {"show_to_all_customers": False, "exceptions": []}


def test_put_replaces_the_setting_and_is_audited(client, db, actor) -> None:
    a = factories.customer(db, actor, "A")
    b = factories.customer(db, actor, "B")
    r = client.put(URL, json={"show_to_all_customers": True, "exceptions": [b, a, a]})
    assert r.status_code == 200
    assert r.json()["show_to_all_customers"] is True
    assert sorted(r.json()["exceptions"]) == sorted([a, b])
    r = client.put(URL, json={"show_to_all_customers": False, "exceptions": []})
    assert r.json() == {"show_to_all_customers": False, "exceptions": []}
    events = audit_trail.list_events(db, actor=actor, entity_type="partner").data
    assert sum(e.action == "settings.credit_visibility" for e in events) == 2


def test_unknown_or_other_partners_customer_is_a_clear_422(client, db, actor,
                                                          other_actor) -> None:
    theirs = factories.customer(db, other_actor, "Theirs")
    mine = factories.customer(db, actor, "Mine")
    before = client.get(URL).json()
    r = client.put(URL, json={"show_to_all_customers": True, "exceptions": [mine, theirs]})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "exceptions[1]"
    assert theirs in body["errors"][0]["message"]
    assert client.get(URL).json() == before  # nothing changed


def test_bad_bodies_are_422(client) -> None:
    for body in ({"show_to_all_customers": "yes", "exceptions": []},
                 {"exceptions": []}, {"show_to_all_customers": True, "exceptions": "x"},
                 {"show_to_all_customers": True, "exceptions": [1]},
                 {"show_to_all_customers": True, "extra": 1}):
        r = client.put(URL, json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")


def test_needs_an_api_key(client) -> None:
    del client.headers["Authorization"]
    assert client.get(URL).status_code == 401
    assert client.put(URL, json={"show_to_all_customers": True}).status_code == 401
