"""Customer Portal: one-time links, scoping to one customer (P4), and credit visibility
(P2, P3): when hidden, no memo number, no credit amount and no credit link anywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditdesk.services.access import portal_links
from creditdesk.services.common.context import clock
from creditdesk.services.credit_memos import credit, memos
from creditdesk.services.customer_accounts import visibility
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import portal
from tests import factories
from tests.web.conftest import portal_for


@pytest.fixture
def books(db, actor):
    """A customer with an open invoice, credit applied to it, and memos in every status."""
    cid = factories.customer(db, actor, "Wayne Enterprises")
    inv = factories.invoice(db, actor, cid, "200.00")
    applied = factories.memo(db, actor, cid, "31.17")
    credit.apply_credit(db, actor=actor, memo_id=applied, invoice_id=inv, amount="31.17")
    open_memo = factories.memo(db, actor, cid, "47.23")
    draft = factories.memo(db, actor, cid, "58.41", issue=False)
    void = factories.memo(db, actor, cid, "66.67")
    from creditdesk.services.credit_memos import memo_lifecycle
    memo_lifecycle.void_memo(db, actor=actor, memo_id=void, reason="typo")
    number = {k: memos.get_memo(db, actor=actor, memo_id=v).number
              for k, v in {"applied": applied, "open": open_memo, "draft": draft,
                           "void": void}.items()}
    return {"customer": cid, "invoice": inv, "numbers": number}


CREDIT_AMOUNTS = ("31.17", "47.23")  # the applied credit and the available credit


def _pages(b, inv):
    return {url: b.get(url) for url in ("/portal/", "/portal/invoices", f"/portal/invoices/{inv}")}


def test_portal_link_via_the_api(client, db, actor, new_browser) -> None:
    cid = factories.customer(db, actor)
    r = client.post(f"/api/v1/customers/{cid}/portal-link")
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"url", "expires_at"} and "/portal/sign-in/" in body["url"]
    path = body["url"].split("testserver", 1)[-1]
    b = new_browser()
    assert b.get(path).status_code == 200
    assert b.post(path, follow_redirects=False).status_code == 303
    assert b.get("/portal/").status_code == 200
    # single use
    other = new_browser()
    assert other.get(path).status_code == 404
    assert other.post(path).status_code in (403, 404)
    assert client.post("/api/v1/customers/cus_nope/portal-link").status_code == 404


def test_link_expires(db, actor, new_browser, monkeypatch) -> None:
    cid = factories.customer(db, actor)
    link = portal_links.create_link(db, actor=actor, customer_id=cid)
    later = clock.now() + portal_links.LINK_LIFETIME + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    r = new_browser().get(f"/portal/sign-in/{link.token}")
    assert r.status_code == 404 and "expired" in r.text


def test_portal_needs_a_session(new_browser, partner) -> None:
    b = new_browser()
    for url in ("/portal/", "/portal/invoices", "/portal/credit-memos"):
        r = b.get(url)
        assert r.status_code == 401 and "sign-in link" in r.text
    assert b.get("/portal/sign-in/not-a-real-token-at-all-xxxxx").status_code == 404


def test_credit_visible_when_shown_to_all(db, actor, new_browser, books) -> None:
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    b = portal_for(db, new_browser, actor, books["customer"])
    over = b.get("/portal/")
    assert "$47.23" in over.text and 'id="nav-credit-memos"' in over.text
    assert "$168.83" in over.text  # balance due 200 - 31.17
    r = b.get("/portal/credit-memos")
    assert r.status_code == 200
    n = books["numbers"]
    assert n["applied"] in r.text and n["open"] in r.text
    assert n["draft"] not in r.text and n["void"] not in r.text  # never drafts or voids
    inv = b.get(f"/portal/invoices/{books['invoice']}").text
    assert n["applied"] in inv and "$31.17" in inv


@pytest.mark.parametrize("mode", ["off", "on_with_exception"])
def test_hidden_credit_leaks_nowhere(db, actor, new_browser, books, mode) -> None:
    if mode == "on_with_exception":
        visibility.replace_setting(db, actor=actor, show_to_all_customers=True,
                                   exceptions=[books["customer"]])
    b = portal_for(db, new_browser, actor, books["customer"])
    for url, r in _pages(b, books["invoice"]).items():
        assert r.status_code == 200, url
        for number in books["numbers"].values():
            assert number not in r.text, (url, number)
        for amount in CREDIT_AMOUNTS:
            assert amount not in r.text, (url, amount)
        assert "/portal/credit-memos" not in r.text, url
        assert "credit" not in r.text.lower(), url
    assert "$168.83" in b.get("/portal/").text  # the balance due still shows
    r = b.get("/portal/credit-memos")
    assert r.status_code == 404
    for number in books["numbers"].values():
        assert number not in r.text


def test_exception_sees_credit_when_hidden_for_all(db, actor, new_browser, books) -> None:
    visibility.replace_setting(db, actor=actor, show_to_all_customers=False,
                               exceptions=[books["customer"]])
    b = portal_for(db, new_browser, actor, books["customer"])
    assert b.get("/portal/credit-memos").status_code == 200
    assert "$47.23" in b.get("/portal/").text


def test_customer_reaches_only_its_own_data(db, actor, new_browser, books, other_actor) -> None:
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=True)
    other_cid = factories.customer(db, actor, "Other customer")
    other_inv = factories.invoice(db, actor, other_cid, "77.00")
    rival_cid = factories.customer(db, other_actor, "Rival's customer")
    rival_inv = factories.invoice(db, other_actor, rival_cid, "88.00")
    b = portal_for(db, new_browser, actor, books["customer"])
    assert b.get(f"/portal/invoices/{other_inv}").status_code == 404
    assert b.get(f"/portal/invoices/{rival_inv}").status_code == 404
    listing = b.get("/portal/invoices").text
    number = invoices.get_invoice(db, actor=actor, invoice_id=other_inv).number
    assert "$77.00" not in listing and "$88.00" not in listing
    assert listing.count(number) == (1 if number in
                                     [invoices.get_invoice(db, actor=actor,
                                                           invoice_id=books["invoice"]).number]
                                     else 0)


def test_portal_session_does_not_open_the_dashboard(db, actor, new_browser, books) -> None:
    b = portal_for(db, new_browser, actor, books["customer"])
    assert b.get("/dashboard/credit-memos", follow_redirects=False).status_code == 303


def test_portal_sign_out(db, actor, new_browser, books) -> None:
    b = portal_for(db, new_browser, actor, books["customer"])
    assert b.post("/portal/sign-out", csrf=False).status_code == 403
    assert b.post("/portal/sign-out").status_code == 200
    assert b.get("/portal/").status_code == 401


def test_p3_overview_balance_due_counts_every_open_invoice_not_only_those_listed(
        db, actor, monkeypatch):
    """The overview lists the most recent open invoices; its balance due covers them all."""
    cid = factories.customer(db, actor)
    for total in ("100.00", "20.00", "3.00"):
        factories.invoice(db, actor, cid, total)
    monkeypatch.setattr(portal, "OVERVIEW_INVOICES", 2)
    who = portal_links.PortalCustomer(actor.partner_id, cid, "Globex")
    over = portal.overview(db, who=who)
    assert len(over.open_invoices) == 2
    assert [m.to_str() for m in over.balance_due] == ["123.00"]


def _dated_invoice(db, actor, cid, total: str, due) -> str:
    inv = invoices.create_invoice(db, actor=actor, customer_id=cid, due_date=due, lines=[
        {"description": "Managed services", "quantity": 1, "unit_price": total}]).id
    invoices.issue_invoice(db, actor=actor, invoice_id=inv)
    return inv


def test_overdue_is_past_due_with_a_balance_due(db, actor) -> None:
    """Overdue: the due date has passed and something is still due; not a paid invoice,
    not one due today or later, not one without a due date, not a void one."""
    today = clock.today()
    cid = factories.customer(db, actor, "Initech")
    late = _dated_invoice(db, actor, cid, "100.00", today - timedelta(days=3))
    invoices.record_payment(db, actor=actor, invoice_id=late, amount="40.00")
    also_late = _dated_invoice(db, actor, cid, "10.00", today - timedelta(days=1))
    paid = _dated_invoice(db, actor, cid, "20.00", today - timedelta(days=9))
    invoices.record_payment(db, actor=actor, invoice_id=paid, amount="20.00")
    void = _dated_invoice(db, actor, cid, "30.00", today - timedelta(days=9))
    invoices.void_invoice(db, actor=actor, invoice_id=void)
    _dated_invoice(db, actor, cid, "5.00", today)
    _dated_invoice(db, actor, cid, "7.00", None)
    who = portal_links.PortalCustomer(actor.partner_id, cid, "Initech")
    over = portal.overview(db, who=who)
    assert over.overdue_count == 2
    assert [m.to_str() for m in over.overdue] == ["70.00"]  # 60.00 + 10.00
    assert [m.to_str() for m in over.balance_due] == ["82.00"]
    days = {i.id: i.days_overdue for i in portal.list_invoices(db, who=who, limit=50).data}
    assert days[late] == 3 and days[also_late] == 1
    assert sorted(days.values()) == [0, 0, 0, 0, 1, 3]
    assert portal.get_invoice(db, who=who, invoice_id=late).invoice.overdue


@pytest.mark.parametrize("shown", [True, False])
def test_p3_payments_always_credit_only_when_visible(db, actor, books, shown) -> None:
    """The customer's own payments explain an invoice either way; the credit applied to it
    is in the view only when credit is visible to the customer (P3)."""
    visibility.set_show_to_all(db, actor=actor, show_to_all_customers=shown)
    invoices.record_payment(db, actor=actor, invoice_id=books["invoice"], amount="60.00")
    who = portal_links.PortalCustomer(actor.partner_id, books["customer"], "Wayne")
    d = portal.get_invoice(db, who=who, invoice_id=books["invoice"])
    assert [p.amount.to_str() for p in d.payments] == ["60.00"]
    assert d.amount_paid.to_str() == "60.00"
    if shown:
        assert [c.amount.to_str() for c in d.credits_applied] == ["31.17"]
    else:
        assert d.credits_applied is None


def test_a_refused_link_says_why_and_whom_to_ask(db, actor, partner) -> None:
    cid = factories.customer(db, actor, "Initech")
    used = portal_links.create_link(db, actor=actor, customer_id=cid)
    portal_links.redeem_link(db, token=used.token)
    with pytest.raises(portal_links.LinkRefused) as exc:
        portal_links.check_link(db, token=used.token)
    name = portal.partner_name(db, partner_id=actor.partner_id)
    assert name and exc.value.partner_name == name
    assert exc.value.title == "This sign-in link was already used"
    assert f"Ask {name} for a new sign-in link" in exc.value.detail
    with pytest.raises(portal_links.LinkRefused) as exc:
        portal_links.redeem_link(db, token="y" * 43)
    assert exc.value.title == "This sign-in link isn't valid" and exc.value.partner_name is None


def test_portal_error_pages_speak_plainly(db, actor, new_browser, books) -> None:
    r = new_browser().get("/portal/invoices")
    assert r.status_code == 401
    assert "Please sign in" in r.text and "Unauthenticated" not in r.text
    b = portal_for(db, new_browser, actor, books["customer"])
    name = portal.partner_name(db, partner_id=actor.partner_id)
    for url in ("/portal/nope", "/portal/invoices/inv_nope"):
        r = b.get(url)
        assert r.status_code == 404
        assert "This page isn&#39;t here" in r.text and "Not found" not in r.text
        assert name in r.text and 'role="alert"' in r.text
