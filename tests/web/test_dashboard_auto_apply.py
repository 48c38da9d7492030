"""AU1 in the dashboard: Team Preferences > Apply available credit to new invoices (toggle
and exceptions, previewed first, administrators only), the Issue of a draft invoice confirmed
with the credit it would apply (P6), and automatic applications marked so on the invoice
and memo pages, removable there (U1). Plain forms: no JavaScript needed."""

from __future__ import annotations

from creditdesk.services.credit_memos import auto_apply
from creditdesk.services.customer_accounts import auto_apply_setting as setting
from creditdesk.services.customer_accounts import portal_credit_setting
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import audit_trail
from tests import factories

PAGE = "/dashboard/preferences/auto-apply"
HTMX = {"HX-Request": "true", "HX-Target": "confirmation"}


def test_au1_the_preference_page_its_toggle_and_exceptions(admin, db, actor) -> None:
    a = factories.customer(db, actor, "Alpha Corp")
    page = admin.get(PAGE)
    assert page.status_code == 200
    assert "<h1>Apply available credit to new invoices</h1>" in page.text
    assert 'id="tab-auto-apply"' in page.text and 'id="enabled"' in page.text
    assert "off, except for the exceptions" in page.text  # off by default
    r = admin.post(PAGE + "/preview", {"enabled": "on"})
    assert "1 customer will have their credit applied to new invoices" in r.text
    assert setting.get_setting(db, actor=actor).value is False  # the preview saved nothing
    r = admin.post(PAGE, {"enabled": "on"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == PAGE
    assert "Available credit is now applied to new invoices, except the exceptions" in (
        admin.get(PAGE).text)
    admin.post(PAGE + "/exceptions", {"customer_id": a})
    assert [e.customer_id for e in setting.get_setting(db, actor=actor).exceptions] == [a]
    assert portal_credit_setting.get_setting(db, actor=actor).exceptions == []  # its own
    actions = [e.action for e in audit_trail.list_events(db, actor=actor,
                                                         entity_type="partner").data]
    assert "settings.auto_apply" in actions and "settings.auto_apply.add_exception" in actions


def test_au1_staff_cannot_change_it(staff) -> None:
    assert staff.get(PAGE).status_code == 403
    assert staff.post(PAGE, {"enabled": "on"}).status_code == 403


def _world(db, actor):
    cid = factories.customer(db, actor, "Wayne Enterprises")
    older = factories.memo(db, actor, cid, "30.00")
    newer = factories.memo(db, actor, cid, "50.00")
    setting.set_enabled(db, actor=actor, flag=True)
    draft = factories.invoice(db, actor, cid, "60.00", issue=False)
    return cid, older, newer, draft


def test_au1_issue_is_confirmed_with_the_credit_it_applies(admin, db, actor) -> None:
    _, older, newer, draft = _world(db, actor)
    url = f"/dashboard/invoices/{draft}"
    page = admin.get(url)
    assert 'id="issue-invoice-button"' in page.text
    assert "s available credit to it at once" in page.text
    for headers in ({}, HTMX):
        r = admin.post(url + "/issue/preview", headers=headers)
        assert r.status_code == 200
        assert ("<html" in r.text) is (not headers)
        assert "Issue invoice INV-0001?" in r.text
        assert "CM-0001</strong>: $30.00 applied automatically" in r.text
        assert "CM-0002</strong>: $30.00 applied automatically" in r.text
        assert "remaining credit $50.00 → $20.00" in r.text
        assert "balance due $60.00 → $0.00" in r.text
    assert invoices.get_invoice(db, actor=actor, invoice_id=draft).status == "draft"

    r = admin.post(url + "/issue", follow_redirects=False)
    assert r.status_code == 303
    shown = admin.get(url).text
    assert ("Invoice INV-0001 issued. $60.00 of available credit was applied automatically; "
            "nothing is left to pay.") in shown
    assert f'id="automatic-{older}"' in shown and f'id="automatic-{newer}"' in shown
    memo_page = admin.get(f"/dashboard/credit-memos/{newer}").text
    assert f'id="automatic-{draft}"' in memo_page and ">Automatic<" in memo_page


def test_au1_issue_without_credit_says_so(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    draft = factories.invoice(db, actor, cid, "60.00", issue=False)
    r = admin.post(f"/dashboard/invoices/{draft}/issue/preview")
    assert "No credit is applied automatically." in r.text
    assert "applies" not in admin.get(f"/dashboard/invoices/{draft}").text.split(
        'id="h-issue"')[1].split("</section>")[0]  # the preference doesn't reach it


def test_au1_an_issued_invoice_refuses_issue_on_its_page(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid, "60.00")
    r = admin.post(f"/dashboard/invoices/{inv}/issue")
    assert r.status_code == 409
    assert "only draft invoices can be issued" in r.text


def test_au1_an_automatic_application_is_removed_from_the_invoice_page(admin, db,
                                                                       actor) -> None:
    _, older, _, draft = _world(db, actor)
    auto_apply.issue_invoice(db, actor=actor, invoice_id=draft)
    url = f"/dashboard/invoices/{draft}"
    confirm = admin.post(f"{url}/credits/{older}/remove/preview")
    assert "Remove the credit of CM-0001 from invoice INV-0001?" in confirm.text
    r = admin.post(f"{url}/credits/{older}/remove", follow_redirects=False)
    assert r.status_code == 303
    assert invoices.get_invoice(db, actor=actor, invoice_id=draft).balance_due.to_str() \
        == "30.00"
