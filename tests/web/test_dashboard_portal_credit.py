"""P5 in the dashboard: Team Preferences > Customers may apply their credit in the portal,
its toggle and exceptions, each change previewed first (who would start or stop being able
to apply credit: only customers who see their credit, P3), administrators only."""

from __future__ import annotations

from creditdesk.services.customer_accounts import portal_credit_setting as setting
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.read_models import audit_trail
from tests import factories

PAGE = "/dashboard/preferences/portal-credit-application"
HTMX = {"HX-Request": "true", "HX-Target": "confirmation"}


def test_p5_the_page_its_toggle_and_exceptions(admin, db, actor) -> None:
    a = factories.customer(db, actor, "Alpha Corp")
    factories.customer(db, actor, "Beta Ltd")
    page = admin.get(PAGE)
    assert page.status_code == 200
    assert "<h1>Customers may apply their credit in the portal</h1>" in page.text
    assert 'id="tab-visibility"' in page.text and 'id="enabled"' in page.text
    assert "not allowed, except for the exceptions" in page.text  # off by default
    r = admin.post(PAGE, {"enabled": "on"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == PAGE
    assert "Customers may now apply their credit in the portal, except the exceptions" in (
        admin.get(PAGE).text)
    assert setting.get_setting(db, actor=actor).value is True
    assert "Alpha Corp" in admin.get(PAGE + "?q=alpha").text
    admin.post(PAGE + "/exceptions", {"customer_id": a})
    assert [e.customer_id for e in setting.get_setting(db, actor=actor).exceptions] == [a]
    assert visibility.get_setting(db, actor=actor).exceptions == []  # its own exceptions
    admin.post(f"{PAGE}/exceptions/{a}/remove")
    assert setting.get_setting(db, actor=actor).exceptions == []
    actions = [e.action for e in audit_trail.list_events(db, actor=actor,
                                                         entity_type="partner").data]
    assert "settings.portal_credit_application.add_exception" in actions


def test_p5_the_preview_names_who_could_apply_credit_and_saves_nothing(admin, db,
                                                                       actor) -> None:
    seeing = factories.customer(db, actor, "Globex")
    factories.customer(db, actor, "Hooli")  # doesn't see its credit: can't apply it either
    visibility.replace_setting(db, actor=actor, show_to_all_customers=False,
                               exceptions=[seeing])
    admin.get(PAGE)
    for headers in ({}, HTMX):
        r = admin.post(PAGE + "/preview", {"enabled": "on"}, headers=headers)
        assert r.status_code == 200
        assert "1 customer will be able to apply their credit" in r.text
        assert "Globex" in r.text and "Hooli" not in r.text
        assert ("<html" in r.text) is (not headers)
    assert setting.get_setting(db, actor=actor).value is False


def test_p5_staff_cannot_change_it(staff) -> None:
    assert staff.get(PAGE).status_code == 403
    assert staff.post(PAGE, {"enabled": "on"}).status_code == 403


def test_p5_turning_it_on_says_the_exceptions_flip(admin, db, actor) -> None:
    hooli = factories.customer(db, actor, "Hooli")
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    setting.replace_setting(db, actor=actor, enabled=False, exceptions=[hooli])
    admin.get(PAGE)
    r = admin.post(PAGE + "/preview", {"enabled": "on"})
    assert "The 1 exceptions (Hooli) keep getting the opposite of the setting, so they can " \
           "no longer apply their credit." in r.text
    assert "Save and remove the exceptions" in r.text
