"""The demo's synced books: a QuickBooks Online company and a Xero organisation, each
synced once and then disconnected, so a newcomer sees synced memos and invoices with their
source badges and the system's balances, credit used at the source ("Applied in QuickBooks
Online: $150.00", a refund in Xero), one customer with records in three places, a likely
copy to merge (Y3-Y5, Y8-Y10), and synced credit applied here and written back: applied,
pending and refused (Y11-Y13).

Nothing is written by hand that a sync writes: the memos and invoices are their system's
own JSON (QuickBooks ``CreditMemo`` and ``Invoice``, Xero ``CreditNote`` and ``Invoice``),
read by the connector's parsers and landed by the sync engine (``sync.land_page``) in a run
that ``sync.finish`` records, as the Web Connector's conversation does
(``services.qbwc``). Only the connection itself is made here — there is no provider to sign
in to — and it is then disconnected through ``integrations.disconnect``, the way an admin
does: no credentials are kept and nothing is scheduled, so no runner ever tries to reach
QuickBooks or Xero for it.

The write-backs are applied here through ``credit.apply_credit`` (pending, as a person's
would be) and then answered with the write-back job's own steps (``write_back.claim``,
``mark_sent``, then ``record_written`` / ``record_refused`` / ``record_unanswered``) with
the answers the systems give: a Payment made, a refusal in QuickBooks' words, no answer.
They are answered after the disconnect, so no read-back sync is queued for a connection
that can't run it. The unanswered one waits ``UNANSWERED_WAIT`` for its next attempt; when
that comes the job finds Xero disconnected and marks it failed, saying so.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from creditdesk.connectors import base, xero_invoices, xero_records
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors import quickbooks_online_records as qbo_records
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import integrations, sync, write_back
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.credit_memos import credit

COMPANY = "Northwind IT Services (demo)"  # the partner's own books in each system
TRIGGER = "demo"  # what the run table says started the one run

# The business kept in all three places (CreditDesk, QuickBooks Online, Xero): its billing
# email is the demo customer's, so the sync links both records to it (Y10's email rule).
LINKED = ("Contoso Dental Group", "accounts@contosodental.com")
# The same name with another billing email: the sync makes a customer of its own, which
# the native customer's page lists as a likely copy for an admin to merge.
COPY = ("Fabrikam Logistics", "ap@fabrikamlogistics.com")
# A business only in Xero: created by the sync.
XERO_ONLY = ("Fourth Coffee", "accounts@fourthcoffee.com")

XERO_CONTACTS = {LINKED[0]: "3f9c8a52-6c1d-4b7e-9a0f-2d5e7b1c4a10",
                 XERO_ONLY[0]: "b7e2d4f1-0a3c-4e59-8d26-91c5f3a7e284"}
XERO_INVOICES = {"INV-0409": "0c7d5e21-4b8a-4f36-9e12-6a3b8d9f0e47",
                 "INV-0418": "9a41f6c3-2d7e-4b05-8c19-e5f3a2b7d608"}

# The write-backs (Y11-Y13): QuickBooks memo 1042's credit applied here to invoice 1187 and
# written back (a Payment made); memo 1044's to invoice 1190, refused by QuickBooks in its
# words; Xero CN-0214's to INV-0418, sent and not answered yet.
WRITTEN = ("quickbooks_online", "151", "162", "200.00")  # invoice 1187
REFUSED = ("quickbooks_online", "158", "166", "300.00")  # invoice 1190
UNANSWERED = ("xero", "e90b4c37-8a25-4d6f-b1e8-0f4a2c9d7b63", XERO_INVOICES["INV-0418"], "95.00")
PAYMENT_ID = "1203"  # the $0 Payment QuickBooks made for the written one
# QuickBooks' Fault for a Payment dated in a closed period (as the fake QuickBooks Online
# answers it, fakes/qbo_payments.py; the exact words are not confirmed, research §QBO 3).
CLOSED_PERIOD = {"Fault": {"Error": [{"Message": "Account Period Closed",
                                      "Detail": "The account period has closed.",
                                      "code": "6210", "element": ""}],
                           "type": "ValidationFault"}}
UNANSWERED_WAIT = timedelta(days=1)  # the job's back-off before the next attempt


def load(db: Database, actor: Actor, today: date) -> None:
    """Both systems' invoices and memos (as their APIs return them, read by the connector's
    parsers), each landed in one recorded run, then disconnected; then synced credit applied
    here and answered (``_write_backs``)."""
    _sync_once(db, actor, "quickbooks_online", [
        *(qbo_records.parse_invoice(raw, "USD") for raw in _quickbooks_invoices(today)),
        *(qbo.parse_memo(raw, "USD") for raw in _quickbooks_memos(today))])
    _sync_once(db, actor, "xero", [
        *map(xero_invoices.parse_invoice, _xero_invoices(today)),
        *map(xero_records.parse_credit_note, _xero_notes(today))])
    _write_backs(db, actor)


def _sync_once(db: Database, actor: Actor, provider: str,
               parsed: list[base.Record | None]) -> None:
    integration_id, run_id = _connect(db, actor, provider)
    records = [r for r in parsed if r is not None]
    snap = sync.snapshot(db, integration_id)
    with db.write() as session:  # one page; no cursor, as nothing will resume from it
        sync.land_page(session, run_id, snap, base.Batch(records, None))
    sync.finish(db, run_id, snap, error=None, interval=None)  # nothing scheduled after it
    integrations.disconnect(db, actor=actor, integration_id=integration_id)


def _connect(db: Database, actor: Actor, provider: str) -> tuple[str, str]:
    """A connection to the demo company with its run started, in one transaction: no
    credentials (there is no provider behind it), no next sync and no queued run, so only
    this loader lands anything in it."""
    now = clock.now()
    with db.write() as session:
        row = models.Integration(
            id=new_id("int"), partner_id=actor.partner_id, provider=provider,
            status="connected", realm_id=f"demo-{provider}", company_name=COMPANY,
            region="us" if provider == "quickbooks_online" else None,
            cursor={}, consecutive_failures=0, next_sync_at=None, created_at=now,
            updated_at=now)
        session.add(row)
        session.flush()  # the run refers to it
        audit.record(session, actor, "integration.connect", "integration", row.id,
                     {"provider": provider, "realm_id": row.realm_id, "demo": True})
        run = models.SyncRun(id=new_id("run"), partner_id=actor.partner_id,
                             integration_id=row.id, trigger=TRIGGER, status="running",
                             queued_at=now, started_at=now, heartbeat_at=now, fetched=0,
                             created=0, updated=0, voided=0, errors=[])
        session.add(run)
        return row.id, run.id


# --- QuickBooks Online: CreditMemo objects as its API returns them ------------------------

def _amount(qty: str, price: str) -> Decimal:
    return (Decimal(qty) * Decimal(price)).quantize(Decimal("0.01"))  # exact in the demo


def _qbo_line(description: str, qty: str, price: str) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Description": description,
            "Amount": _amount(qty, price),
            "SalesItemLineDetail": {"Qty": Decimal(qty), "UnitPrice": Decimal(price)}}


def _qbo_memo(ext: str, number: str, on: date, customer: tuple[str, str], customer_id: str,
              remaining: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(li["Amount"] for li in lines)
    return {"Id": ext, "DocNumber": number, "TxnDate": on.isoformat(),
            "CurrencyRef": {"value": "USD"},
            "CustomerRef": {"value": customer_id, "name": customer[0]},
            "BillEmail": {"Address": customer[1]}, "TotalAmt": total,
            "Balance": Decimal(remaining), "RemainingCredit": Decimal(remaining),
            "Line": [*lines, {"DetailType": "SubTotalLineDetail", "Amount": total}]}


def _quickbooks_memos(today: date) -> list[dict[str, Any]]:
    """Two memos of the linked business (one partly used in QuickBooks, one untouched) and
    two of the copy (one used in full)."""
    return [
        _qbo_memo("146", "1041", today - timedelta(days=34), LINKED, "58", "450.00", [
            _qbo_line("Network security monitoring (monthly): outage credit", "1", "600.00")]),
        _qbo_memo("151", "1042", today - timedelta(days=19), LINKED, "58", "450.00", [
            _qbo_line("Backup and disaster recovery (monthly)", "1", "450.00")]),
        _qbo_memo("153", "1043", today - timedelta(days=26), COPY, "61", "0", [
            _qbo_line("On-site support (hours)", "2", "145.00")]),
        _qbo_memo("158", "1044", today - timedelta(days=8), COPY, "61", "507.50", [
            _qbo_line("On-site support (hours)", "1.5", "145.00"),
            _qbo_line("Ubiquiti UniFi access point, U6 Pro: returned", "2", "145.00")]),
    ]


def _qbo_invoice(ext: str, number: str, on: date, customer: tuple[str, str], customer_id: str,
                 balance: str, lines: list[dict[str, Any]], tax: str = "0") -> dict[str, Any]:
    """An Invoice: ``TotalAmt`` is the lines plus tax, ``Balance`` what is still owed."""
    subtotal = sum(li["Amount"] for li in lines)
    return {"Id": ext, "DocNumber": number, "TxnDate": on.isoformat(),
            "DueDate": (on + timedelta(days=30)).isoformat(), "CurrencyRef": {"value": "USD"},
            "CustomerRef": {"value": customer_id, "name": customer[0]},
            "BillEmail": {"Address": customer[1]}, "TotalAmt": subtotal + Decimal(tax),
            "Balance": Decimal(balance), "TxnTaxDetail": {"TotalTax": Decimal(tax)},
            "Line": [*lines, {"DetailType": "SubTotalLineDetail", "Amount": subtotal}]}


def _quickbooks_invoices(today: date) -> list[dict[str, Any]]:
    """The linked business: one overdue and paid in part in QuickBooks, one open (credit
    written back to it); the copy: one open (its write-back refused)."""
    return [
        _qbo_invoice("139", "1179", today - timedelta(days=52), LINKED, "58", "360.00", [
            _qbo_line("Firewall appliance support (quarterly)", "1", "860.00")]),
        _qbo_invoice("162", "1187", today - timedelta(days=21), LINKED, "58", "1296.00", [
            _qbo_line("Managed IT services, per user (monthly)", "25", "48.00")], tax="96.00"),
        _qbo_invoice("166", "1190", today - timedelta(days=12), COPY, "61", "870.00", [
            _qbo_line("On-site support (hours)", "6", "145.00")]),
    ]


# --- Xero: CreditNote objects as its API returns them ----------------------------------------

def _xero_note(ext: str, number: str, on: date, customer: tuple[str, str], status: str,
               remaining: str, lines: list[tuple[str, str, str]], *,
               allocated: str = "0", refunded: str = "0") -> dict[str, Any]:
    items = [{"Description": d, "Quantity": Decimal(q), "UnitAmount": Decimal(p),
              "LineAmount": _amount(q, p)} for d, q, p in lines]
    note: dict[str, Any] = {
        "CreditNoteID": ext, "CreditNoteNumber": number, "Type": xero_records.CUSTOMER_CREDIT,
        "Status": status, "Date": f"{on.isoformat()}T00:00:00", "CurrencyCode": "USD",
        "Contact": {"ContactID": XERO_CONTACTS[customer[0]], "Name": customer[0],
                    "EmailAddress": customer[1]},
        "Total": sum(i["LineAmount"] for i in items), "RemainingCredit": Decimal(remaining),
        "LineItems": items}
    if Decimal(allocated):  # applied to invoices in Xero
        note["Allocations"] = [{"Amount": Decimal(allocated)}]
    if Decimal(refunded):  # paid back to the customer in Xero
        note["Payments"] = [{"Amount": Decimal(refunded)}]
    return note


def _xero_notes(today: date) -> list[dict[str, Any]]:
    """The linked business: one note used in Xero (applied in part, the rest refunded), one
    voided there; the Xero-only business: one untouched."""
    return [
        _xero_note("c41a7e0b-59d2-4f83-a6b1-3e8d0f27c915", "CN-0207",
                   today - timedelta(days=29), LINKED, "PAID", "0",
                   [(M365_UNUSED, "12", "22.00")], allocated="164.00", refunded="100.00"),
        _xero_note("5d83f6a2-1e47-4b0c-9f35-c72a8e4b6d01", "CN-0211",
                   today - timedelta(days=15), LINKED, "VOIDED", "0",
                   [("Project labour (hours): billed twice", "1", "165.00")]),
        _xero_note("e90b4c37-8a25-4d6f-b1e8-0f4a2c9d7b63", "CN-0214",
                   today - timedelta(days=5), XERO_ONLY, "AUTHORISED", "95.00",
                   [("Goodwill: delayed laptop delivery", "1", "95.00")]),
    ]


M365_SEATS = "Microsoft 365 Business Premium, per user (monthly)"
M365_UNUSED = f"{M365_SEATS}: unused licences"


def _xero_invoice(number: str, on: date, customer: tuple[str, str], due: str,
                  lines: list[tuple[str, str, str]], *, credited: str = "0") -> dict[str, Any]:
    """An ACCREC Invoice: ``AmountDue`` is what is still owed after payments and credit."""
    items = [{"Description": d, "Quantity": Decimal(q), "UnitAmount": Decimal(p),
              "LineAmount": _amount(q, p)} for d, q, p in lines]
    total = sum((_amount(q, p) for _, q, p in lines), Decimal(0))
    return {"InvoiceID": XERO_INVOICES[number], "InvoiceNumber": number, "Type": "ACCREC",
            "Status": "AUTHORISED", "Date": f"{on.isoformat()}T00:00:00",
            "DueDate": f"{(on + timedelta(days=30)).isoformat()}T00:00:00",
            "CurrencyCode": "USD", "Contact": {"ContactID": XERO_CONTACTS[customer[0]],
                                               "Name": customer[0],
                                               "EmailAddress": customer[1]},
            "LineItems": items, "SubTotal": total, "TotalTax": Decimal(0), "Total": total,
            "AmountDue": Decimal(due), "AmountCredited": Decimal(credited),
            "AmountPaid": total - Decimal(due) - Decimal(credited)}


def _xero_invoices(today: date) -> list[dict[str, Any]]:
    """The linked business: one credited in Xero in part (CN-0207's allocation); the
    Xero-only business: an open one (credit sent to Xero, no answer yet)."""
    return [
        _xero_invoice("INV-0409", today - timedelta(days=33), LINKED, "1156.00",
                      [(M365_SEATS, "60", "22.00")], credited="164.00"),
        _xero_invoice("INV-0418", today - timedelta(days=9), XERO_ONLY, "420.00",
                      [("Laptop setup and imaging", "3", "140.00")]),
    ]


# --- synced credit applied here, written back (Y11-Y13) ---------------------------------

def _write_backs(db: Database, actor: Actor) -> None:
    """Three applications made as a person makes them (pending), each then answered with
    the job's own recording steps: one written (QuickBooks made its Payment), one refused
    in QuickBooks' words, one sent and not answered yet."""
    due = _sent(db, actor, *WRITTEN)
    write_back.record_written(db, due, base.Written(PAYMENT_ID))
    due = _sent(db, actor, *REFUSED)
    write_back.record_refused(db, due, f"{qbo.NAME} refused to apply the credit: "
                                       f"{qbo_records.fault_words(CLOSED_PERIOD)}")
    due = _sent(db, actor, *UNANSWERED)
    write_back.record_unanswered(db, due, "HTTP 503",
                                 retry_base_seconds=UNANSWERED_WAIT.total_seconds())


def _sent(db: Database, actor: Actor, system: str, memo_ext: str, invoice_ext: str,
          amount: str) -> write_back.Due:
    """Apply the synced memo's credit to the synced invoice (pending), then claim the
    write-back and mark it sent, as the job does before its request leaves."""
    with db.read() as session:
        memo_id = session.scalars(select(models.CreditMemo.id).where(
            models.CreditMemo.partner_id == actor.partner_id,
            models.CreditMemo.source == system,
            models.CreditMemo.external_id == memo_ext)).one()
        invoice_id = session.scalars(select(models.Invoice.id).where(
            models.Invoice.partner_id == actor.partner_id, models.Invoice.source == system,
            models.Invoice.external_id == invoice_ext)).one()
    applied = credit.apply_credit(db, actor=actor, memo_id=memo_id, invoice_id=invoice_id,
                                  amount=amount)
    due = write_back.claim(db, applied.application.id)
    assert due is not None  # just requested, due now, nobody else has it
    write_back.mark_sent(db, due.application_id)
    return due
