"""T5 end to end, once per connected system: a synced memo's tax, as the system reports it,
lands in the database through the sync job and is answered by GET /credit-memos/{id}
(``tax_total``, ``subtotal``, ``taxes``). A system that reports no tax figure for a memo
(Sage Intacct without tax entries) answers the tax as unknown (null), never as 0."""

from __future__ import annotations

from fastapi.testclient import TestClient

from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from tests.api.conftest import API, ok
from tests.books_fixtures import Books
from tests.sync_helpers import run, synced_memos

# what each system reports for a memo it was given no tax for
UNTAXED = {"quickbooks_online": "0.00", "xero": "0.00", "quickbooks_desktop": "0.00",
           "sage_intacct": None}  # Intacct: no tax entry, no tax field: unknown


def test_t5_a_synced_memos_tax_lands_and_is_answered(
        db: Database, actor: Actor, books: Books, client: TestClient) -> None:
    taxed = books.add_memo("107.25", tax="7.25", number="CM-1107")
    untaxed = books.add_memo("50.00", number="CM-1108")
    r = run(db, books.sync(db, books.connect(db, actor)))
    assert (r.status, r.created) == ("succeeded", 2), r.errors
    rows = synced_memos(db, books.key)
    assert (rows[taxed].tax_minor, rows[taxed].tax_reported) == (725, True)
    assert rows[untaxed].tax_reported is (UNTAXED[books.key] is not None)
    m = ok(client.get(f"{API}/credit-memos/{rows[taxed].id}"))
    assert (m["total"], m["subtotal"], m["tax_total"]) == ("107.25", "100.00", "7.25")
    assert m["taxes"] == [{"tax_rate_id": None, "name": "Tax", "amount": "7.25"}]
    u = ok(client.get(f"{API}/credit-memos/{rows[untaxed].id}"))
    assert u["tax_total"] == UNTAXED[books.key]
    assert u["subtotal"] == ("50.00" if UNTAXED[books.key] else None)
    assert u["taxes"] == []
