"""Xero's wire formats: its dates ("/Date(ms+0000)/" and ISO) and a CreditNote JSON object
→ ``RemoteMemo`` / ``Deleted`` / ``BadRecord`` (accounting-apis.md section 2.2, 2.6)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx

from creditdesk.connectors import base, http
from creditdesk.connectors.base import (
    BadRecord,
    Deleted,
    Record,
    RemoteInvoice,
    RemoteLine,
    RemoteMemo,
    Targets,
)
from creditdesk.domain import money

CUSTOMER_CREDIT = "ACCRECCREDIT"
NOTES_LISTED = f'Type=="{CUSTOMER_CREDIT}"'
NOT_YET_ISSUED = {"DRAFT", "SUBMITTED"}  # not credit yet: nothing to show
VOIDED = "VOIDED"
DELETED = "DELETED"
WEBHOOK_CATEGORY = "CREDITNOTE"
INVOICE_CATEGORY = "INVOICE"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MSDATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")


def detail(response: httpx.Response) -> str:
    """The message of a problem (401/403) or a ValidationException (400) body."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("Detail", "Message", "Title"):
            if body.get(key):
                return str(body[key])[:300]
    return f"HTTP {response.status_code}"


def give_up(response: httpx.Response) -> str | None:
    """Over the daily (not the minute) limit: retrying within this run can't help."""
    problem = response.headers.get("x-rate-limit-problem", "").strip().lower()
    if response.status_code == 429 and problem == "day":
        after = http.retry_after(response)
        wait = f" (Xero says retry after {int(after)} s)" if after is not None else ""
        return f"Xero's daily API limit for this organisation is used up{wait}; will retry later"
    return None


def parse_datetime(value: object) -> datetime:
    """An aware UTC datetime from "/Date(1700000000000+0000)/" (the milliseconds are UTC; the
    offset is cosmetic) or ISO 8601 ("2019-03-05T18:59:06Z", "2019-03-05T00:00:00": UTC)."""
    text = str(value or "").strip()
    match = _MSDATE.match(text)
    if match:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match["ms"]))
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a Xero date") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_date(value: object) -> date:
    """A calendar date: Xero writes a date as midnight UTC (/Date(..+0000)/ or ISO)."""
    return parse_datetime(value).date()


def msdate(when: datetime) -> str:
    """The "/Date(ms+0000)/" form Xero writes (used by the fake and by tests)."""
    ms = int((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    return f"/Date({ms}+0000)/"


def updated_at(raw: Any) -> datetime | None:
    """The incremental cursor of one record: UpdatedDateUTC, else its newer string form."""
    if not isinstance(raw, dict):
        return None
    for key in ("UpdatedDateUTC", "UpdatedDateUTCString"):
        if raw.get(key):
            try:
                return parse_datetime(raw[key])
            except ValueError:
                continue
    return None


def total_tax(raw: dict[str, Any], currency: str) -> int:
    """T5: the document's TotalTax (none: 0)."""
    return (base.exact_minor(raw["TotalTax"], currency, "TotalTax")
            if raw.get("TotalTax") is not None else 0)


def customer(raw: dict[str, Any]) -> tuple[str, str, str | None]:
    """(ContactID, name, email) of a record's ``Contact``; ValueError without an id."""
    contact = raw.get("Contact")
    if not isinstance(contact, dict) or not contact.get("ContactID"):
        raise ValueError("Contact.ContactID is missing")
    contact_id = str(contact["ContactID"])
    email = str(contact["EmailAddress"]) if contact.get("EmailAddress") else None
    return contact_id, str(contact.get("Name") or f"Xero contact {contact_id}"), email


def issue_date(raw: dict[str, Any]) -> date | None:
    for key in ("Date", "DateString"):
        if raw.get(key):
            return parse_date(raw[key])
    return None


def webhook_targets(payload: Any) -> dict[str, Targets]:
    """Customer credit notes and invoices named by a webhook, by tenant: ``events[]`` with
    eventCategory CREDITNOTE or INVOICE, ``resourceId`` and ``tenantId`` (ids are UUIDs).
    Supplier credits (``data.Type`` ACCPAYCREDIT) and other categories are ignored; INVOICE
    events carry no ``data``, so a bill is only told apart when it is read (and skipped).
    An invoice is keyed by ``base.invoice_key``. Xero sends CREATE and UPDATE only (a status
    change, voiding included, is an UPDATE), so each is re-read. A body of another shape is
    ``base.MalformedWebhook``."""
    out: dict[str, Targets] = {}
    if not isinstance(payload, dict):
        raise base.MalformedWebhook("the body must be a JSON object with an events list")
    for event in base.objects(payload.get("events"), "events"):
        category = event.get("eventCategory")
        if category not in (WEBHOOK_CATEGORY, INVOICE_CATEGORY):
            continue
        data = event.get("data")
        kind = data.get("Type") if isinstance(data, dict) else None
        tenant, resource = event.get("tenantId"), event.get("resourceId")
        if not isinstance(tenant, str) or not isinstance(resource, str) \
                or not _UUID.match(resource):
            continue
        if category == INVOICE_CATEGORY:
            out.setdefault(tenant, {})[base.invoice_key(resource)] = base.CHANGED
        elif kind in (None, CUSTOMER_CREDIT):
            out.setdefault(tenant, {})[resource] = base.CHANGED
    return out


def parse_lines(raw: dict[str, Any], currency: str) -> tuple[RemoteLine, ...] | None:
    """LineItems → lines (None when the answer carries none: a list GET without paging sends
    ``[]`` [S], so an empty list is trusted only when the note has no amount)."""
    items = raw.get("LineItems")
    if items is None:
        return None
    if not isinstance(items, list):
        raise ValueError("LineItems is not a list")
    if len(items) > base.MAX_LINES:
        raise ValueError(f"more than {base.MAX_LINES} lines")
    lines = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"line {n} is not an object")
        qty = item.get("Quantity")
        amount = item.get("LineAmount")
        lines.append(RemoteLine(
            description=base.clip(item.get("Description") or item.get("ItemCode")),
            quantity=base.quantity_text(qty) if qty is not None else None,
            unit_price_minor=base.unit_price(item.get("UnitAmount"), currency),
            # a description-only line has no amount at all
            amount_minor=(0 if amount is None and item.get("UnitAmount") is None
                          else base.exact_minor(amount, currency, f"line {n} LineAmount"))))
    return tuple(lines)


Synced = TypeVar("Synced", RemoteMemo, RemoteInvoice)


def with_lines(record: Synced, raw: dict[str, Any], kind: str) -> Synced:
    """``record`` with the LineItems of ``raw`` (``kind`` names it in a line problem)."""
    try:
        lines = parse_lines(raw, record.currency)
    except (ValueError, TypeError, AttributeError) as exc:
        return replace(record, line_problem=f"{kind} {record.number} lines: {exc}")
    if lines == () and record.total_minor > 0:
        lines = None  # a listing without line items: keep what is stored
    return replace(record, lines=lines)


def _refunded(raw: dict[str, Any], currency: str, used: int) -> int:
    """Y4: the credit note's Payments are cash refunded to the customer (its Allocations are
    the applications to invoices); never more than the credit used."""
    payments = raw.get("Payments") or []
    if not isinstance(payments, list):
        raise ValueError("Payments is not a list")
    total = sum(base.exact_minor(p.get("Amount"), currency, "Payments Amount")
                for p in payments if isinstance(p, dict))
    if not 0 <= total <= used:
        raise ValueError(f"refunds {total} outside 0..the credit used ({used})")
    return total


def _allocations(raw: dict[str, Any],
                 currency: str) -> tuple[base.RemoteApplication, ...] | None:
    """Y14: the credit note's Allocations (to invoices) as Xero records them, deleted ones
    left out; None when the answer has no Allocations list or one lacks its id or invoice
    (nothing is reconciled from a partial picture)."""
    allocations = raw.get("Allocations")
    if not isinstance(allocations, list):
        return None
    out = []
    for a in allocations:
        if not isinstance(a, dict) or a.get("IsDeleted"):
            continue
        invoice = a.get("Invoice")
        record, invoice_id = a.get("AllocationID"), (
            invoice.get("InvoiceID") if isinstance(invoice, dict) else None)
        if not record or not invoice_id:
            return None
        out.append(base.RemoteApplication(str(record), str(invoice_id),
                                          base.exact_minor(a.get("Amount"), currency,
                                                           "Allocations Amount")))
    return tuple(out)


def parse_credit_note(raw: Any) -> Record | None:
    """One CreditNote → a record, or None for what is not a customer's issued credit
    (supplier credits, drafts awaiting approval)."""
    ext = raw.get("CreditNoteID") if isinstance(raw, dict) else None
    if not isinstance(ext, str) or not ext:
        return BadRecord(None, "a CreditNote without a CreditNoteID")
    kind, status = raw.get("Type"), str(raw.get("Status") or "").upper()
    if kind != CUSTOMER_CREDIT:
        return None if kind else BadRecord(ext, f"CreditNote {ext}: Type is missing")
    if status == DELETED:
        return Deleted(ext)  # Y4; a soft delete (only drafts can be deleted)
    if status in NOT_YET_ISSUED:
        return None
    try:
        currency = money.check_currency(raw.get("CurrencyCode") or "USD")
        total = base.exact_minor(raw.get("Total"), currency, "Total")
        voided = status == VOIDED
        # [U] RemainingCredit of a voided note: "no credit" whatever the field says (Y4).
        remaining = (0 if voided else
                     base.exact_minor(raw.get("RemainingCredit"), currency, "RemainingCredit"))
        if total < 0 or not 0 <= remaining <= total:
            raise ValueError(f"remaining credit {remaining} outside 0..total {total}")
        contact_id, name, email = customer(raw)
        memo = RemoteMemo(
            external_id=ext, number=str(raw.get("CreditNoteNumber") or ext),
            customer_external_id=contact_id, customer_name=name, customer_email=email,
            currency=currency, total_minor=total, remaining_minor=remaining,
            issue_date=issue_date(raw), voided=voided,
            refunded_minor=0 if voided else _refunded(raw, currency, total - remaining),
            applications=_allocations(raw, currency), tax_minor=total_tax(raw, currency))
    except (ValueError, TypeError, AttributeError, money.MoneyError) as exc:
        return BadRecord(ext, f"CreditNote {raw.get('CreditNoteNumber') or ext}: {exc}")
    return with_lines(memo, raw, "CreditNote")
