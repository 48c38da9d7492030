"""Synced invoices landed by the provider-agnostic engine (Y9, Y10, Y6, Y8): created with their
lines, tax and the status the system's balance gives, re-read without duplicates, updated,
voided and deleted, next to memos of the same system; targeted runs and full listings name
them by ``base.invoice_key``; a bad one is recorded and skipped, a failed page loses nothing.

The system here is an in-memory one (``Books``), read through a connector that hands the
engine what a real connector would (``base.RemoteInvoice`` pages with a cursor), so the
engine is tested apart from any wire format; each provider's tests run over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from creditdesk.connectors import base
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import integrations, sync, sync_documents
from creditdesk.services.common import vault
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import invoices as native_invoices
from creditdesk.web.dashboard.integrations import describe_run
from tests import factories as f
from tests.sync_helpers import integration, run, synced_memos

QBO = "quickbooks_online"
C, D = base.CHANGED, base.DELETED
Record = base.RemoteMemo | base.RemoteInvoice


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")


@dataclass
class Books:
    """An accounting system in memory: its memos and invoices, and the order they changed in
    (what an incremental read returns after a cursor). ``forget`` deletes without a trace,
    as a hard delete does (only a full listing finds it)."""

    memos: dict[str, base.RemoteMemo] = field(default_factory=dict)
    invoices: dict[str, base.RemoteInvoice] = field(default_factory=dict)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (kind, external id)
    page_size: int = 2
    listing_due: bool = False
    asked: list[set[str]] = field(default_factory=list)  # ``known`` of each listing
    reads: list[str] = field(default_factory=list)  # the targets read one by one

    def invoice(self, ext: str, total: str = "100.00", balance: str | None = None,
                **values: Any) -> str:
        values.setdefault("number", f"1{ext}")
        values.setdefault("customer_external_id", "58")
        values.setdefault("customer_name", "Harbor Supply Co")
        self.invoices[ext] = base.RemoteInvoice(
            external_id=ext, currency="USD", total_minor=cents(total),
            balance_minor=cents(total if balance is None else balance),
            issue_date=values.pop("issue_date", date(2026, 11, 2)), **values)
        self.changes.append(("invoice", ext))
        return ext

    def change(self, ext: str, **values: Any) -> None:
        self.invoices[ext] = replace(self.invoices[ext], **values)
        self.changes.append(("invoice", ext))

    def delete(self, ext: str) -> None:
        del self.invoices[ext]
        self.changes.append(("invoice", ext))

    def forget(self, ext: str) -> None:
        del self.invoices[ext]

    def memo(self, ext: str, total: str = "40.00", **values: Any) -> str:
        values.setdefault("customer_external_id", "58")
        values.setdefault("customer_name", "Harbor Supply Co")
        self.memos[ext] = base.RemoteMemo(
            external_id=ext, number=f"CM-{ext}", currency="USD", total_minor=cents(total),
            remaining_minor=cents(total), issue_date=date(2026, 11, 3), **values)
        self.changes.append(("memo", ext))
        return ext

    def record(self, kind: str, ext: str) -> base.Record:
        if kind == "invoice":
            return self.invoices.get(ext) or base.DeletedInvoice(ext)
        return self.memos.get(ext) or base.Deleted(ext)

    def factory(self, *, fail_after: int | None = None) -> sync.ConnectorFactory:
        """Connectors reading these books; ``fail_after`` pages, the read raises."""
        return lambda snap, save: Reader(self, fail_after)


@dataclass
class Reader:
    """The connector: incremental pages, targeted reads, a full listing when due."""

    books: Books
    fail_after: int | None
    provider: str = QBO

    def fetch(self, cursor: dict[str, Any]) -> Iterator[base.Batch]:
        start, size = cursor.get("seq", 0), self.books.page_size
        for n, at in enumerate(range(start, len(self.books.changes), size)):
            if n == self.fail_after:
                raise base.Transient("the system answered 503 five times")
            page = self.books.changes[at:at + size]
            yield base.Batch([self.books.record(*change) for change in page],
                             {"seq": at + len(page)})

    def fetch_targets(self, targets: base.Targets) -> Iterator[base.Batch]:
        memos, invoices = base.split_targets(targets)
        self.books.reads += [*memos, *map(base.invoice_key, invoices)]
        yield base.Batch([*(self.books.record("memo", ext) for ext in memos),
                          *(self.books.record("invoice", ext) for ext in invoices)], None)

    def reconcile_due(self, cursor: dict[str, Any], *, now: datetime, has_memos: bool) -> bool:
        return self.books.listing_due and has_memos

    def reconcile(self, cursor: dict[str, Any], known: set[str], *, now: datetime,
                  progress: Callable[[], None] = lambda: None) -> base.Reconciliation:
        self.books.asked.append(set(known))
        present = set(self.books.memos) | {base.invoice_key(i) for i in self.books.invoices}
        self.books.listing_due = False
        return base.Reconciliation(frozenset(known - present), cursor)


def cents(amount: str) -> int:
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def connect(db: Database, actor: Actor) -> str:
    now = clock.now()
    with db.write() as s:
        row = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider=QBO, status="connected",
            realm_id="9130355", company_name="Harbor Books", cursor={},
            credentials_encrypted=vault.seal({"access_token": "a", "refresh_token": "r"}),
            consecutive_failures=0, created_at=now, updated_at=now)
        s.add(row)
        return row.id


def sync_run(db: Database, iid: str, books: Books, targets: base.Targets | None = None,
             **factory: Any) -> models.SyncRun:
    rid = sync.request_run(db, integration_id=iid, trigger="webhook" if targets else "manual",
                           targets=targets)
    assert sync.claim_next(db) == rid
    sync.execute(db, rid, books.factory(**factory))
    return run(db, rid)


def synced(db: Database) -> dict[str, models.Invoice]:
    with db.read() as s:
        return {i.external_id or "": i for i in s.scalars(
            select(models.Invoice).where(models.Invoice.source == QBO))}


def lines_of(db: Database, invoice_id: str) -> list[tuple[Any, ...]]:
    line = models.InvoiceLine
    with db.read() as s:
        return [tuple(r) for r in s.execute(
            select(line.position, line.description, line.reported_quantity, line.quantity,
                   line.unit_price_minor, line.amount_minor, line.synced, line.variant_id)
            .where(line.invoice_id == invoice_id).order_by(line.position))]


def line_ids(db: Database, invoice_id: str) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(models.InvoiceLine.id).where(
            models.InvoiceLine.invoice_id == invoice_id).order_by(models.InvoiceLine.position)))


def audit(db: Database, action: str) -> list[dict[str, Any]]:
    with db.read() as s:
        return list(s.scalars(select(models.AuditEvent.data).where(
            models.AuditEvent.action == action).order_by(models.AuditEvent.id)))


def figures(i: models.Invoice) -> tuple[Any, ...]:
    return i.status, i.total_minor, i.paid_minor, i.credited_minor, i.tax_minor


LINES = (base.RemoteLine("Consulting", "1.5", 8000, 12000),
         base.RemoteLine("Rounding", "3", None, 1000))


@pytest.fixture
def books() -> Books:
    return Books()


def test_y9_invoices_land_with_lines_tax_and_the_status_the_balance_gives(
        db: Database, actor: Actor, books: Books) -> None:
    books.invoice("130", "130.00", lines=LINES, tax_minor=1000, due_date=date(2026, 12, 2),
                  customer_email="ap@harbor.test")
    books.invoice("131", "50.00", "20.00")
    books.invoice("132", "80.00", "0")
    books.invoice("133", "0", "0", number="INV-FREE")  # a $0 invoice: nothing owed
    iid = connect(db, actor)
    r = sync_run(db, iid, books)
    assert (r.status, r.fetched, r.invoices_created, r.created) == ("succeeded", 4, 4, 0)
    landed = synced(db)
    assert {ext: figures(i) for ext, i in landed.items()} == {
        "130": ("open", 13000, 0, 0, 1000), "131": ("partially_paid", 5000, 3000, 0, 0),
        "132": ("paid", 8000, 8000, 0, 0), "133": ("paid", 0, 0, 0, 0)}
    first = landed["130"]
    assert (first.number, first.issue_date, first.due_date, first.void_reason) == (
        "1130", date(2026, 11, 2), date(2026, 12, 2), None)
    assert lines_of(db, first.id) == [(0, "Consulting", "1.5", None, 8000, 12000, True, None),
                                      (1, "Rounding", "3", None, None, 1000, True, None)]
    assert lines_of(db, landed["131"].id) == []  # the answer carried none
    with db.read() as s:
        ref = s.get_one(models.CustomerReference, first.customer_reference_id)
        cus = s.get_one(models.Customer, first.customer_id)
    assert (ref.system, ref.external_id, ref.customer_id) == (QBO, "58", cus.id)
    assert (cus.name, cus.email, cus.currency) == ("Harbor Supply Co", "ap@harbor.test", "USD")
    assert {i.customer_id for i in landed.values()} == {cus.id}  # one customer for all four
    assert [e["status"] for e in audit(db, "invoice.sync_create")] == [
        "open", "partially_paid", "paid", "paid"]
    view = native_invoices.get_invoice(db, actor=actor, invoice_id=landed["131"].id)
    assert view.balance_due.minor == 2000  # the system's balance, wherever it is read


def test_y9_a_second_read_of_the_same_invoices_changes_nothing(
        db: Database, actor: Actor, books: Books) -> None:
    books.invoice("130", lines=LINES)
    books.invoice("131", "50.00", "20.00")
    iid = connect(db, actor)
    sync_run(db, iid, books)
    before = {ext: (i.id, i.updated_at) for ext, i in synced(db).items()}
    ids = line_ids(db, before["130"][0])
    with db.write() as s:  # the cursor lost: everything is read again
        s.get_one(models.Integration, iid).cursor = {}
    again = sync_run(db, iid, books)
    assert (again.fetched, again.invoices_created, again.invoices_updated) == (2, 0, 0)
    assert {ext: (i.id, i.updated_at) for ext, i in synced(db).items()} == before
    assert line_ids(db, before["130"][0]) == ids  # nothing rewritten
    with db.read() as s:
        assert len(s.scalars(select(models.CustomerReference.id)).all()) == 1
    assert len(audit(db, "invoice.sync_update")) == 0


def test_y9_a_balance_paid_down_there_makes_it_partially_paid_then_paid(
        db: Database, actor: Actor, books: Books) -> None:
    books.invoice("130", "100.00", lines=LINES)
    iid = connect(db, actor)
    sync_run(db, iid, books)
    books.change("130", balance_minor=4000)
    r = sync_run(db, iid, books)
    assert (r.invoices_updated, r.updated, r.invoices_created) == (1, 0, 0)
    assert figures(synced(db)["130"]) == ("partially_paid", 10000, 6000, 0, 0)
    books.change("130", balance_minor=0, lines=(base.RemoteLine("Consulting", "1", None,
                                                                10000),))
    r = sync_run(db, iid, books)
    assert r.invoices_updated == 1
    paid = synced(db)["130"]
    assert figures(paid) == ("paid", 10000, 10000, 0, 0)
    assert lines_of(db, paid.id) == [(0, "Consulting", "1", None, None, 10000, True, None)]
    assert [e["changed"] for e in audit(db, "invoice.sync_update")] == [
        ["paid_minor", "status"], ["lines", "paid_minor", "status"]]


def test_y9_voided_or_deleted_there_is_void_here_with_its_reason(
        db: Database, actor: Actor, books: Books) -> None:
    books.invoice("130", "100.00", "40.00", lines=LINES)
    books.invoice("131", "50.00")
    iid = connect(db, actor)
    sync_run(db, iid, books)
    # QuickBooks Online zeroes a voided invoice's amounts: the total here stays
    books.change("130", voided=True, total_minor=0, balance_minor=0, lines=())
    books.delete("131")
    books.invoice("140", "70.00", voided=True)  # first seen void: shown, as void
    books.invoice("141", "0", voided=True)  # first seen void with no amount: nothing to show
    r = sync_run(db, iid, books)
    assert (r.invoices_voided, r.invoices_created, r.voided) == (2, 1, 0)
    landed = synced(db)
    assert set(landed) == {"130", "131", "140"}
    assert (figures(landed["130"]), landed["130"].void_reason) == (
        ("void", 10000, 0, 0, 0), "Voided in QuickBooks Online")
    assert [li[1] for li in lines_of(db, landed["130"].id)] == ["Consulting", "Rounding"]
    assert (landed["131"].status, landed["131"].void_reason) == (
        "void", "Deleted in QuickBooks Online")
    assert (figures(landed["140"]), landed["140"].issued_at) == (("void", 7000, 0, 0, 0), None)
    assert sorted(e["reason"] for e in audit(db, "invoice.sync_void")) == [
        "Deleted in QuickBooks Online", "Voided in QuickBooks Online"]
    assert sync_run(db, iid, books).invoices_voided == 0  # nothing left to void


def test_y9_a_memo_and_an_invoice_with_the_same_id_both_land_for_one_customer(
        db: Database, actor: Actor, books: Books) -> None:
    """QuickBooks numbers memos and invoices from one sequence, Xero and Intacct need not:
    equal ids are two records. Both name customer 58: one customer, one reference."""
    books.memo("7")
    books.invoice("7", "90.00")
    books.invoice("8", "10.00", customer_external_id="77", customer_name="Dock Ltd")
    iid = connect(db, actor)
    r = sync_run(db, iid, books)
    assert (r.fetched, r.created, r.invoices_created) == (3, 1, 2)
    memo, invoices = synced_memos(db, QBO)["7"], synced(db)
    assert (memo.total_minor, invoices["7"].total_minor) == (4000, 9000)
    assert memo.customer_id == invoices["7"].customer_id != invoices["8"].customer_id
    assert memo.customer_reference_id == invoices["7"].customer_reference_id
    with db.read() as s:
        refs = s.scalars(select(models.CustomerReference.external_id)).all()
    assert sorted(refs) == ["58", "77"]


def test_y10_an_invoices_unknown_customer_joins_the_one_with_its_billing_email(
        db: Database, actor: Actor, books: Books) -> None:
    mine = customers.create_customer(db, actor=actor, name="Harbor (ours)",
                                     email="AP@Harbor.test").id
    f.customer(db, actor, name="Harbor in euros", currency="EUR")
    books.invoice("130", customer_email="ap@harbor.test")
    books.invoice("131", customer_external_id="59", customer_name="Pier Co",
                  customer_email="pier@example.test")
    iid = connect(db, actor)
    sync_run(db, iid, books)
    landed = synced(db)
    assert landed["130"].customer_id == mine
    assert landed["131"].customer_id != mine
    with db.read() as s:
        ref = s.get_one(models.CustomerReference, landed["130"].customer_reference_id)
    assert (ref.customer_id, ref.linked_by) == (mine, "email_rule")
    assert [e["external_id"] for e in audit(db, "customer.sync_link")] == ["58"]


def test_y9_a_targeted_run_reads_the_named_invoices_and_memos_and_keeps_the_cursor(
        db: Database, actor: Actor, books: Books) -> None:
    books.invoice("7", "90.00")
    books.invoice("8", "10.00")
    books.memo("7")
    iid = connect(db, actor)
    sync_run(db, iid, books)
    cursor = integration(db, iid).cursor
    books.change("7", balance_minor=0)
    books.invoice("9", "30.00")  # changed too, but not named
    books.forget("8")  # the webhook said it was deleted
    # requests meet in one queued run: the keys merge, a deletion wins
    first = sync.request_run(db, integration_id=iid, trigger="webhook",
                             targets={base.invoice_key("7"): C, "7": C})
    assert sync.request_run(db, integration_id=iid, trigger="webhook",
                             targets={base.invoice_key("8"): D, base.invoice_key("7"): C}
                             ) == first
    assert run(db, first).targets == {"7": C, base.invoice_key("7"): C,
                                      base.invoice_key("8"): D}
    assert sync.claim_next(db) == first
    sync.execute(db, first, books.factory())
    r = run(db, first)
    assert (r.status, r.fetched, r.updated, r.invoices_updated, r.invoices_voided) == (
        "succeeded", 3, 0, 1, 1)
    assert sorted(books.reads) == ["7", "invoice:7", "invoice:8"]
    landed = synced(db)
    assert (landed["7"].status, landed["8"].status, "9" in landed) == ("paid", "void", False)
    assert integration(db, iid).cursor == cursor  # the incremental read still picks 9 up
    assert sync_run(db, iid, books).invoices_created == 1 and "9" in synced(db)


def test_y9_a_full_listing_asks_about_held_invoices_and_voids_a_gone_one(
        db: Database, actor: Actor, books: Books) -> None:
    books.memo("7")
    books.invoice("7", "90.00")
    books.invoice("8", "10.00")
    books.invoice("9", "10.00", voided=True)  # void here already: not asked about
    iid = connect(db, actor)
    sync_run(db, iid, books)
    books.forget("8")  # a hard delete: no change to read
    books.listing_due = True
    r = sync_run(db, iid, books)
    assert books.asked == [{"7", base.invoice_key("7"), base.invoice_key("8")}]
    assert (r.status, r.invoices_voided, r.voided) == ("succeeded", 1, 0)
    landed = synced(db)
    assert (landed["8"].status, landed["8"].void_reason) == (
        "void", "Deleted in QuickBooks Online")
    assert landed["7"].status == "open" and synced_memos(db, QBO)["7"].status == "issued"


def test_y6_a_bad_invoice_is_recorded_and_the_rest_land(
        db: Database, actor: Actor, books: Books) -> None:
    books.invoice("130", number="N" * 61)
    books.invoice("131", "10.00", "12.00")  # owes more than its total
    books.invoice("132", "20.00")
    iid = connect(db, actor)
    r = sync_run(db, iid, books)
    assert (r.status, r.fetched, r.invoices_created) == ("partial", 3, 1)
    assert [e["external_id"] for e in r.errors] == ["130", "131"]
    assert r.errors[0]["message"].startswith("invoice 130 (") and "60 characters" in (
        r.errors[0]["message"])
    assert "invoice 131: balance due" in r.errors[1]["message"]
    assert set(synced(db)) == {"132"}
    assert "2 records could not be read" in (integration(db, iid).last_error or "")


def test_y6_a_run_that_fails_mid_way_loses_nothing(
        db: Database, actor: Actor, books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    for ext in ("1", "2", "3", "4", "5"):
        books.invoice(ext, "10.00", lines=LINES[:1])
    monkeypatch.setattr(sync, "LAND_AT_LEAST", 2)  # each page of 2 its own transaction
    iid = connect(db, actor)
    real = sync_documents._upsert

    def breaks_on_4(kind: Any, actor: Actor, source: Any, r: Any, *rest: Any) -> None:
        if r.external_id == "4":  # the second page dies half-landed
            raise RuntimeError("disk full")
        real(kind, actor, source, r, *rest)

    monkeypatch.setattr(sync_documents, "_upsert", breaks_on_4)
    with pytest.raises(RuntimeError):
        sync_run(db, iid, books)
    assert set(synced(db)) == {"1", "2"}  # the first page, and nothing of the second
    monkeypatch.setattr(sync_documents, "_upsert", real)
    failed = sync_run(db, iid, books, fail_after=1)  # the read dies after one more page
    assert failed.status == "failed" and set(synced(db)) == {"1", "2", "3", "4"}
    r = sync_run(db, iid, books)
    assert (r.status, r.invoices_created) == ("succeeded", 1)
    landed = synced(db)
    assert sorted(landed) == ["1", "2", "3", "4", "5"]
    assert all(len(lines_of(db, i.id)) == 1 for i in landed.values())


def test_y9_a_synced_inv_0001_leaves_native_numbering_alone(
        db: Database, actor: Actor, books: Books) -> None:
    books.invoice("130", number="INV-0001")
    iid = connect(db, actor)
    sync_run(db, iid, books)
    cus = f.customer(db, actor)
    native = [f.invoice(db, actor, cus) for _ in range(2)]
    with db.read() as s:
        numbers = s.execute(select(models.Invoice.number, models.Invoice.source)
                            .order_by(models.Invoice.source, models.Invoice.number)).all()
    assert [tuple(n) for n in numbers] == [("INV-0001", "native"), ("INV-0002", "native"),
                                           ("INV-0001", QBO)]
    assert len(native) == 2
    with pytest.raises(IntegrityError), db.write() as s:  # native numbers stay unique
        s.get_one(models.Invoice, native[1]).number = "INV-0001"


def test_y8_the_runs_api_and_the_dashboard_count_invoices(
        db: Database, actor: Actor, books: Books, client: Any) -> None:
    books.memo("7")
    for ext in ("1", "2", "3"):
        books.invoice(ext)
    iid = connect(db, actor)
    sync_run(db, iid, books)
    books.change("1", balance_minor=0)
    books.delete("2")
    sync_run(db, iid, books)
    runs = client.get(f"/api/v1/integrations/{iid}/runs").json()["data"]
    assert [(r["created"], r["updated"], r["voided"], r["invoices"]) for r in runs] == [
        (0, 0, 0, {"created": 0, "updated": 1, "voided": 1}),
        (1, 0, 0, {"created": 3, "updated": 0, "voided": 0})]
    view = integrations.list_runs(db, actor=actor, integration_id=iid).data[1]
    assert describe_run(view).endswith(
        ": 4 fetched; 1 memo created, 0 updated, 0 voided; 3 invoices created, 0 updated, "
        "0 voided.")
    with db.read() as s:
        finished = s.scalars(select(models.AuditEvent.data).where(
            models.AuditEvent.action == "integration.sync").order_by(models.AuditEvent.id)).all()
    assert [(d["created"], d["invoices_created"], d["invoices_updated"],
             d["invoices_voided"]) for d in finished] == [(1, 3, 0, 0), (0, 0, 1, 1)]


def test_b6_a_first_sync_analyzes_the_invoice_tables_as_they_fill(
        db: Database, actor: Actor, books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: each kind's tables are analyzed as that kind's created documents pass
    ANALYZE_AT (here 2, then 20): 25 invoices and one memo ANALYZE the invoice tables
    twice and the memo tables never (a first sync reads every memo, then every invoice:
    invoices must not land on an empty table's statistics, B6)."""
    monkeypatch.setattr(sync, "ANALYZE_AT", 2)
    monkeypatch.setattr(sync, "LAND_AT_LEAST", 1)
    books.memo("7")
    for ext in range(25):
        books.invoice(str(ext), "10.00")
    analyzed: list[str] = []

    def seen(conn, cursor, statement, *args: Any) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("ANALYZE"):
            analyzed.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        r = sync_run(db, connect(db, actor), books)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert (r.created, r.invoices_created) == (1, 25)
    expected = 2 if db.engine.dialect.name == "postgresql" else 0  # at 2 and at 20 records
    assert analyzed == ["ANALYZE customers, invoices, invoice_lines"] * expected
