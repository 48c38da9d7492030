"""T5 on the dashboard: a synced memo's page shows the tax its system reports, once per
connected system; one whose system reported no tax figure says so instead of $0.00."""

from __future__ import annotations

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from tests.books_fixtures import Books
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
