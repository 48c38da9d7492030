"""Y9 (with Y3, P1, P3) in the services: a synced invoice's view (source, read-only, the
system's tax and balance, its lines as reported), the source filter, every change refused
as read-only with nothing changed, the dashboard's read models and the portal's sums."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.common.context import Actor, clock
from creditdesk.services.credit_memos import memos
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import pages, portal
from tests import factories as f


@pytest.fixture
def books(db: Database, actor: Actor) -> dict[str, str]:
    cid = f.customer(db, actor, "Globex")
    native = f.invoice(db, actor, cid, "100.00")
    synced = f.synced_invoice(db, actor, cid, "110.00", balance="50.00", tax="10.00",
                              number="1042", lines=[("Seats", "2.25", "90.00"),
                                                    ("Setup", "1", "20.00")])
    return {"customer": cid, "native": native, "synced": synced}


def test_y9_view_of_a_synced_invoice_is_the_systems(db, actor, books) -> None:
    one = invoices.get_invoice(db, actor=actor, invoice_id=books["synced"])
    listed = invoices.list_invoices(db, actor=actor, source="quickbooks_online").data
    assert listed == [one]  # the ORM read and the prebuilt statement agree
    assert (one.source, one.external_id, one.read_only) == ("quickbooks_online", "130", True)
    assert (one.total.minor, one.subtotal.minor, one.tax_total.minor,
            one.balance_due.minor, one.status) == (11000, 10000, 1000, 5000, "partially_paid")
    assert [(li.quantity, li.unit_price, li.amount.minor, li.synced) for li in one.lines] == [
        ("2.25", None, 9000, True), (1, None, 2000, True)]
    native = invoices.get_invoice(db, actor=actor, invoice_id=books["native"])
    assert (native.source, native.read_only, native.tax_total.minor,
            native.subtotal.minor) == ("native", False, 0, 10000)
    assert all(not li.synced for li in native.lines)


def test_y9_list_filters_by_source(db, actor, books) -> None:
    def ids(**kw: object) -> set[str]:
        return {i.id for i in invoices.list_invoices(db, actor=actor, **kw).data}

    assert ids() == {books["native"], books["synced"]}
    assert ids(source="native") == {books["native"]}
    assert ids(source="quickbooks_online", customer_id=books["customer"]) == {books["synced"]}
    assert ids(source="xero") == set()
    mixed = f.synced_invoice(db, actor, books["customer"], "5.00", number="Inv-x7",
                             source="xero", external_id="x-7")
    assert ids(q="inv-X") == {mixed}  # any case: the system's own numbering
    with pytest.raises(errors.ValidationError) as bad:
        invoices.list_invoices(db, actor=actor, source="sage")
    assert bad.value.errors[0].field == "source" and "quickbooks_online" in bad.value.detail


@pytest.mark.parametrize("change", ["issue", "void", "pay", "from_invoice", "link"])
def test_y3_every_change_to_a_synced_invoice_is_refused(db, actor, books, change) -> None:
    before = f.snapshot(db, actor)
    iid = books["synced"]
    run = {
        "issue": lambda: invoices.issue_invoice(db, actor=actor, invoice_id=iid),
        "void": lambda: invoices.void_invoice(db, actor=actor, invoice_id=iid),
        "pay": lambda: invoices.record_payment(db, actor=actor, invoice_id=iid, amount="5.00"),
        "from_invoice": lambda: memos.create_from_invoice(db, actor=actor, invoice_id=iid,
                                                          reason="goodwill"),
        "link": lambda: memos.create_memo(db, actor=actor, customer_id=books["customer"],
                                          reason="goodwill", amount="5.00", invoice_id=iid),
    }[change]
    with pytest.raises(errors.ReadOnly) as refused:
        run()
    assert refused.value.detail == ("Invoice 1042 is managed in QuickBooks Online; change it "
                                    "there.")
    assert f.snapshot(db, actor) == before


def test_y3_a_void_synced_invoice_is_refused_as_read_only_not_invalid_state(
        db, actor, books) -> None:
    gone = f.synced_invoice(db, actor, books["customer"], "10.00", voided=True,
                            external_id="131", number="1043")
    with pytest.raises(errors.ReadOnly):
        invoices.void_invoice(db, actor=actor, invoice_id=gone)


def test_p1_invoice_page_and_customer_page_read_models(db, actor, books) -> None:
    page = pages.invoice_page(db, actor=actor, invoice_id=books["synced"])
    assert page.source_name == "QuickBooks Online" and page.invoice.read_only
    assert pages.invoice_page(db, actor=actor, invoice_id=books["native"]).source_name == (
        "CreditDesk")
    with pytest.raises(errors.ReadOnly):
        pages.credit_from_invoice_page(db, actor=actor, invoice_id=books["synced"])
    customer = pages.customer_page(db, actor=actor, customer_id=books["customer"])
    assert {i.id for i in customer.invoices} == {books["native"], books["synced"]}


def test_p1_native_memo_is_never_offered_a_synced_invoice(db, actor, books) -> None:
    """Y11: native credit is never applied to a synced invoice, so the memo page's apply
    form does not offer one."""
    mid = f.memo(db, actor, books["customer"], "20.00")
    offered = pages.memo_page(db, actor=actor, memo_id=mid).candidates
    assert [c.invoice_id for c in offered] == [books["native"]]


def test_p1_invoice_number_typed_in_a_form_finds_the_native_one_first(db, actor,
                                                                       books) -> None:
    number = invoices.get_invoice(db, actor=actor, invoice_id=books["native"]).number
    f.synced_invoice(db, actor, books["customer"], "5.00", number=number, external_id="9")
    assert pages.invoice_id_by_number(db, actor=actor, number=number) == books["native"]


def test_p3_portal_balance_due_sums_native_and_synced(db, actor, books) -> None:
    """$100 open natively + $50 due in QuickBooks Online = $150 (paid_minor holds what the
    system settled, so the one sum covers both)."""
    who = PortalCustomer(actor.partner_id, books["customer"], "Globex")
    o = portal.overview(db, who=who)
    assert [m.minor for m in o.balance_due] == [15000]
    assert {i.id: i.balance_due.minor for i in o.open_invoices} == {
        books["native"]: 10000, books["synced"]: 5000}
    synced = next(i for i in o.open_invoices if i.id == books["synced"])
    assert synced.synced and synced.source == "quickbooks_online"
    listed = portal.list_invoices(db, who=who).data
    assert {i.id for i in listed} == {books["native"], books["synced"]}
    detail = portal.get_invoice(db, who=who, invoice_id=books["synced"])
    assert (detail.amount_paid.minor, detail.invoice.balance_due.minor) == (6000, 5000)
    assert detail.lines[0].quantity == "2.25"


def test_p3_overdue_covers_synced_invoices_and_paid_ones_drop_out(db, actor, books) -> None:
    late = clock.today() - timedelta(days=3)
    f.synced_invoice(db, actor, books["customer"], "40.00", balance="25.00", due_date=late,
                     external_id="140", number="1050")
    f.synced_invoice(db, actor, books["customer"], "70.00", balance="0.00",
                     due_date=date(2020, 1, 1), external_id="141", number="1051")
    who = PortalCustomer(actor.partner_id, books["customer"], "Globex")
    o = portal.overview(db, who=who)
    assert [m.minor for m in o.balance_due] == [17500]  # 100 + 50 + 25; the paid one: 0
    assert ([m.minor for m in o.overdue], o.overdue_count) == ([2500], 1)
