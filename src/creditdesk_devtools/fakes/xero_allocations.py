"""The fake Xero's credit note allocations: ``PUT /CreditNotes/{id}/Allocations`` and
``DELETE /CreditNotes/{id}/Allocations/{AllocationID}`` in Xero's wire format
(docs/research/issue13-qbo-xero.md §6).

A refusal is a 400 ValidationException echoing the allocation with its ValidationErrors.
The messages marked [S] are Xero's as reported (xeroizer#320, xero-php#251); the others are
composed (Xero's wording for those cases was not found).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from creditdesk.connectors import xero_records as records
from creditdesk.connectors.xero_records import msdate
from creditdesk_devtools.fakes.xero_state import FakeXeroState, Org, amount

OVER_DUE = "Credit Note cannot be allocated as amount is greater than amount outstanding"  # [S]
PAID_OFF = "The invoice you are trying to allocate to has already been paid off"  # [S]
WRONG_TYPE = "Credit Note cannot be allocated to an incorrect invoice type"  # [S] truncated
OVER_CREDIT = "Credit Note cannot be allocated as amount is greater than the remaining credit"
OTHER_CONTACT = "The invoice and the credit note must be for the same contact"
NO_INVOICE = "Invoice could not be found"
NOT_OPEN = "Credit notes and invoices must be AUTHORISED to allocate"
BAD_AMOUNT = "Amount must be a number greater than zero"
OTHER_CURRENCY = "The invoice and the credit note must be in the same currency"
BAD_DATE = "Date must be a valid date (YYYY-MM-DD)"
LOCKED = "The document date cannot be on or before the period lock date"


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _refusal(allocation: dict[str, Any], message: str) -> tuple[int, dict[str, Any]]:
    echo = json.loads(json.dumps(allocation, default=float))  # Xero's numbers: JSON numbers
    element = {**echo, "ValidationErrors": [{"Message": message}]}
    return 400, {"ErrorNumber": 10, "Type": "ValidationException",
                 "Message": "A validation exception occurred", "Elements": [element]}


def _problem(allocation: dict[str, Any], note: dict[str, Any], org: Org,
             lock_date: date | None) -> tuple[str | None, dict[str, Any] | None, Decimal]:
    """(Xero's refusal or None, the invoice, the amount) of one asked-for allocation."""
    try:
        value = _d(allocation.get("Amount"))
    except InvalidOperation:
        return BAD_AMOUNT, None, Decimal(0)
    if not value.is_finite() or value <= 0:
        return BAD_AMOUNT, None, value
    try:
        day = datetime.strptime(str(allocation.get("Date")), "%Y-%m-%d").date()
    except ValueError:
        return BAD_DATE, None, value
    if lock_date is not None and day <= lock_date:
        return LOCKED, None, value
    wanted = allocation.get("Invoice")
    invoice = org.invoices.get(str(wanted.get("InvoiceID"))) if isinstance(wanted, dict) \
        else None
    if invoice is None:
        return NO_INVOICE, None, value
    if invoice["Type"] != "ACCREC" or note["Type"] != "ACCRECCREDIT":
        return WRONG_TYPE, invoice, value
    if invoice["Contact"]["ContactID"] != note["Contact"]["ContactID"]:
        return OTHER_CONTACT, invoice, value
    if invoice["CurrencyCode"] != note["CurrencyCode"]:
        return OTHER_CURRENCY, invoice, value
    if invoice["Status"] == "PAID" or _d(invoice["AmountDue"]) == 0:
        return PAID_OFF, invoice, value
    if invoice["Status"] != "AUTHORISED" or note["Status"] not in ("AUTHORISED", "PAID"):
        return NOT_OPEN, invoice, value
    if value > _d(note["RemainingCredit"]):
        return OVER_CREDIT, invoice, value
    if value > _d(invoice["AmountDue"]):
        return OVER_DUE, invoice, value
    return None, invoice, value


def allocate(state: FakeXeroState, tenant_id: str, note_id: str, body: Any,
             key: str | None) -> tuple[int, dict[str, Any]]:
    """The answer (status, JSON body) to a PUT of ``body`` on the credit note."""
    with state.lock:
        org = state.orgs[tenant_id]
        if key and state.idempotency and key in org.answered:
            return 200, org.answered[key]  # the first answer again; nothing new is made
        note = org.notes.get(note_id)
        if note is None:
            return 404, {"Type": None, "Title": "Not Found", "Status": 404,
                         "Detail": "The resource you're looking for cannot be found"}
        asked = body.get("Allocations") if isinstance(body, dict) else None
        if not isinstance(asked, list) or len(asked) != 1 or not isinstance(asked[0], dict):
            return _refusal({}, "Allocations must hold one allocation")  # one per call here
        wanted = asked[0]
        problem, invoice, value = _problem(wanted, note, org, state.lock_date)
        if problem is not None or invoice is None:
            return _refusal(wanted, problem or NO_INVOICE)
        made = _apply(state, org, note, invoice, value, str(wanted["Date"]))
        answer = {"Id": str(uuid.uuid4()), "Status": "OK",
                  "ProviderName": "CreditDesk (fake Xero client)",
                  "DateTimeUTC": msdate(datetime.now(UTC)),
                  "Allocations": [{**made, "CreditNote": {"CreditNoteID": note_id,
                                                          "ID": note_id, "LineItems": []},
                                   "ValidationErrors": []}]}
        if not state.allocation_id_in_answer:
            answer["Allocations"][0].pop("AllocationID")
        if key:
            org.answered[key] = answer
        return 200, answer


def _apply(state: FakeXeroState, org: Org, note: dict[str, Any], invoice: dict[str, Any],
           value: Decimal, day: str) -> dict[str, Any]:
    """Make the allocation: the note's credit and the invoice's amount due drop by it."""
    # dated no earlier than the credit note and the invoice (as CData describes Xero)
    when = max(datetime.fromisoformat(day).replace(tzinfo=UTC),
               records.parse_datetime(note["Date"]), records.parse_datetime(invoice["Date"]))
    made = {"AllocationID": str(uuid.uuid4()), "Amount": amount(value), "Date": msdate(when),
            "Invoice": {"InvoiceID": invoice["InvoiceID"],
                        "InvoiceNumber": invoice["InvoiceNumber"]}}
    note["Allocations"].append(made)
    _move(state, org, note, invoice, value)
    return made


def _applied(org: Org, invoice_id: str) -> list[dict[str, Any]]:
    """The invoice's ``CreditNotes``: each allocation to it, as a CreditNote with its
    AppliedAmount (the Invoice schema)."""
    return [{"CreditNoteID": n["CreditNoteID"], "ID": n["CreditNoteID"],
             "CreditNoteNumber": n["CreditNoteNumber"], "AppliedAmount": a["Amount"],
             "Total": n["Total"]}
            for n in org.notes.values() for a in n.get("Allocations", [])
            if a.get("Invoice", {}).get("InvoiceID") == invoice_id]


def _move(state: FakeXeroState, org: Org, note: dict[str, Any], invoice: dict[str, Any],
          value: Decimal) -> None:
    """Move ``value`` of credit from the note to the invoice (negative: back again)."""
    remaining = _d(note["RemainingCredit"]) - value
    due = _d(invoice["AmountDue"]) - value
    note["RemainingCredit"] = amount(remaining)
    note["Status"] = "PAID" if remaining == 0 else "AUTHORISED"
    invoice["AmountDue"] = amount(due)
    invoice["AmountCredited"] = amount(_d(invoice["AmountCredited"]) + value)
    invoice["Status"] = "PAID" if due == 0 else "AUTHORISED"
    invoice["CreditNotes"] = _applied(org, invoice["InvoiceID"])
    now = msdate(state.now())
    note["UpdatedDateUTC"] = invoice["UpdatedDateUTC"] = now
    org.version += 1


def deallocate(state: FakeXeroState, tenant_id: str, note_id: str, allocation_id: str
               ) -> tuple[int, dict[str, Any]]:
    """The answer to a DELETE: the allocation with IsDeleted true (the schema's shape),
    its credit back on the note and owed again on the invoice; 404 when there is none."""
    with state.lock:
        org = state.orgs[tenant_id]
        note = org.notes.get(note_id)
        found = [a for a in (note or {}).get("Allocations", [])
                 if a.get("AllocationID") == allocation_id]
        if note is None or not found:
            return 404, {"Type": None, "Title": "Not Found", "Status": 404,
                         "Detail": "The resource you're looking for cannot be found"}
        allocation = found[0]
        if state.lock_date is not None and \
                records.parse_date(allocation["Date"]) <= state.lock_date:
            return _refusal(allocation, LOCKED)
        note["Allocations"].remove(allocation)
        invoice = org.invoices.get(allocation["Invoice"]["InvoiceID"])
        if invoice is not None:
            _move(state, org, note, invoice, -_d(allocation["Amount"]))
        return 200, {**allocation, "IsDeleted": True}
