"""G5 in the dashboard, JavaScript off: the Incidents page (list, record), the SLA policy
page (set, refuse, remove), and the service-issue suggestion on the Suggestions page."""

from __future__ import annotations

from datetime import UTC, date, datetime

from creditdesk.services.invoicing import invoices
from creditdesk.services.suggesting import incidents, refresh_runs
from tests import factories

LIST = "/dashboard/incidents"
SLA = "/dashboard/incidents/sla"


def test_g5_incidents_page_records_and_lists_an_incident(staff, db, actor) -> None:
    cid = factories.customer(db, actor, "Initech")
    vid = factories.variant(db, actor, sku="HOST-1")
    page = staff.get(LIST)
    assert page.status_code == 200 and "<h1>Incidents</h1>" in page.text
    assert 'id="no-incidents"' in page.text and 'id="nav-incidents"' in page.text
    r = staff.post(LIST, {"started_at": "2026-03-03T10:00", "ended_at": "2026-03-03T12:30",
                          "description": "Database failover", "customer_ids": [cid],
                          "variant_ids": [vid]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == LIST
    page = staff.get(LIST)
    assert "Database failover" in page.text and "Initech" in page.text
    assert "2026-03-03 10:00" in page.text and "2 h 30 min" in page.text
    assert "Variant HOST-1" in page.text
    [made] = incidents.list_incidents(db, actor=actor).data
    assert made.started_at.isoformat() == "2026-03-03T10:00:00+00:00"


def test_g5_a_refused_incident_is_shown_next_to_its_field(staff, db, actor) -> None:
    r = staff.post(LIST, {"started_at": "2026-03-03T10:00", "ended_at": "2026-03-03T09:00",
                          "description": "Backwards"})
    assert r.status_code == 422 and 'id="err-add-ended_at"' in r.text
    assert 'value="Backwards"' in r.text
    assert incidents.list_incidents(db, actor=actor).data == []


def test_g5_sla_page_sets_refuses_and_removes_policies(admin, db, actor) -> None:
    vid = factories.variant(db, actor, sku="HOST-1")
    page = admin.get(SLA)
    assert page.status_code == 200 and 'id="no-policies"' in page.text
    r = admin.post(SLA, {"variant_id": "", "availability_promised": "99.9",
                         "band-0-below": "99.9", "band-0-credit_percent": "10",
                         "band-1-below": "99", "band-1-credit_percent": "25"},
                   follow_redirects=False)
    assert r.status_code == 303
    r = admin.post(SLA, {"variant_id": vid, "availability_promised": "99.5",
                         "band-0-below": "99.9", "band-0-credit_percent": "10"})
    assert r.status_code == 422 and 'id="err-set-bands[0].below"' in r.text
    admin.post(SLA, {"variant_id": vid, "availability_promised": "99.95",
                     "band-0-below": "99.95", "band-0-credit_percent": "5"})
    page = admin.get(SLA)
    assert "below 99.9 % → 10 %; below 99 % → 25 %" in page.text
    assert "Default (every other product)" in page.text and "99.95 %" in page.text
    assert len(incidents.get_sla(db, actor=actor).policies) == 2
    admin.post(f"{SLA}/remove", {"variant_id": vid})
    assert [p.variant_id for p in incidents.get_sla(db, actor=actor).policies] == [None]


def test_g5_the_service_credit_shows_on_the_suggestions_page(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Initech")
    vid = factories.variant(db, actor, sku="HOST-1", price="200.00")
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, issue_date=date(2026, 3, 1),
                                  lines=[{"description": "Hosting", "quantity": 1,
                                          "unit_price": "200.00", "variant_id": vid}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    incidents.replace_sla(db, actor=actor, policies=[{"availability_promised": "99.9", "bands": [
        {"below": "99.9", "credit_percent": "10"}]}])
    admin.post(LIST, {"started_at": "2026-03-03T10:00", "ended_at": "2026-03-03T14:00",
                      "description": "Database failover"})
    admin.post("/dashboard/suggestions/refresh", {})
    refresh_runs.run_pending(db)  # the worker
    page = admin.get("/dashboard/suggestions", params={"reason": "service_issue"})
    assert "Database failover" in page.text and "$20.00" in page.text
    assert 'value="service_issue" selected' in page.text


def test_g5_another_partners_incidents_are_not_shown(admin, db, rival) -> None:
    _, other = rival
    incidents.create_incident(db, actor=other, started_at=datetime(2026, 3, 3, tzinfo=UTC),
                              ended_at=datetime(2026, 3, 4, tzinfo=UTC),
                              description="Rival outage")
    assert "Rival outage" not in admin.get(LIST).text
