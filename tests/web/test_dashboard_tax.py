"""T1-T4 in the dashboard, JavaScript off: Team Preferences > Tax rates (list, add), the
rate picker and "prices include tax" on the memo form, tax per rate on memo and invoice
pages, the tax report."""

from __future__ import annotations

from datetime import timedelta

from creditdesk.services.common import context
from creditdesk.services.credit_memos import memo_lifecycle, memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices, tax_rates
from tests import factories
from tests.web.conftest import portal_for

RATES = "/dashboard/preferences/tax-rates"


def test_t1_tax_rates_page_lists_and_adds_rates(admin, db, actor) -> None:
    page = admin.get(RATES)
    assert page.status_code == 200 and "<h1>Tax rates</h1>" in page.text
    assert 'id="no-rates"' in page.text and 'id="tab-visibility"' in page.text
    r = admin.post(RATES, {"name": "CA sales tax", "rate": "7.25"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == RATES
    r = admin.post(RATES, {"name": "NYC", "component-0-name": "State", "component-0-rate": "4",
                           "component-1-name": "City", "component-1-rate": "4.875"})
    page = admin.get(RATES)
    assert "CA sales tax" in page.text and "State 4 % + City 4.875 %" in page.text
    assert [r.rate for r in tax_rates.list_tax_rates(db, actor=actor)] == ["7.25", "8.875"]
    # preferences' other tabs lead here
    visibility_page = admin.get("/dashboard/preferences/credit-balance-visibility")
    assert 'id="tab-tax-rates"' in visibility_page.text


def test_t1_a_refused_rate_is_shown_next_to_its_field_with_what_was_typed(admin) -> None:
    r = admin.post(RATES, {"name": "Bad", "rate": "7.25001"})
    assert r.status_code == 422
    assert 'id="err-add-rate"' in r.text and 'value="7.25001"' in r.text
    r = admin.post(RATES, {"name": "Both", "rate": "1", "component-0-name": "a",
                           "component-0-rate": "1"})
    assert r.status_code == 422 and "not both" in r.text
    admin.post(RATES, {"name": "VAT", "rate": "20"})
    r = admin.post(RATES, {"name": "vat", "rate": "5"})
    assert r.status_code == 422 and "already exists" in r.text


def test_t1_without_rates_the_amount_needs_no_tax_hint(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    assert "amount-tax-hint" not in admin.get(f"/dashboard/credit-memos/new?customer_id={cid}").text


def test_t1_staff_cannot_add_rates_but_can_read_the_report(staff) -> None:
    assert staff.get(RATES).status_code == 403
    assert staff.post(RATES, {"name": "X", "rate": "1"}).status_code == 403
    assert staff.get("/dashboard/tax-report").status_code == 200


def test_t1_t2_memo_form_picks_a_rate_and_inclusive_prices(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    ca = tax_rates.create_tax_rate(db, actor=actor, name="CA sales tax", rate="7.25").id
    form = admin.get(f"/dashboard/credit-memos/new?customer_id={cid}")
    assert 'name="line-0-tax_rate_id"' in form.text and 'id="tax_inclusive"' in form.text
    # an amount without lines carries no tax (a line's rate does): the form says so
    assert 'id="amount-tax-hint">An amount credits no tax' in form.text
    r = admin.post("/dashboard/credit-memos/new", {
        "customer": "", "customer_id": cid, "reason": "goodwill", "line_count": "3",
        "line-0-description": "Seats", "line-0-quantity": "1", "line-0-unit_price": "100.00",
        "line-0-tax_rate_id": ca}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = admin.get(r.headers["location"])
    assert 'id="memo-subtotal">$100.00' in page.text
    assert "Tax: CA sales tax" in page.text and "$7.25" in page.text
    assert 'id="memo-total">$107.25' in page.text
    memo_id = r.headers["location"].rsplit("/", 1)[1]
    edit = admin.get(f"/dashboard/credit-memos/{memo_id}/edit")
    assert f'<option value="{ca}" selected>' in edit.text
    r = admin.post(f"/dashboard/credit-memos/{memo_id}/edit", {
        "reason": "goodwill", "line_count": "3", "tax_inclusive": "on",
        "line-0-description": "Seats", "line-0-quantity": "1", "line-0-unit_price": "107.25",
        "line-0-tax_rate_id": ca}, follow_redirects=False)
    assert r.status_code == 303, r.text
    m = memos.get_memo(db, actor=actor, memo_id=memo_id)
    assert (m.tax_inclusive, m.subtotal.to_str(), m.tax_total.to_str(), m.total.to_str()) == (
        True, "100.00", "7.25", "107.25")
    assert 'id="memo-inclusive">Include tax' in admin.get(f"/dashboard/credit-memos/{memo_id}").text


def test_t2_invoice_page_shows_tax_per_rate_and_start_from_invoice_carries_it(admin, db,
                                                                            actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    ca = tax_rates.create_tax_rate(db, actor=actor, name="CA sales tax", rate="7.25").id
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Seats", "quantity": 2, "unit_price": "50.00", "tax_rate_id": ca}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    page = admin.get(f"/dashboard/invoices/{inv.id}")
    assert 'id="invoice-subtotal">$100.00' in page.text and "Tax: CA sales tax" in page.text
    assert 'id="invoice-total">$107.25' in page.text
    start = admin.get(f"/dashboard/invoices/{inv.id}/credit-memos/new")
    assert "· tax CA sales tax" in start.text  # C6's page names each line's rate
    r = admin.post(f"/dashboard/invoices/{inv.id}/credit-memos", {
        "reason": "goodwill", "line_count": "1", "line-0-selected": "on",
        "line-0-quantity": "1", "line-0-invoice_line_id": inv.lines[0].id},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    memo = admin.get(r.headers["location"])
    assert 'id="memo-total">$53.63' in memo.text  # 50.00 + 3.625 rounded half-up


def test_t4_tax_report_page(admin, db, actor) -> None:
    cid = factories.customer(db, actor, "Globex")
    ca = tax_rates.create_tax_rate(db, actor=actor, name="CA sales tax", rate="10").id
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Seats", "quantity": 1, "unit_price": "50.00", "tax_rate_id": ca}])
    issued = invoices.issue_invoice(db, actor=actor, invoice_id=inv.id).issue_date
    assert 'id="link-tax-report"' in admin.get("/dashboard/invoices").text
    today = context.clock.today().isoformat()
    day_before = (issued - timedelta(days=1)).isoformat()  # the issue's UTC day, whatever now is
    page = admin.get(f"/dashboard/tax-report?from={day_before}&to={today}&currency=USD")
    assert page.status_code == 200 and "CA sales tax" in page.text and "$5.00" in page.text
    bad = admin.get(f"/dashboard/tax-report?from={today}&to=2000-01-01")
    assert bad.status_code == 422 and 'id="err-report-to"' in bad.text
    assert admin.get("/dashboard/tax-report?from=nope").status_code == 422


def test_t2_portal_shows_tax_on_invoices_and_memos(db, actor, new_browser) -> None:
    cid = factories.customer(db, actor, "Globex")
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True, exceptions=[])
    ca = tax_rates.create_tax_rate(db, actor=actor, name="CA sales tax", rate="7.25").id
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, lines=[
        {"description": "Seats", "quantity": 2, "unit_price": "50.00", "tax_rate_id": ca}])
    invoices.issue_invoice(db, actor=actor, invoice_id=inv.id)
    m = memos.create_from_invoice(db, actor=actor, invoice_id=inv.id, reason="goodwill",
                                  lines=[{"invoice_line_id": inv.lines[0].id, "quantity": 1}])
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id)
    b = portal_for(db, new_browser, actor, cid)
    page = b.get(f"/portal/invoices/{inv.id}")
    assert page.status_code == 200
    assert 'id="invoice-subtotal">$100.00' in page.text and "Tax: CA sales tax" in page.text
    assert "$7.25" in page.text
    memos_page = b.get("/portal/credit-memos")
    assert "incl. CA sales tax $3.63" in memos_page.text


def test_t2_portal_memo_list_shows_the_tax_per_rate(db, actor, new_browser) -> None:
    """T2 "its tax shown per rate" in the portal's memo list: a memo taxed at two rates
    names each rate and its tax, as the dashboard's memo page does."""
    cid = factories.customer(db, actor, "Globex")
    visibility.replace_setting(db, actor=actor, show_to_all_customers=True, exceptions=[])
    ca = tax_rates.create_tax_rate(db, actor=actor, name="CA sales tax", rate="7.25").id
    ny = tax_rates.create_tax_rate(db, actor=actor, name="NY sales tax", rate="4").id
    m = memos.create_memo(db, actor=actor, customer_id=cid, reason="goodwill", lines=[
        {"description": "Seats", "quantity": 1, "unit_price": "100.00", "tax_rate_id": ca},
        {"description": "Support", "quantity": 1, "unit_price": "50.00", "tax_rate_id": ny}])
    memo_lifecycle.issue_memo(db, actor=actor, memo_id=m.id)
    page = portal_for(db, new_browser, actor, cid).get("/portal/credit-memos")
    assert page.status_code == 200
    assert "incl. CA sales tax $7.25" in page.text and "incl. NY sales tax $2.00" in page.text
    assert "$159.25" in page.text
