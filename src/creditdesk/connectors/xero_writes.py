"""Xero write-back (Y11-Y13): an application of a synced credit note to a synced invoice is an
Allocation on the CreditNote (docs/research/issue13-qbo-xero.md §6, from the Xero OpenAPI
``xero_accounting.yaml``).

* Write: ``PUT /CreditNotes/{CreditNoteID}/Allocations`` with
  ``{"Allocations":[{"Amount":…,"Date":"YYYY-MM-DD","Invoice":{"InvoiceID":…}}]}`` (the JSON
  key is ``Amount``, not ``AppliedAmount``) and the header ``Idempotency-Key`` (≤128 chars).
  A refusal is a 400 ValidationException whose ``Elements[].ValidationErrors[].Message``
  are Xero's words (also looked for on a 200's allocation).
* Find: what Xero does with a repeated Idempotency-Key is not documented, so after a lost
  answer the credit note is read: an allocation to the invoice of this amount and date is
  the earlier attempt's (an Allocation has no reference field to carry the application id).
* Remove: ``DELETE /CreditNotes/{CreditNoteID}/Allocations/{AllocationID}``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from creditdesk.connectors import base, http
from creditdesk.connectors import xero_records as records
from creditdesk.connectors.base import (
    CannotRemove,
    ConnectorError,
    CreditWrite,
    NeedsReconnection,
    RemoteMemo,
    Transient,
    WriteRefused,
    Written,
)
from creditdesk.domain import money

if TYPE_CHECKING:
    from creditdesk.connectors.xero import Xero

NAME = "Xero"
WRITE_SCOPE = "accounting.transactions"
MAX_KEY = 128  # Xero's Idempotency-Key limit
NOT_PROCESSED = {429, 503}  # refused before anything was made: safe to send again
_AMOUNT = "\x00amount\x00"  # stands in for the JSON number while the body is encoded


def allocation_body(write: CreditWrite) -> bytes:
    """The PUT body; the amount is an exact JSON number ("100.00"), never a float."""
    body = {"Allocations": [{"Amount": _AMOUNT, "Date": write.on.isoformat(),
                             "Invoice": {"InvoiceID": write.invoice_external_id}}]}
    amount = money.minor_to_str(write.amount_minor, write.currency)
    return json.dumps(body).replace(json.dumps(_AMOUNT), amount).encode()


def validation_messages(body: Any) -> list[str]:
    """Xero's words of a ValidationException (or of a 200's allocations): every
    ``ValidationErrors[].Message`` of its ``Elements`` / ``Allocations``, else ``Message``."""
    if not isinstance(body, dict):
        return []
    found: list[str] = []
    for key in ("Elements", "Allocations"):
        for element in body.get(key) or []:
            errors = element.get("ValidationErrors") if isinstance(element, dict) else None
            for error in errors or []:
                if isinstance(error, dict) and error.get("Message"):
                    found.append(str(error["Message"])[:300])
    if not found and body.get("Type") == "ValidationException" and body.get("Message"):
        found.append(str(body["Message"])[:300])
    return found


def send_once(conn: Xero) -> Any:
    """A sender that never resends after a timeout or a failure that may have been
    processed (the outcome is then unknown: ``Transient``, and the engine looks with
    ``find_credit`` first, Y12); only throttling (429, 503) is waited out and sent again."""

    def sender(method: str, url: str, **kwargs: Any) -> httpx.Response:
        retry = conn.retry
        for attempt in range(retry.attempts):
            try:
                response = conn.client.request(method, url, **kwargs)
            except httpx.ConnectError:
                response = None  # never reached Xero: nothing was sent
            except httpx.TransportError as exc:
                raise Transient(f"{NAME} did not answer the write ({exc.__class__.__name__}); "
                                "whether it was made is unknown") from None
            if response is not None and response.status_code not in NOT_PROCESSED:
                return response
            if response is not None:
                stop = records.give_up(response)
                if stop:
                    raise Transient(stop)
            if attempt + 1 < retry.attempts:
                retry.sleep(retry.delay(attempt, response))
        raise Transient(f"{NAME} is throttling or unavailable; gave up after "
                        f"{retry.attempts} attempts, will retry later")

    return sender


def _refusal(response: httpx.Response, action: str) -> ConnectorError:
    """What a write's non-200 answer means (401 is answered after one token refresh)."""
    status = response.status_code
    words = records.detail(response)
    if status in (401, 403) and "AuthorizationUnsuccessful" in words:
        return WriteRefused(
            f"{NAME} refused to {action} ({words}): this connection may only read. Reconnect "
            f"the Xero integration and approve the {WRITE_SCOPE} scope (write access), then "
            "retry.")
    if status in (401, 403):
        return NeedsReconnection(f"{NAME} refused access ({words}); reconnect the integration")
    if status == 400:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        return WriteRefused("; ".join(validation_messages(body)) or words)
    if status == 404:
        return WriteRefused(f"{NAME} has no such credit note or allocation ({words})")
    return Transient(f"{NAME} answered HTTP {status} to the write ({words}); whether it was "
                     "made is unknown")


def write_credit(conn: Xero, write: CreditWrite) -> Written:
    """Allocate the credit note's credit to the invoice; ``Written`` carries the
    AllocationID (read back from the credit note when the answer lacks it)."""
    if not 0 < len(write.request_key) <= MAX_KEY:
        raise ValueError(f"an Idempotency-Key is 1 to {MAX_KEY} characters")
    url = conn.url(f"CreditNotes/{quote(write.memo_external_id, safe='')}/Allocations")
    response = conn.send("PUT", url, content=allocation_body(write), sender=send_once(conn),
                         headers={"Content-Type": "application/json",
                                  "Idempotency-Key": write.request_key})
    if response.status_code != 200:
        raise _refusal(response, "allocate the credit")
    try:
        body = http.json_exact(response, NAME)
    except ConnectorError:
        body = None
    refused = validation_messages(body)
    if refused:
        raise WriteRefused("; ".join(refused))
    made = body.get("Allocations") if isinstance(body, dict) else None
    first = made[0] if isinstance(made, list) and made and isinstance(made[0], dict) else {}
    if first.get("AllocationID"):
        return Written(str(first["AllocationID"]))
    found = find_credit(conn, write)  # the spec's example answer has no AllocationID
    if found is None:
        raise Transient(f"{NAME} accepted the allocation but it is not on the credit note "
                        "yet; will look again")
    return found


def find_credit(conn: Xero, write: CreditWrite) -> Written | None:
    """The allocation an earlier attempt made: on the credit note, to the invoice, of this
    amount, not deleted, dated ``write.on`` — or, when Xero moved the date (it dates an
    allocation no earlier than the credit note and the invoice [S: CData's Xero docs]), that
    later date. The newest such allocation is taken. None when there is none (or the credit
    note is gone)."""
    raw = conn.read_raw("CreditNotes", write.memo_external_id)
    if raw is None:
        return None
    allocations = raw.get("Allocations")
    candidates = [a for a in allocations if _candidate(a, write)] \
        if isinstance(allocations, list) else []
    if not candidates:
        return None
    dated = [a for a in candidates if _day(a) == write.on]
    if not dated:
        moved = _moved_to(conn, raw, write)
        dated = [a for a in candidates if moved is not None and _day(a) == moved]
    if not dated:
        return None
    memo = records.parse_credit_note(raw)
    return Written(str(dated[-1]["AllocationID"]),
                   memo=memo if isinstance(memo, RemoteMemo) else None)


def _candidate(allocation: Any, write: CreditWrite) -> bool:
    """Not deleted, not another application's (``known_external_ids``), to the invoice,
    of the amount, with a readable date."""
    if not isinstance(allocation, dict) or allocation.get("IsDeleted") \
            or not allocation.get("AllocationID") or _day(allocation) is None \
            or str(allocation["AllocationID"]) in write.known_external_ids:
        return False
    invoice = allocation.get("Invoice")
    if not isinstance(invoice, dict) or invoice.get("InvoiceID") != write.invoice_external_id:
        return False
    try:
        return base.exact_minor(allocation.get("Amount"), write.currency,
                                "Amount") == write.amount_minor
    except ValueError:
        return False


def _day(raw: dict[str, Any]) -> date | None:
    try:
        return records.parse_date(raw.get("Date"))
    except ValueError:
        return None


def _moved_to(conn: Xero, note: dict[str, Any], write: CreditWrite) -> date | None:
    """The date Xero gives an allocation asked for on ``write.on`` when the credit note or
    the invoice is dated later; None when neither is."""
    invoice = conn.read_raw("Invoices", write.invoice_external_id) or {}
    days = [d for d in (_day(note), _day(invoice)) if d is not None and d > write.on]
    return max(days, default=None)


def remove_credit(conn: Xero, write: CreditWrite, external_id: str) -> None:
    """Delete the allocation (its credit returns to the note, the invoice owes it again); one
    already gone (404) is not an error. A repeated DELETE is harmless, so it is retried as a
    read is."""
    url = conn.url(f"CreditNotes/{quote(write.memo_external_id, safe='')}/Allocations/"
                   f"{quote(external_id, safe='')}")
    response = conn.send("DELETE", url)
    if response.status_code in (200, 204, 404):
        return
    problem = _refusal(response, "remove the allocation")
    if isinstance(problem, WriteRefused) and response.status_code == 400:
        raise CannotRemove(
            f"{NAME} refused to remove the allocation ({problem}). Remove it in Xero: open "
            "the credit note (Business > Invoices, Credit notes), then the allocation to the "
            "invoice, and choose Remove allocation.")
    raise problem
