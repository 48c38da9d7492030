"""D1, D2 in the dashboard and the portal, JavaScript off: the memo page's PDF and Send (the
recipients shown first), Team Preferences > Documents (profile, logo, SMTP), the note to
the customer on the memo form, the portal's PDF link while credit is visible."""

from __future__ import annotations

import io

from pypdf import PdfReader

from creditdesk.services.customer_accounts import customers, visibility
from creditdesk.services.documents import delivery_job, email_settings, profile
from tests import factories
from tests.services.test_memo_documents import png
from tests.web.conftest import portal_for

SETTINGS = "/dashboard/preferences/documents"


def _billed_memo(db, actor, **kw):
    cid = customers.create_customer(db, actor=actor, name="Globex", email="ap@globex.test").id
    return cid, factories.memo(db, actor, cid, "25.00", **kw)


def test_d1_memo_page_links_its_pdf(admin, db, actor):
    _, mid = _billed_memo(db, actor, customer_note="Thanks!", notes="internal words")
    page = admin.get(f"/dashboard/credit-memos/{mid}")
    assert 'id="memo-pdf"' in page.text and 'id="customer-note"' in page.text
    r = admin.get(f"/dashboard/credit-memos/{mid}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert "Thanks!" in text and "internal words" not in text


def test_d1_a_draft_page_has_no_pdf_and_its_address_says_why(admin, db, actor):
    _, mid = _billed_memo(db, actor, issue=False)
    assert 'id="memo-pdf"' not in admin.get(f"/dashboard/credit-memos/{mid}").text
    r = admin.get(f"/dashboard/credit-memos/{mid}/pdf")
    assert r.status_code == 409 and "draft" in r.text


def test_d2_send_shows_the_recipients_first_then_queues(admin, db, actor, smtp_server):
    email_settings.replace_settings(db, actor=actor, host=smtp_server.host,
                                    port=smtp_server.port, security="none", username=None,
                                    from_address="billing@acme.test")
    _, mid = _billed_memo(db, actor)
    step = admin.get(f"/dashboard/credit-memos/{mid}/send")
    assert step.status_code == 200 and "ap@globex.test" in step.text
    assert 'id="send-recipients"' in step.text and smtp_server.messages == []
    r = admin.post(f"/dashboard/credit-memos/{mid}/send", {"to": "ap@globex.test"},
                   follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(r.headers["location"])
    assert "Sending to ap@globex.test" in page.text and "Waiting to be sent" in page.text
    delivery_job.run_due(db, base_seconds=1)
    assert "delivery-sent" in admin.get(f"/dashboard/credit-memos/{mid}").text
    assert len(smtp_server.messages) == 1


def test_d2_send_refusals_are_shown_next_to_the_form(admin, db, actor, smtp_server):
    _, mid = _billed_memo(db, actor)
    step = admin.get(f"/dashboard/credit-memos/{mid}/send")
    assert 'id="email-not-set-up"' in step.text
    r = admin.post(f"/dashboard/credit-memos/{mid}/send", {"to": "ap@globex.test"})
    assert r.status_code == 409 and 'id="error-send"' in r.text
    email_settings.replace_settings(db, actor=actor, host=smtp_server.host,
                                    port=smtp_server.port, security="none", username=None,
                                    from_address="billing@acme.test")
    r = admin.post(f"/dashboard/credit-memos/{mid}/send", {"to": "ap@globex, x"})
    assert r.status_code == 422 and 'id="err-send-to"' in r.text
    assert 'value="ap@globex, x"' in r.text


def test_d1_d2_document_settings_page(admin, db, actor, monkeypatch):
    monkeypatch.delenv("CREDITDESK_ALLOW_PRIVATE_URLS", raising=False)
    page = admin.get(SETTINGS)
    assert page.status_code == 200 and 'id="no-logo"' in page.text
    r = admin.post("/dashboard/preferences/profile", {
        "legal_name": "Acme LLC", "address": "1 Main St\r\nSpringfield", "email": "a@acme.test",
        "phone": "555"}, follow_redirects=False)
    assert r.status_code == 303
    assert profile.get_profile(db, actor=actor).address == ["1 Main St", "Springfield"]
    r = admin.post("/dashboard/preferences/email", {
        "host": "10.0.0.1", "port": "25", "security": "none", "from_address": "a@acme.test",
        "password": "pw"})
    assert r.status_code == 422 and 'id="err-email-host"' in r.text and "pw" not in r.text
    r = admin.post("/dashboard/preferences/email", {
        "host": "smtp.example.com", "port": "587", "security": "starttls",
        "username": "u", "password": "pw", "from_address": "a@acme.test"},
        follow_redirects=False)
    assert r.status_code == 303
    saved = email_settings.get_settings(db, actor=actor)
    assert saved is not None and saved.password_set and saved.port == 587
    page = admin.get(SETTINGS)
    assert "(stored; leave empty to keep it)" in page.text and "pw" not in page.text.split(
        'id="smtp-password"')[1][:80]


def test_d1_logo_upload_checks_type_and_is_shown(admin, db, actor):
    admin.get(SETTINGS)
    r = admin.c.post("/dashboard/preferences/logo", data={"csrf_token": admin.token},
                     files={"logo": ("logo.gif", b"GIF89a...", "image/gif")})
    assert r.status_code == 422 and "PNG or JPEG" in r.text
    r = admin.c.post("/dashboard/preferences/logo", data={"csrf_token": admin.token},
                     files={"logo": ("logo.png", png(), "image/png")}, follow_redirects=False)
    assert r.status_code == 303 and profile.get_profile(db, actor=actor).has_logo
    page = admin.get(SETTINGS)
    assert 'id="logo-preview"' in page.text
    got = admin.get("/dashboard/preferences/logo")
    assert got.headers["content-type"] == "image/png" and got.content == png()


def test_d1_staff_cannot_change_document_settings(staff):
    assert staff.get(SETTINGS).status_code == 403


def test_d1_memo_form_keeps_the_customer_note_apart(admin, db, actor):
    cid = factories.customer(db, actor)
    form = admin.get("/dashboard/credit-memos/new")
    assert 'name="customer_note"' in form.text
    r = admin.post("/dashboard/credit-memos/new", {
        "customer_id": cid, "reason": "goodwill", "amount": "5.00",
        "customer_note": "For your trouble", "notes": "ops only"}, follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(r.headers["location"])
    assert "For your trouble" in page.text and "ops only" in page.text


def test_d1_portal_pdf_link_only_while_credit_is_visible(db, actor, new_browser, rival):
    cid, mid = _billed_memo(db, actor, customer_note="See you")
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True, exceptions=[])
    b = portal_for(db, new_browser, actor, cid)
    listing = b.get("/portal/credit-memos")
    assert f'href="/portal/credit-memos/{mid}/pdf"' in listing.text and "See you" in listing.text
    r = b.get(f"/portal/credit-memos/{mid}/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    other = factories.memo(db, actor, factories.customer(db, actor, "Someone else"))
    assert b.get(f"/portal/credit-memos/{other}/pdf").status_code == 404
    visibility.replace_setting(db, actor=actor, show_to_all_customers=False, exceptions=[])
    assert b.get(f"/portal/credit-memos/{mid}/pdf").status_code == 404
    rival_browser, _ = rival
    assert rival_browser.get(f"/dashboard/credit-memos/{mid}/pdf").status_code == 404
