"""GET/PUT /api/v1/settings/credit-balance-visibility (P2, E1, P4),
/api/v1/settings/portal-credit-application (P5) and /api/v1/settings/auto-apply (AU1):
three preferences of one shape, a flag and the customers that get the opposite of it."""

from __future__ import annotations

import pytest

from creditdesk.services.read_models import audit_trail
from tests import factories

PREFERENCES = {  # the URL: its flag's name and its audit entry
    "/api/v1/settings/credit-balance-visibility": ("show_to_all_customers",
                                                   "settings.credit_visibility"),
    "/api/v1/settings/portal-credit-application": ("enabled",
                                                   "settings.portal_credit_application"),
    "/api/v1/settings/auto-apply": ("enabled", "settings.auto_apply"),
}


@pytest.fixture(params=list(PREFERENCES), ids=["visibility", "portal_credit", "auto_apply"])
def pref(request) -> tuple[str, str, str]:
    return (request.param, *PREFERENCES[request.param])


def test_default_is_off_with_no_exceptions(client, pref) -> None:
    url, flag, _ = pref
    r = client.get(url)
    assert r.status_code == 200
    assert r.json() == {flag: False, "exceptions": []}


def test_put_replaces_the_setting_and_is_audited(client, db, actor, pref) -> None:
    url, flag, action = pref
    a = factories.customer(db, actor, "A")
    b = factories.customer(db, actor, "B")
    r = client.put(url, json={flag: True, "exceptions": [b, a, a]})
    assert r.status_code == 200
    assert r.json()[flag] is True
    assert sorted(r.json()["exceptions"]) == sorted([a, b])
    r = client.put(url, json={flag: False, "exceptions": []})
    assert r.json() == {flag: False, "exceptions": []}
    events = audit_trail.list_events(db, actor=actor, entity_type="partner").data
    assert [e.action for e in events if e.action.startswith("settings.")] == [action] * 2
    other = next(u for u in PREFERENCES if u != url)  # the other preference: untouched
    assert client.get(other).json()["exceptions"] == []


def test_unknown_or_other_partners_customer_is_a_clear_422(client, db, actor, other_actor,
                                                          pref) -> None:
    url, flag, _ = pref
    theirs = factories.customer(db, other_actor, "Theirs")
    mine = factories.customer(db, actor, "Mine")
    before = client.get(url).json()
    r = client.put(url, json={flag: True, "exceptions": [mine, theirs]})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "exceptions[1]"
    assert theirs in body["errors"][0]["message"]
    assert client.get(url).json() == before  # nothing changed


def test_bad_bodies_are_422(client, pref) -> None:
    url, flag, _ = pref
    for body in ({flag: "yes", "exceptions": []},
                 {"exceptions": []}, {flag: True, "exceptions": "x"},
                 {flag: True, "exceptions": [1]},
                 {flag: True, "extra": 1}):
        r = client.put(url, json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")


def test_needs_an_api_key(client, pref) -> None:
    url, flag, _ = pref
    del client.headers["Authorization"]
    assert client.get(url).status_code == 401
    assert client.put(url, json={flag: True}).status_code == 401
