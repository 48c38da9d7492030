"""The demo's synced books: a QuickBooks Online company and a Xero organisation, each
synced once and then disconnected, so a newcomer sees synced memos with their source
badges, credit used at the source ("Applied in QuickBooks Online: $150.00", a refund in
Xero), one customer with records in three places, and a likely copy to merge (Y3-Y5, Y8,
Y10).

Nothing is written by hand that a sync writes: the memos are their system's own JSON
(a QuickBooks ``CreditMemo``, a Xero ``CreditNote``), read by the connector's parser and
landed by the sync engine (``sync.land_page``) in a run that ``sync.finish`` records, as
the Web Connector's conversation does (``services.qbwc``). Only the connection itself is
made here — there is no provider to sign in to — and it is then disconnected through
``integrations.disconnect``, the way an admin does: no credentials are kept and nothing is
scheduled, so no runner ever tries to reach QuickBooks or Xero for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from creditdesk.connectors import base, xero_records
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import integrations, sync
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id

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


def load(db: Database, actor: Actor, today: date) -> None:
    """Both systems' memos, each landed in one recorded run, then disconnected."""
    _sync_once(db, actor, "quickbooks_online", _quickbooks_memos(today),
               lambda raw: qbo.parse_memo(raw, "USD"))
    _sync_once(db, actor, "xero", _xero_notes(today), xero_records.parse_credit_note)


def _sync_once(db: Database, actor: Actor, provider: str, raw: list[dict[str, Any]],
               parse: Callable[[dict[str, Any]], base.Record | None]) -> None:
    integration_id, run_id = _connect(db, actor, provider)
    records = [r for r in map(parse, raw) if r is not None]
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


M365_UNUSED = "Microsoft 365 Business Premium, per user (monthly): unused licences"
