"""QuickBooks Desktop invoices (Y9) and write-backs of synced credit (Y11-Y13), end to end:
CreditDesk served by uvicorn, the fake Web Connector driving ``/qbwc`` over HTTP from a fake
company file (docs/research/issue13-intacct-qbd.md §3, §4).

Invoices reach the database through the sync engine's ``land_page``; the ``landed`` fixture
shows what the conversation handed it, and the rows show what landed."""

from __future__ import annotations

from datetime import date

import pytest
from defusedxml import ElementTree as SafeET
from sqlalchemy import select

from creditdesk.connectors import quickbooks_desktop_credit as credit
from creditdesk.connectors.base import DeletedInvoice, RemoteInvoice, RemoteMemo
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import qbwc_setup, qbwc_writes
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk_devtools.fakes.qbwc_company import FakeCompany
from tests.qbwc_fixtures import Landed, Live
from tests.sync_helpers import integration, synced_memos

SYSTEM = "quickbooks_desktop"


@pytest.fixture
def qbd(db: Database, actor: Actor, live: Live) -> qbwc_setup.Created:
    return qbwc_setup.create(db, actor=actor)


def kinds(co: FakeCompany) -> list[str]:
    """The tag of each request the company was asked, with its iterator attribute."""
    out = []
    for rq in co.requests:
        el = SafeET.fromstring(rq).find("QBXMLMsgsRq")[0]  # type: ignore[index]
        out.append(el.tag + (f":{el.get('iterator')}" if el.get("iterator") else ""))
    return out


# --- Y9: invoices ----------------------------------------------------------------------------
def test_y9_invoices_and_their_deletions_are_read_in_the_session(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co = FakeCompany()
    co.add_memo("50.00")
    open_ = co.add_invoice("200.00", tax="14.50", ref="INV-7",
                           lines=[("Router rental", "2", "100.00", "200.00")])
    part = co.add_invoice("100.00", "40.00", customer_id="80000059-1700000000",
                          customer_name="Dock Ltd", currency="Canadian Dollar")
    voided = co.add_invoice("30.00")
    co.void_invoice(voided)
    co.add_invoice("99.00", pending=True)  # non-posting: not owed, never reported
    gone = co.add_invoice("10.00")
    out = live.connector(qbd, co).run()
    assert out.progress[-1] == 100 and out.last_error is None, out.log
    assert kinds(co) == ["TxnDeletedQueryRq", "CreditMemoQueryRq:Start", "InvoiceQueryRq:Start"]
    got = {r.external_id: r for r in landed.records(RemoteInvoice)}
    assert set(got) == {open_, part, voided, gone}
    assert got[open_] == RemoteInvoice(
        external_id=open_, number="INV-7", customer_external_id="80000058-1700000000",
        customer_name="Harbor Supply Co", currency="USD", total_minor=21450,
        balance_minor=21450, issue_date=date(2025, 3, 4), due_date=date(2025, 4, 3),
        tax_minor=1450, lines=got[open_].lines)
    assert [(li.description, li.amount_minor) for li in got[open_].lines or ()] == [
        ("Router rental", 20000)]
    assert (got[part].currency, got[part].total_minor, got[part].balance_minor) == (
        "CAD", 10000, 4000)
    assert got[voided].voided and not got[open_].voided
    assert integration(db, qbd.integration.id).cursor["invoices_since"]
    co.delete_invoice(gone)
    co.pay_invoice(part, "40.00")
    landed.batches.clear()
    live.connector(qbd, co).run()
    deleted = co.requests[-3]
    assert "<TxnDelType>Invoice</TxnDelType>" in deleted
    assert landed.records(DeletedInvoice) == [DeletedInvoice(gone)]
    (paid,) = landed.records(RemoteInvoice)  # only what changed since the cursor
    assert (paid.external_id, paid.balance_minor) == (part, 0)


def test_y9_invoices_page_through_an_iterator_and_resume_from_the_cursor(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co = FakeCompany()
    ids = [co.add_invoice("10.00") for _ in range(230)]
    out = live.connector(qbd, co).run()
    assert kinds(co)[2:] == ["InvoiceQueryRq:Start", "InvoiceQueryRq:Continue",
                             "InvoiceQueryRq:Continue"]
    assert all(0 <= p < 100 for p in out.progress[:-1]) and out.progress[-1] == 100
    assert sorted(r.external_id for r in landed.records(RemoteInvoice)) == sorted(ids)
    assert all(b.cursor is not None for b in landed.batches)
    first_cursor = integration(db, qbd.integration.id).cursor["invoices_since"]
    co.pay_invoice(ids[7], "10.00")
    landed.batches.clear()
    live.connector(qbd, co).run()
    since = SafeET.fromstring(co.requests[-1]).findtext(
        "QBXMLMsgsRq/InvoiceQueryRq/ModifiedDateRangeFilter/FromModifiedDate")
    assert since == first_cursor
    # what changed since (the inclusive bound re-reads the last one seen: harmless)
    assert {r.external_id for r in landed.records(RemoteInvoice)} == {ids[7], ids[-1]}


def test_y9_a_cursor_stored_before_invoices_still_reads_memos_from_it_and_every_invoice(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co = FakeCompany()
    old = co.add_memo("10.00")
    inv = co.add_invoice("20.00")
    live.connector(qbd, co).run()
    memo_only = {k: v for k, v in integration(db, qbd.integration.id).cursor.items()
                 if k != "invoices_since"}  # what an earlier version stored
    with db.write() as s:
        s.get_one(models.Integration, qbd.integration.id).cursor = memo_only
    new = co.add_memo("12.00")
    landed.batches.clear()
    co.requests.clear()
    out = live.connector(qbd, co).run()
    assert out.progress[-1] == 100
    memo_rq = SafeET.fromstring(co.requests[1]).find("QBXMLMsgsRq/CreditMemoQueryRq")
    assert memo_rq is not None and memo_rq.findtext(
        "ModifiedDateRangeFilter/FromModifiedDate") == memo_only["modified_since"]
    invoice_rq = SafeET.fromstring(co.requests[2]).find("QBXMLMsgsRq/InvoiceQueryRq")
    assert invoice_rq is not None and invoice_rq.find("ModifiedDateRangeFilter") is None
    assert {r.external_id for r in landed.records(RemoteMemo)} == {old, new}  # old: the bound
    assert [r.external_id for r in landed.records(RemoteInvoice)] == [inv]
    cursor = integration(db, qbd.integration.id).cursor
    assert cursor["invoices_since"] and cursor["modified_since"] >= memo_only["modified_since"]
    assert set(synced_memos(db, SYSTEM)) == {old, new}


def test_y9_invoices_land_as_rows_with_the_systems_balance(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co = FakeCompany()
    inv = co.add_invoice("200.00", "80.00", tax="14.50")
    live.connector(qbd, co).run()
    with db.read() as s:
        row = s.scalars(select(models.Invoice).where(models.Invoice.external_id == inv)).one()
        assert (row.source, row.total_minor, row.tax_minor, row.paid_minor,
                row.status) == (SYSTEM, 21450, 1450, 13450, "partially_paid")


def test_y9_an_invoice_deleted_in_quickbooks_is_void_here(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co = FakeCompany()
    inv = co.add_invoice("50.00")
    live.connector(qbd, co).run()
    co.delete_invoice(inv)
    live.connector(qbd, co).run()
    with db.read() as s:
        row = s.scalars(select(models.Invoice).where(models.Invoice.external_id == inv)).one()
        assert row.status == "void"


def test_y11_after_a_write_back_the_invoice_shows_quickbooks_balance(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, _memo_txn, _inv_txn, memo, invoice_id = _books(db, live, qbd)
    _pending(db, memo, invoice_id, 6000)
    live.connector(qbd, co).run()
    with db.read() as s:
        row = s.get_one(models.Invoice, invoice_id)
        assert (row.total_minor, row.paid_minor, row.status) == (25000, 6000,
                                                                 "partially_paid")


# --- Y11-Y13: write-backs --------------------------------------------------------------------
def _synced(db: Database, live: Live, qbd: qbwc_setup.Created, co: FakeCompany,
            memo_txn: str, invoice_txn: str) -> tuple[models.CreditMemo, str]:
    """Sync the company once; the memo row, and the invoice row's id (made here from the
    fake's figures when the engine does not land invoices yet)."""
    assert live.connector(qbd, co).run().progress[-1] == 100
    memo = synced_memos(db, SYSTEM)[memo_txn]
    with db.write() as s:
        row = s.scalars(select(models.Invoice).where(
            models.Invoice.external_id == invoice_txn)).first()
        if row is not None:
            return memo, row.id
        fake = co.invoices[invoice_txn]
        total = int(fake.total * 100)
        now = clock.now()
        row = models.Invoice(
            id=new_id("inv"), partner_id=memo.partner_id, customer_id=memo.customer_id,
            number=fake.ref_number, currency="USD", status="open", total_minor=total,
            paid_minor=total - int(float(fake.balance) * 100), credited_minor=0,
            source=SYSTEM, external_id=invoice_txn,
            customer_reference_id=memo.customer_reference_id, issued_at=now,
            created_at=now, updated_at=now)
        s.add(row)
        return memo, row.id


def _books(db: Database, live: Live, qbd: qbwc_setup.Created, co: FakeCompany | None = None,
           ref: str | None = None) -> tuple[FakeCompany, str, str, models.CreditMemo, str]:
    """A company with a memo of 100.00 and an invoice of 250.00, synced: (the company, the
    memo's TxnID, the invoice's, the memo row, the invoice row's id)."""
    co = co or FakeCompany()
    memo_txn, inv_txn = co.add_memo("100.00"), co.add_invoice("250.00", ref=ref)
    memo, invoice_id = _synced(db, live, qbd, co, memo_txn, inv_txn)
    return co, memo_txn, inv_txn, memo, invoice_id


def _ask_removal(db: Database, app_id: str) -> None:
    """What removing a written-back application leaves for the next session (Y13)."""
    with db.write() as s:
        pending = s.get_one(models.CreditApplication, app_id)
        pending.status, pending.write_back_action = "pending", "remove"


def _written_then_removal(db: Database, live: Live, qbd: qbwc_setup.Created
                          ) -> tuple[FakeCompany, str]:
    """An application of 60.00 written back, then asked to be removed: (company, its id)."""
    co, _memo_txn, _inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 6000)
    live.connector(qbd, co).run()
    _ask_removal(db, app_id)
    return co, app_id


def _pending(db: Database, memo: models.CreditMemo, invoice_id: str, amount_minor: int,
             action: str = "apply", external_id: str | None = None) -> str:
    app_id = new_id("app")
    with db.write() as s:
        s.add(models.CreditApplication(
            id=app_id, partner_id=memo.partner_id, credit_memo_id=memo.id,
            invoice_id=invoice_id, amount_minor=amount_minor, applied_at=clock.now(),
            applied_by="api:test", status="pending", origin="user",
            write_back_system=SYSTEM, write_back_action=action,
            write_back_key=f"wb-{app_id}", write_back_external_id=external_id))
    return app_id


def application(db: Database, app_id: str) -> models.CreditApplication | None:
    with db.read() as s:
        return s.get(models.CreditApplication, app_id)


def events(db: Database, action: str) -> list[models.AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == action)).all())


def test_y11_a_pending_application_is_written_in_the_next_session_and_read_back(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, memo_txn, inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 6000)
    co.requests.clear()
    landed.batches.clear()
    out = live.connector(qbd, co).run()
    assert out.progress[-1] == 100 and out.last_error is None, out.log
    assert kinds(co)[:3] == ["ReceivePaymentAddRq", "CreditMemoQueryRq", "InvoiceQueryRq"]
    add = SafeET.fromstring(co.requests[0]).find("QBXMLMsgsRq/ReceivePaymentAddRq")
    assert add is not None and add.get("requestID") == f"wb-{app_id}"
    assert add.findtext("ReceivePaymentAdd/AppliedToTxnAdd/TxnID") == inv_txn
    assert add.findtext("ReceivePaymentAdd/AppliedToTxnAdd/SetCredit/CreditTxnID") == memo_txn
    assert add.findtext("ReceivePaymentAdd/AppliedToTxnAdd/SetCredit/AppliedAmount") == "60.00"
    assert add.findtext("ReceivePaymentAdd/CustomerRef/ListID") == "80000058-1700000000"
    (payment,) = co.receive_payments.values()
    row = application(db, app_id)
    assert row is not None
    assert (row.status, row.write_back_external_id, row.write_back_action,
            row.write_back_error, row.write_back_attempts) == ("applied", payment.txn_id, None,
                                                               None, 1)
    # the figures are QuickBooks' after this very session: memo and invoice read by TxnID
    assert (co.memos[memo_txn].remaining, co.invoices[inv_txn].balance) == ("40.00", "190.00")
    assert synced_memos(db, SYSTEM)[memo_txn].applied_minor == 6000
    memos_read, invoices_read = landed.batches[:2]  # the write itself lands nothing
    assert memos_read.cursor is None and invoices_read.cursor is None  # read by TxnID
    assert [r.external_id for r in memos_read.records] == [memo_txn]
    assert [(r.external_id, r.balance_minor) for r in invoices_read.records] == [
        (inv_txn, 19000)]
    (event,) = events(db, "credit_memo.write_back")
    assert event.data["external_id"] == payment.txn_id and event.data["amount"] == "60.00"
    again = live.connector(qbd, co).run()  # nothing pending: no second write
    assert again.progress[-1] == 100 and len(co.receive_payments) == 1


def test_y12_a_refusal_fails_the_application_with_quickbooks_words_and_changes_nothing(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, memo_txn, inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 6000)
    co.pay_invoice(inv_txn, "250.00")  # paid meanwhile, in QuickBooks
    out = live.connector(qbd, co).run()
    assert out.progress[-1] == 100  # the refusal is the application's, not the sync's
    row = application(db, app_id)
    assert row is not None and (row.status, row.write_back_action) == ("failed", "apply")
    assert row.write_back_error == (f'Object "{inv_txn}" specified in the request cannot be '
                                    f'found.')
    assert co.receive_payments == {} and co.memos[memo_txn].remaining == "100.00"
    assert events(db, "credit_memo.write_back_refused")[0].data["error"] == row.write_back_error
    live.connector(qbd, co).run()  # failed is not pending: never sent again by itself
    assert sum("ReceivePaymentAddRq" in rq for rq in co.requests) == 1


def test_y12_a_lost_answer_is_read_back_in_the_next_session_never_sent_twice(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, memo_txn, _inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 2500)
    co.drop_response_to = "ReceivePaymentAddRq"
    cut = live.connector(qbd, co).run()
    assert "response lost" in cut.log and cut.closed is None
    row = application(db, app_id)
    assert row is not None and row.status == "pending" and row.write_back_sent_at is not None
    assert len(co.receive_payments) == 1  # QuickBooks made it; CreditDesk never heard
    co.requests.clear()
    out = live.connector(qbd, co).run()
    assert out.progress[-1] == 100, out.log
    assert kinds(co)[0] == "ReceivePaymentQueryRq" and "ReceivePaymentAddRq" not in kinds(co)
    (payment,) = co.receive_payments.values()
    row = application(db, app_id)
    assert row is not None and (row.status, row.write_back_external_id) == ("applied",
                                                                           payment.txn_id)
    assert co.memos[memo_txn].remaining == "75.00"  # applied once


def test_y12_an_attempt_quickbooks_never_carried_out_is_sent_again_after_the_read(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, _memo_txn, _inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 2500)
    co.hresult_next = ("0x80040400", "QuickBooks found an error when parsing the XML")
    failed = live.connector(qbd, co).run()
    assert failed.progress == [-1] and co.receive_payments == {}
    co.requests.clear()
    live.connector(qbd, co).run()
    assert kinds(co)[:2] == ["ReceivePaymentQueryRq", "ReceivePaymentAddRq"]
    (payment,) = co.receive_payments.values()
    row = application(db, app_id)
    assert row is not None and (row.status, row.write_back_external_id,
                                row.write_back_attempts) == ("applied", payment.txn_id, 2)


def test_y12_a_busy_company_file_leaves_it_pending_and_reads_first_next_time(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, _memo_txn, _inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 2500)
    co.fail_next = (3180, "There was an error when saving a Receive Payment. The list has "
                          "been modified by another user.")
    assert live.connector(qbd, co).run().progress[-1] == 100
    row = application(db, app_id)
    assert row is not None and row.status == "pending" and row.write_back_error is None
    co.requests.clear()
    live.connector(qbd, co).run()
    assert kinds(co)[:2] == ["ReceivePaymentQueryRq", "ReceivePaymentAddRq"]
    assert application(db, app_id).status == "applied"  # type: ignore[union-attr]
    assert len(co.receive_payments) == 1


def test_y13_removing_deletes_the_receive_payment_and_the_application(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, memo_txn, inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 6000)
    live.connector(qbd, co).run()
    row = application(db, app_id)
    assert row is not None and row.status == "applied"
    payment = row.write_back_external_id
    _ask_removal(db, app_id)
    co.requests.clear()
    live.connector(qbd, co).run()
    assert kinds(co)[:3] == ["TxnDelRq", "CreditMemoQueryRq", "InvoiceQueryRq"]
    assert SafeET.fromstring(co.requests[0]).findtext("QBXMLMsgsRq/TxnDelRq/TxnID") == payment
    assert application(db, app_id) is None and co.receive_payments == {}
    assert (co.memos[memo_txn].remaining, co.invoices[inv_txn].balance) == ("100.00", "250.00")
    assert synced_memos(db, SYSTEM)[memo_txn].applied_minor == 0
    assert events(db, "credit_memo.write_back_removed")[0].data["external_id"] == payment


def test_y13_a_removal_quickbooks_refuses_keeps_the_application_with_its_words(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, app_id = _written_then_removal(db, live, qbd)
    co.fail_next = (3260, "Insufficient permission level to perform this action.")
    live.connector(qbd, co).run()
    row = application(db, app_id)
    assert row is not None and (row.status, row.write_back_action, row.write_back_error) == (
        "failed", "remove", "Insufficient permission level to perform this action.")
    assert len(co.receive_payments) == 1


def test_y13_a_credit_only_link_without_a_receive_payment_says_where_to_undo_it(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    """Research §4.2: a SetCredit-only add may make no ReceivePayment (a thin answer)."""
    co, memo_txn, inv_txn, memo, invoice_id = _books(db, live, qbd, FakeCompany(
        thin_credit_adds=True), ref="INV-9")
    app_id = _pending(db, memo, invoice_id, 6000)
    live.connector(qbd, co).run()
    row = application(db, app_id)
    # the memo's link to the invoice is the record (Y14 recognises it by that name)
    assert row is not None and (row.status, row.write_back_external_id) == (
        "applied", f"link:{inv_txn}")
    assert co.memos[memo_txn].remaining == "40.00" and co.receive_payments == {}
    live.connector(qbd, co).run()  # the memo read again, its link ours: nothing added
    assert [a.id for a in memo_applications(db, memo.id)] == [app_id]
    _ask_removal(db, app_id)
    co.requests.clear()
    live.connector(qbd, co).run()
    assert "TxnDelRq" not in kinds(co)
    row = application(db, app_id)
    assert row is not None and row.status == "failed"
    assert "remove the credit from invoice INV-9 in QuickBooks" in (row.write_back_error or "")


def memo_applications(db: Database, memo_id: str) -> list[models.CreditApplication]:
    with db.read() as s:
        return list(s.scalars(select(models.CreditApplication).where(
            models.CreditApplication.credit_memo_id == memo_id)))


def test_y14_credit_set_in_quickbooks_directly_shows_up_then_goes_with_it(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, memo_txn, inv_txn, memo, invoice_id = _books(db, live, qbd)
    co.link_credit(memo_txn, inv_txn, "25.00")  # in QuickBooks' Receive Payments window
    live.connector(qbd, co).run()
    [row] = memo_applications(db, memo.id)
    assert (row.origin, row.status, row.invoice_id, row.amount_minor,
            row.write_back_external_id) == ("source_system", "applied", invoice_id, 2500,
                                            f"link:{inv_txn}")
    assert synced_memos(db, SYSTEM)[memo_txn].applied_minor == 2500
    live.connector(qbd, co).run()
    assert len(memo_applications(db, memo.id)) == 1  # never doubled
    co.unlink_credit(memo_txn, inv_txn)  # taken off the invoice in QuickBooks
    live.connector(qbd, co).run()
    assert memo_applications(db, memo.id) == []
    assert synced_memos(db, SYSTEM)[memo_txn].applied_minor == 0


def test_due_writes_are_the_partners_pending_quickbooks_desktop_ones_in_id_order(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    _co, memo_txn, inv_txn, memo, invoice_id = _books(db, live, qbd)
    first, second = _pending(db, memo, invoice_id, 100), _pending(db, memo, invoice_id, 200)
    with db.write() as s:
        s.get_one(models.CreditApplication, second).status = "failed"
        due = qbwc_writes.due_writes(s, qbd.integration.id)
    assert [d.write.application_id for d in due] == [first]
    (d,) = due
    assert (d.write.memo_external_id, d.write.invoice_external_id, d.write.amount_minor,
            d.action, d.sent, d.problem) == (memo_txn, inv_txn, 100, "apply", False, None)
    assert d.write.request_key == f"wb-{first}" and d.write.customer_external_id == (
        "80000058-1700000000")
    assert credit.ref_number(first) != credit.ref_number(second)


def test_y12_a_lost_removal_answer_is_sent_again_and_found_gone(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, app_id = _written_then_removal(db, live, qbd)
    (memo_txn,) = co.memos
    co.drop_response_to = "TxnDelRq"
    assert "response lost" in live.connector(qbd, co).run().log
    assert co.receive_payments == {} and application(db, app_id) is not None
    live.connector(qbd, co).run()  # deleting what is gone already (3120) is done
    assert application(db, app_id) is None
    assert co.memos[memo_txn].remaining == "100.00"  # given back once


def test_y12_a_lost_answer_in_a_company_that_only_links_credit_is_never_resent(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed) -> None:
    co, memo_txn, _inv_txn, memo, invoice_id = _books(db, live, qbd, FakeCompany(
        thin_credit_adds=True), ref="INV-9")
    first = _pending(db, memo, invoice_id, 1000)
    live.connector(qbd, co).run()  # a thin answer: this company file links credit only
    assert integration(db, qbd.integration.id).cursor["credit_links_only"] is True
    second = _pending(db, memo, invoice_id, 2000)
    co.drop_response_to = "ReceivePaymentAddRq"
    live.connector(qbd, co).run()
    assert co.memos[memo_txn].remaining == "70.00"  # QuickBooks linked it; no one heard
    co.requests.clear()
    live.connector(qbd, co).run()
    assert "ReceivePaymentAddRq" not in kinds(co)
    assert co.memos[memo_txn].remaining == "70.00"  # never twice
    row = application(db, second)
    assert row is not None and row.status == "failed"
    assert "Check invoice INV-9 in QuickBooks" in (row.write_back_error or "")
    assert application(db, first).status == "applied"  # type: ignore[union-attr]


@pytest.mark.parametrize("answer", ["", "not xml", "<QBXML><QBXMLMsgsRs><ReceivePaymentAddRs "
                                    'statusCode="x"/></QBXMLMsgsRs></QBXML>',
                                    "<QBXML><QBXMLMsgsRs><InvoiceQueryRs statusCode=\"0\"/>"
                                    "</QBXMLMsgsRs></QBXML>"])
def test_e3_an_unreadable_answer_to_a_write_is_an_unknown_outcome_resolved_by_the_read(
        db: Database, live: Live, qbd: qbwc_setup.Created, landed: Landed,
        answer: str) -> None:
    co, _memo_txn, _inv_txn, memo, invoice_id = _books(db, live, qbd)
    app_id = _pending(db, memo, invoice_id, 2500)
    carry_out = co.handle

    def garbled(qbxml: str) -> tuple[str, str, str]:
        response = carry_out(qbxml)
        return (answer, "", "") if "ReceivePaymentAddRq" in qbxml else response

    co.handle = garbled  # type: ignore[method-assign]
    out = live.connector(qbd, co).run()
    assert out.progress[-1] == -1 and out.last_error  # a sentence, never a 5xx
    co.handle = carry_out  # type: ignore[method-assign]
    live.connector(qbd, co).run()
    (payment,) = co.receive_payments.values()
    row = application(db, app_id)
    assert row is not None and (row.status, row.write_back_external_id) == ("applied",
                                                                           payment.txn_id)
