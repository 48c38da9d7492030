"""T5 on the dashboard: a synced memo's page shows the tax its system reports, once per
connected system; one whose system reported no tax figure says so instead of $0.00."""

from __future__ import annotations

from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from tests.books_fixtures import Books
from tests.intacct_fixtures import COMPANY
from tests.sync_helpers import synced_memos


def test_t5_the_synced_memo_page_shows_its_tax(db: Database, actor: Actor, books: Books,
                                               admin) -> None:
    taxed = books.add_memo("107.25", tax="7.25")
    untaxed = books.add_memo("50.00")
    books.sync(db, books.connect(db, actor))
    rows = synced_memos(db, books.key)
    page = admin.get(f"/dashboard/credit-memos/{rows[taxed].id}").text
    assert 'id="memo-subtotal">$100.00' in page
    assert f"Tax (as {books.name} reports it)" in page and 'id="memo-tax-1">$7.25' in page
    other = admin.get(f"/dashboard/credit-memos/{rows[untaxed].id}").text
    if books.key == "sage_intacct":  # no tax entry: unknown
        assert 'id="memo-tax-unknown">—' in other and f"not reported by {books.name}" in other
    else:  # the system reported 0: nothing to show
        assert "memo-tax" not in other


def test_t5_an_intacct_invoice_without_tax_entries_shows_its_tax_as_not_reported(
        db: Database, actor: Actor, books_sage_intacct, admin) -> None:
    books = books_sage_intacct
    state = books.fake.state
    plain = state.add_invoice(COMPANY, total="108.50", lines=[("Seats", "100.00"),
                                                              ("Sales tax 8.5%", "8.50")])
    vat = state.add_invoice(COMPANY, total="120.00", lines=[("Seats", "100.00")],
                            tax=[("UK VAT standard", "20.00")])
    books.sync(db, books.connect(db, actor))
    with db.read() as s:
        found = {r.external_id: r.id for r in s.scalars(select(models.Invoice).where(
            models.Invoice.source == books.key))}
    page = admin.get(f"/dashboard/invoices/{found[plain]}").text
    assert 'id="invoice-tax">—' in page and "not reported by Sage Intacct" in page
    assert "invoice-subtotal" not in page
    page = admin.get(f"/dashboard/invoices/{found[vat]}").text
    assert 'id="invoice-subtotal">$100.00' in page and 'id="invoice-tax">$20.00' in page
