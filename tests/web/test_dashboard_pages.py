"""Partner Dashboard: invoice, customer and preference pages (P1, P2, C6, S1, P4)."""

from __future__ import annotations

from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import audit_trail
from tests import factories


def test_invoice_page_and_list(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Initech")
    inv = factories.invoice(db, actor, cid, "120.00")
    invoices.record_payment(db, actor=actor, invoice_id=inv, amount="20.00")
    mid = factories.memo(db, actor, cid, "30.00")
    credit.apply_credit(db, actor=actor, memo_id=mid, invoice_id=inv, amount="30.00")
    number = invoices.get_invoice(db, actor=actor, invoice_id=inv).number
    page = admin.get(f"/dashboard/invoices/{inv}").text
    assert number in page and "Initech" in page
    assert "$20.00" in page and "$70.00" in page  # payment and balance due
    assert "Credits applied" in page and "Remove" in page
    listing = admin.get("/dashboard/invoices?status=partially_paid").text
    assert number in listing
    assert admin.get(f"/dashboard/invoices?q={number}").status_code == 200


def test_create_credit_memo_from_an_invoice(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid, "80.00")
    r = admin.post(f"/dashboard/invoices/{inv}/credit-memos", {"reason": "pricing_error"},
                   follow_redirects=False)
    assert r.status_code == 303
    m = memos.get_memo(db, actor=actor, memo_id=r.headers["location"].rsplit("/", 1)[-1])
    assert (m.status, m.invoice_id, m.total.to_str(), m.reason) == (
        "draft", inv, "80.00", "pricing_error")
    # C5: every line is on that draft: nothing is left to credit, said on the form
    r = admin.post(f"/dashboard/invoices/{inv}/credit-memos", {"reason": "goodwill",
                                                               "notes": "again"})
    assert r.status_code == 422 and "nothing is left to credit" in r.text
    assert "again" in r.text


def test_draft_invoice_offers_no_create_memo(admin, db, actor) -> None:
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid, issue=False)
    assert 'id="create-memo"' not in admin.get(f"/dashboard/invoices/{inv}").text
    r = admin.post(f"/dashboard/invoices/{inv}/credit-memos", {"reason": "goodwill"})
    assert r.status_code == 409 and "only issued invoices" in r.text


def test_customer_page_credit_summary_and_portal_link(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Umbrella")
    eur = factories.memo(db, actor, cid, "15.00", currency="EUR")
    usd = factories.memo(db, actor, cid, "25.00")
    factories.invoice(db, actor, cid, "99.00")
    page = admin.get(f"/dashboard/customers/{cid}").text
    assert "€15.00" in page and "$25.00" in page
    for mid in (eur, usd):
        assert memos.get_memo(db, actor=actor, memo_id=mid).number in page
    assert "$99.00" in page
    r = admin.post(f"/dashboard/customers/{cid}/portal-link")
    assert r.status_code == 200 and 'id="portal-link"' in r.text
    assert "/portal/sign-in/" in r.text
    assert admin.get("/dashboard/customers?q=umbr").text.count("Umbrella") >= 1


def test_other_partners_invoice_and_customer_are_404(rival, db, actor) -> None:
    other, _ = rival
    cid = factories.customer(db, actor)
    inv = factories.invoice(db, actor, cid)
    mid = factories.memo(db, actor, cid, "5.00")
    credit.apply_credit(db, actor=actor, memo_id=mid, invoice_id=inv, amount="5.00")
    assert other.get(f"/dashboard/invoices/{inv}").status_code == 404
    assert other.get(f"/dashboard/customers/{cid}").status_code == 404
    assert other.post(f"/dashboard/customers/{cid}/portal-link").status_code == 404
    assert other.post(f"/dashboard/invoices/{inv}/credits/{mid}/remove").status_code == 404
    assert other.post(f"/dashboard/invoices/{inv}/credit-memos",
                      {"reason": "goodwill"}).status_code == 404
    assert invoices.get_invoice(db, actor=actor, invoice_id=inv).credit_applied.to_str() == "5.00"
    assert other.get(f"/dashboard/credit-memos/new?customer_id={cid}").status_code == 200
    r = other.post("/dashboard/credit-memos/new", {"customer_id": cid, "reason": "goodwill",
                                                   "amount": "1", "line_count": "1"})
    assert r.status_code == 404


def test_unknown_dashboard_path_is_an_html_404(admin) -> None:
    r = admin.get("/dashboard/nothing-here")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


def test_visibility_toggle_and_exceptions(admin, db, actor) -> None:
    a = factories.customer(db, actor, "Alpha Corp")
    factories.customer(db, actor, "Beta Ltd")
    page = admin.get("/dashboard/preferences/credit-balance-visibility")
    assert page.status_code == 200 and "Show balance to all customers" in page.text
    assert 'id="show_to_all_customers"' in page.text and "checked" not in page.text.split(
        'id="show_to_all_customers"')[1].split(">")[0]
    r = admin.post("/dashboard/preferences/credit-balance-visibility",
                   {"show_to_all_customers": "on"}, follow_redirects=False)
    assert r.status_code == 303
    assert visibility.get_setting(db, actor=actor).show_to_all_customers is True
    found = admin.get("/dashboard/preferences/credit-balance-visibility?q=alpha").text
    assert "Alpha Corp" in found and "Beta Ltd" not in found
    admin.post("/dashboard/preferences/credit-balance-visibility/exceptions",
               {"customer_id": a})
    s = visibility.get_setting(db, actor=actor)
    assert [e.customer_id for e in s.exceptions] == [a]
    assert 'id="exception-' + a + '"' in admin.get(
        "/dashboard/preferences/credit-balance-visibility").text
    admin.post(f"/dashboard/preferences/credit-balance-visibility/exceptions/{a}/remove")
    assert visibility.get_setting(db, actor=actor).exceptions == []
    admin.post("/dashboard/preferences/credit-balance-visibility", {})  # unchecked = off
    assert visibility.get_setting(db, actor=actor).show_to_all_customers is False
    actions = {e.action
               for e in audit_trail.list_events(db, actor=actor, entity_type="partner").data}
    assert "settings.credit_visibility" in actions  # E1


def test_visibility_exception_of_another_partner_is_refused(admin, rival, db) -> None:
    _, other_actor = rival
    theirs = factories.customer(db, other_actor, "Not yours")
    r = admin.post("/dashboard/preferences/credit-balance-visibility/exceptions",
                   {"customer_id": theirs})
    assert r.status_code == 404 and "No customer with id" in r.text
    r = admin.post(f"/dashboard/preferences/credit-balance-visibility/exceptions/{theirs}"
                   "/remove")
    assert r.status_code == 404


def test_static_assets_are_served_from_the_package(admin) -> None:
    r = admin.get("/static/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:200]
    assert admin.get("/static/app.css").status_code == 200
    page = admin.get("/dashboard/credit-memos").text
    assert "/static/htmx.min.js" in page and "https://" not in page


def test_money_filter() -> None:
    from creditdesk.domain.money import Money
    from creditdesk.web.templating import money

    assert money(Money(123456, "USD")) == "$1,234.56"
    assert money(Money(-500, "EUR")) == "\u2212€5.00"
    assert money(Money(1500, "JPY")) == "¥1,500"
    assert money(Money(1000500, "KWD")) == "1,000.500 KWD"
