"""The fake Xero's data: organisations, credit notes, OAuth grants and connections, rate-limit
counters and queued faults. Thread-safe: uvicorn serves it from a thread pool."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from creditdesk.connectors.xero_records import msdate
from creditdesk_devtools.fakes.faults import FaultInjection

# Faults a test can queue: 429 (minute limit), 429_day, 500, 503, timeout, expired_token
# (the access token dies early), revoked (the organisation is disconnected from the app).
# On a write, "timeout" lets the write happen and then answers too late (the answer is lost).
FAULTS = ("429", "429_day", "500", "503", "timeout", "expired_token", "revoked")
CONTACT = "a1f0c2d4-1111-4222-8333-944455556666"
AMOUNTS = {"Total", "RemainingCredit", "TotalTax", "SubTotal", "AmountDue", "AmountPaid",
           "AmountCredited"}  # fields written as JSON numbers
READ_SCOPE = "offline_access accounting.transactions.read accounting.settings.read"
WRITE_SCOPE = "offline_access accounting.transactions accounting.settings.read"


@dataclass
class Org:
    tenant_id: str
    name: str
    country: str
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)  # ACCREC and ACCPAY
    # Idempotency-Key → the first 200 answer to a write (replayed when the key comes again).
    answered: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_number: int = 1
    next_invoice: int = 1
    calls: list[float] = field(default_factory=list)  # monotonic times, for the minute limit
    day_calls: int = 0
    # Bumped by every change to ``notes`` or ``invoices`` (change them through FakeXeroState's
    # methods): the listings cache their filtered, sorted rows per version (fakes/xero.py).
    version: int = 0
    listings: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


def amount(value: Decimal | str | int) -> float:
    """Xero writes amounts as JSON numbers; a float's repr round-trips 2-digit amounts."""
    return float(Decimal(str(value)))


def line_items(lines: list[tuple[str, str | None, str | None, str]]) -> list[dict[str, Any]]:
    """LineItems as Xero writes them (numbers as JSON numbers)."""
    out = []
    for description, qty, unit, exact_minor in lines:
        item: dict[str, Any] = {"LineItemID": str(uuid.uuid4()), "Description": description,
                                "AccountCode": "200", "TaxType": "NONE", "TaxAmount": 0.0,
                                "LineAmount": amount(exact_minor)}
        if qty is not None:
            item["Quantity"] = float(Decimal(qty))
        if unit is not None:
            item["UnitAmount"] = amount(unit)
        out.append(item)
    return out


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeXeroState(FaultInjection):
    """Everything the fake Xero knows. Thread-safe: uvicorn serves it from a thread pool."""

    KNOWN_FAULTS = FAULTS

    def __init__(self, *, client_id: str = "fake-xero-client",
                 client_secret: str = "fake-xero-secret",
                 webhook_key: str = "fake-xero-webhook-key", access_ttl: float = 1800.0,
                 refresh_grace: float = 1800.0, timeout_delay: float = 2.0,
                 minute_limit: int | None = 60, day_limit: int = 5000) -> None:
        self.client_id, self.client_secret, self.webhook_key = client_id, client_secret, \
            webhook_key
        self.access_ttl, self.refresh_grace, self.timeout_delay = access_ttl, refresh_grace, \
            timeout_delay
        # What the person picks on the consent screen when the address names no ``tenant``
        # (a browser test can't add one): these organisation ids; None: the first one.
        self.consent_tenants: list[str] | None = None
        self.minute_limit, self.day_limit = minute_limit, day_limit
        self.orgs: dict[str, Org] = {}
        self.codes: dict[str, str] = {}  # code -> auth event id
        self.grants: dict[str, list[str]] = {}  # auth event id -> tenant ids
        self.scopes: dict[str, set[str]] = {}  # auth event id -> the scopes consented to
        self.access: dict[str, tuple[str, datetime]] = {}  # token -> (event, expires)
        self.refresh: dict[str, tuple[str, datetime | None]] = {}  # token -> (event, dies at)
        self.connections: dict[str, dict[str, Any]] = {}  # tenant id -> connection
        self.faults: list[str] = []
        self.retry_after = "1"
        self.requests: list[str] = []
        self.lock = threading.RLock()
        self.frozen: datetime | None = None  # set to give every change one timestamp
        # Writes: replay the first answer to a repeated Idempotency-Key (False: Xero ignores
        # the key, which the research could not rule out); put AllocationID in the PUT's
        # answer (False: the spec's example answer, which lacks it); the status of a refusal
        # for want of the accounting.transactions scope (401 AuthorizationUnsuccessful as
        # reported in Xero-NetStandard#298; some report 403).
        self.idempotency = True
        self.allocation_id_in_answer = True
        self.scope_refusal_status = 401
        # The organisation's period lock date: no allocation dated on or before it is made
        # or deleted (a closed period).
        self.lock_date: date | None = None
        self._last = datetime.now(UTC)

    # clock and data ------------------------------------------------------------
    def now(self) -> datetime:
        """UTC, millisecond resolution, strictly increasing (unless frozen)."""
        with self.lock:
            if self.frozen is not None:
                return self.frozen
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            self._last = max(now, self._last + timedelta(milliseconds=1))
            return self._last

    def add_org(self, tenant_id: str, name: str = "Harbor Books", country: str = "US") -> None:
        with self.lock:
            self.orgs[tenant_id] = Org(tenant_id, name, country)

    def add_credit_note(self, tenant_id: str, *, total: str, remaining: str | None = None,
                        contact_id: str = CONTACT, contact_name: str = "Harbor Supply Co",
                        currency: str = "USD", number: str | None = None,
                        date: str = "2025-03-04", status: str = "AUTHORISED",
                        kind: str = "ACCRECCREDIT",
                        lines: list[tuple[str, str | None, str | None, str]] | None = None
                        ) -> str:
        """A credit note; ``lines`` as (Description, Quantity, UnitAmount, LineAmount) —
        default one "Credit" line of the total."""
        with self.lock:
            org = self.orgs[tenant_id]
            note_id = str(uuid.uuid4())
            day = datetime.fromisoformat(date).replace(tzinfo=UTC)
            org.next_number += 1
            org.notes[note_id] = {
                "CreditNoteID": note_id, "ID": note_id,
                "CreditNoteNumber": number or f"CN-{org.next_number:04d}", "Type": kind,
                "Status": status, "Contact": {"ContactID": contact_id, "Name": contact_name},
                "Date": msdate(day), "DateString": day.strftime("%Y-%m-%dT%H:%M:%S"),
                "LineAmountTypes": "Exclusive",
                "LineItems": line_items(lines or [("Credit", "1", total, total)]),
                "SubTotal": amount(total), "TotalTax": 0.0, "Total": amount(total),
                "RemainingCredit": amount(remaining if remaining is not None else total),
                "CurrencyCode": currency, "CurrencyRate": 1.0, "Reference": "",
                "Allocations": [], "Payments": [], "HasAttachments": False,
                "UpdatedDateUTC": msdate(self.now()),
            }
            org.version += 1
            return note_id

    def update_note(self, tenant_id: str, note_id: str, **fields: Any) -> None:
        """Change fields (amounts as strings), bumping UpdatedDateUTC as Xero does."""
        self._update(tenant_id, self.orgs[tenant_id].notes[note_id], fields)

    def _update(self, tenant_id: str, raw: dict[str, Any], fields: dict[str, Any]) -> None:
        """Set ``fields`` on a note or an invoice: LineItems as (Description, Quantity,
        UnitAmount, LineAmount), amounts as strings written as Xero's numbers."""
        with self.lock:
            for key, value in fields.items():
                if key == "LineItems":
                    raw[key] = line_items(value)
                    continue
                raw[key] = amount(value) if key in AMOUNTS else value
            raw["UpdatedDateUTC"] = msdate(self.now())
            self.orgs[tenant_id].version += 1

    def allocate(self, tenant_id: str, note_id: str, value: str, invoice: str = "INV-0317"
                 ) -> None:
        """Apply credit to an invoice: RemainingCredit drops; at 0 the note becomes PAID."""
        with self.lock:
            raw = self.orgs[tenant_id].notes[note_id]
            left = Decimal(str(raw["RemainingCredit"])) - Decimal(value)
            raw["Allocations"].append({"AllocationID": str(uuid.uuid4()), "Amount": amount(value),
                                       "Date": msdate(self.now()),
                                       "Invoice": {"InvoiceID": str(uuid.uuid4()),
                                                   "InvoiceNumber": invoice}})
            self.update_note(tenant_id, note_id, RemainingCredit=str(left),
                             Status="PAID" if left == 0 else raw["Status"])

    def refund(self, tenant_id: str, note_id: str, value: str) -> None:
        """Refund credit to the customer (a Payment on the note): RemainingCredit drops; at 0
        the note becomes PAID."""
        with self.lock:
            raw = self.orgs[tenant_id].notes[note_id]
            left = Decimal(str(raw["RemainingCredit"])) - Decimal(value)
            raw["Payments"].append({"PaymentID": str(uuid.uuid4()), "Amount": amount(value),
                                    "Date": msdate(self.now()), "Reference": "Refund"})
            self.update_note(tenant_id, note_id, RemainingCredit=str(left),
                             Status="PAID" if left == 0 else raw["Status"])

    def add_invoice(self, tenant_id: str, *, subtotal: str = "100.00", tax: str = "0.00",
                    contact_id: str = CONTACT, contact_name: str = "Harbor Supply Co",
                    email: str | None = None, currency: str = "USD", number: str | None = None,
                    date: str = "2025-03-01", due: str | None = "2025-03-31",
                    status: str = "AUTHORISED", kind: str = "ACCREC",
                    lines: list[tuple[str, str | None, str | None, str]] | None = None) -> str:
        """An invoice (ACCREC: a sales invoice; ACCPAY: a bill) as Xero writes it; ``lines``
        as (Description, Quantity, UnitAmount, LineAmount), tax-exclusive, summing to
        ``subtotal`` (default one "Services" line of it); Total = SubTotal + TotalTax."""
        items = line_items(lines or [("Services", "1", subtotal, subtotal)])
        net = sum((Decimal(str(i["LineAmount"])) for i in items), Decimal(0))
        total = net + Decimal(tax)
        with self.lock:
            org = self.orgs[tenant_id]
            invoice_id = str(uuid.uuid4())
            day = datetime.fromisoformat(date).replace(tzinfo=UTC)
            org.next_invoice += 1
            contact: dict[str, Any] = {"ContactID": contact_id, "Name": contact_name}
            if email:
                contact["EmailAddress"] = email
            raw: dict[str, Any] = {
                "Type": kind, "InvoiceID": invoice_id,
                "InvoiceNumber": number or f"INV-{org.next_invoice:04d}", "Reference": "",
                "Contact": contact, "Date": msdate(day),
                "DateString": day.strftime("%Y-%m-%dT%H:%M:%S"), "Status": status,
                "LineAmountTypes": "Exclusive", "LineItems": items,
                "SubTotal": amount(net), "TotalTax": amount(tax), "Total": amount(total),
                "TotalDiscount": 0.0, "AmountDue": amount(total), "AmountPaid": 0.0,
                "AmountCredited": 0.0, "CurrencyCode": currency, "CurrencyRate": 1.0,
                "Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": [],
                "HasAttachments": False, "HasErrors": False,
                "UpdatedDateUTC": msdate(self.now())}
            if due:
                due_day = datetime.fromisoformat(due).replace(tzinfo=UTC)
                raw["DueDate"] = msdate(due_day)
                raw["DueDateString"] = due_day.strftime("%Y-%m-%dT%H:%M:%S")
            if tax != "0.00" and items:
                items[0]["TaxType"], items[0]["TaxAmount"] = "OUTPUT", amount(tax)
            org.invoices[invoice_id] = raw
            org.version += 1
            return invoice_id

    def update_invoice(self, tenant_id: str, invoice_id: str, **fields: Any) -> None:
        """Change fields (amounts as strings), bumping UpdatedDateUTC as Xero does."""
        self._update(tenant_id, self.orgs[tenant_id].invoices[invoice_id], fields)

    def pay_invoice(self, tenant_id: str, invoice_id: str, value: str) -> None:
        """A Payment on the invoice: AmountDue drops; at 0 the invoice becomes PAID."""
        with self.lock:
            raw = self.orgs[tenant_id].invoices[invoice_id]
            left = Decimal(str(raw["AmountDue"])) - Decimal(value)
            raw["Payments"].append({"PaymentID": str(uuid.uuid4()), "Amount": amount(value),
                                    "Date": msdate(self.now())})
            self.update_invoice(tenant_id, invoice_id, AmountDue=str(left),
                                AmountPaid=str(Decimal(str(raw["AmountPaid"])) + Decimal(value)),
                                Status="PAID" if left == 0 else raw["Status"])

    def void_invoice(self, tenant_id: str, invoice_id: str) -> None:
        """AUTHORISED (nothing paid) → VOIDED: Total kept, AmountDue 0 (the spec's example)."""
        with self.lock:
            if self.orgs[tenant_id].invoices[invoice_id]["Payments"]:
                raise ValueError("an invoice with payments can't be voided")
            self.update_invoice(tenant_id, invoice_id, Status="VOIDED", AmountDue="0")

    def delete_invoice(self, tenant_id: str, invoice_id: str) -> None:
        """A soft delete, allowed on DRAFT/SUBMITTED only (as in Xero)."""
        with self.lock:
            if self.orgs[tenant_id].invoices[invoice_id]["Status"] not in ("DRAFT", "SUBMITTED"):
                raise ValueError("only DRAFT or SUBMITTED invoices can be deleted")
            self.update_invoice(tenant_id, invoice_id, Status="DELETED")

    def void(self, tenant_id: str, note_id: str) -> None:
        """AUTHORISED → VOIDED. RemainingCredit is left as it was ([U] in the reference)."""
        self.update_note(tenant_id, note_id, Status="VOIDED")

    def delete(self, tenant_id: str, note_id: str) -> None:
        """A soft delete, allowed on DRAFT/SUBMITTED only (as in Xero)."""
        with self.lock:
            if self.orgs[tenant_id].notes[note_id]["Status"] not in ("DRAFT", "SUBMITTED"):
                raise ValueError("only DRAFT or SUBMITTED credit notes can be deleted")
            self.update_note(tenant_id, note_id, Status="DELETED")

    def malform(self, tenant_id: str, note_id: str) -> None:
        """A record the connector can't use: no contact and a non-numeric total."""
        with self.lock:
            raw = self.orgs[tenant_id].notes[note_id]
            raw.pop("Contact", None)
            raw["Total"] = "twelve"
            self.orgs[tenant_id].version += 1

    def count_call(self, tenant_id: str) -> tuple[str | None, dict[str, str]]:
        """Record an API call: (the limit exceeded or None, the X-*Limit-Remaining headers)."""
        with self.lock:
            org, now = self.orgs[tenant_id], time.monotonic()
            org.calls = [t for t in org.calls if t > now - 60]
            over = None
            if self.minute_limit is not None and len(org.calls) >= self.minute_limit:
                over = "minute"
                self.retry_after = str(max(1, int(61 - (now - org.calls[0]))))
            elif org.day_calls >= self.day_limit:
                over = "day"
            else:
                org.calls.append(now)
                org.day_calls += 1
            left = (self.minute_limit or 10_000) - len(org.calls)
            return over, {"X-MinLimit-Remaining": str(max(0, left)),
                          "X-DayLimit-Remaining": str(max(0, self.day_limit - org.day_calls)),
                          "X-AppMinLimit-Remaining": "9999"}

    # OAuth ---------------------------------------------------------------------
    def grant(self, tenant_ids: list[str], scope: str = WRITE_SCOPE) -> str:
        """The user consents to ``scope`` for ``tenant_ids``: a new auth event, connections,
        a code."""
        code, event = secrets.token_urlsafe(16), str(uuid.uuid4())
        stamp = self.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        with self.lock:
            self.codes[code], self.grants[event] = event, list(tenant_ids)
            self.scopes[event] = set(scope.split())
            for tenant in tenant_ids:
                old = self.connections.get(tenant)
                self.connections[tenant] = {
                    "id": old["id"] if old else str(uuid.uuid4()), "authEventId": event,
                    "tenantId": tenant, "tenantType": "ORGANISATION",
                    "tenantName": self.orgs[tenant].name,
                    "createdDateUtc": old["createdDateUtc"] if old else stamp,
                    "updatedDateUtc": stamp}
        return code

    def issue_tokens(self, event: str) -> dict[str, Any]:
        expires = datetime.now(UTC) + timedelta(seconds=self.access_ttl)
        access = ".".join((_b64({"alg": "RS256", "typ": "JWT"}),
                           _b64({"authentication_event_id": event, "xero_userid": "fake-user",
                                 "exp": int(expires.timestamp())}), secrets.token_urlsafe(24)))
        refresh = secrets.token_urlsafe(24)
        with self.lock:
            self.access[access] = (event, expires)
            self.refresh[refresh] = (event, None)
        return {"id_token": _b64({"sub": "fake-user"}), "access_token": access,
                "expires_in": int(self.access_ttl), "token_type": "Bearer",
                "refresh_token": refresh, "scope": " ".join(sorted(self.scopes.get(event, ())))}

    def use_refresh(self, token: str) -> str | None:
        """Rotation: the old token stays usable for the grace period, then dies."""
        with self.lock:
            found = self.refresh.get(token)
            now = datetime.now(UTC)
            if found is None or (found[1] is not None and found[1] <= now):
                return None
            if found[1] is None:
                self.refresh[token] = (found[0], now + timedelta(seconds=self.refresh_grace))
            return found[0]

    def tenants_of(self, access_token: str) -> list[str] | None:
        """The tenants a live access token may read; None when it is unknown or expired."""
        with self.lock:
            found = self.access.get(access_token)
            if found is None or found[1] <= datetime.now(UTC):
                return None
            return [t for t in self.grants.get(found[0], []) if t in self.connections]

    def may_write(self, access_token: str) -> bool:
        """The token's grant includes accounting.transactions (not only its .read)."""
        with self.lock:
            found = self.access.get(access_token)
            return found is not None and "accounting.transactions" in self.scopes.get(
                found[0], set())

    def revoke(self, tenant_id: str) -> None:
        """The organisation is disconnected: its connection and every token of its grants go."""
        with self.lock:
            self.connections.pop(tenant_id, None)
            events = {e for e, tenants in self.grants.items() if tenant_id in tenants}
            self.access = {k: v for k, v in self.access.items() if v[0] not in events}
            self.refresh = {k: v for k, v in self.refresh.items() if v[0] not in events}

    # webhooks ------------------------------------------------------------------
    def sign(self, body: bytes, key: str | None = None) -> str:
        digest = hmac.new((key or self.webhook_key).encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def webhook(self, tenant_id: str, note_ids: list[str], event_type: str = "UPDATE", *,
                kind: str = "ACCRECCREDIT") -> tuple[bytes, dict[str, str]]:
        """A signed CREDITNOTE notification: (body, headers)."""
        return self._notify(tenant_id, "CREDITNOTE", "CreditNotes", note_ids, event_type,
                            {"Type": kind, "Status": "AUTHORISED"})

    def invoice_webhook(self, tenant_id: str, invoice_ids: list[str],
                        event_type: str = "UPDATE") -> tuple[bytes, dict[str, str]]:
        """A signed INVOICE notification (bills raise them too): (body, headers). Unlike
        CREDITNOTE events these carry no ``data`` (xero-webhooks.yaml)."""
        return self._notify(tenant_id, "INVOICE", "Invoices", invoice_ids, event_type, None)

    def _notify(self, tenant_id: str, category: str, collection: str, ids: list[str],
                event_type: str, data: dict[str, str] | None) -> tuple[bytes, dict[str, str]]:
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        events = []
        for resource in ids:
            event: dict[str, Any] = {
                "resourceUrl": f"https://api.xero.com/api.xro/2.0/{collection}/{resource}",
                "resourceId": resource, "tenantId": tenant_id, "tenantType": "ORGANISATION",
                "eventCategory": category, "eventType": event_type, "eventDateUtc": when}
            if data is not None:
                event["data"] = dict(data)
            events.append(event)
        body = json.dumps({"events": events, "firstEventSequence": 1,
                           "lastEventSequence": len(events),
                           "entropy": secrets.token_hex(10).upper()}).encode()
        return body, {"x-xero-signature": self.sign(body), "content-type": "application/json"}

    def intent_to_receive(self) -> list[tuple[bytes, dict[str, str], int]]:
        """Xero's handshake: empty payloads, some signed right, some not; (body, headers,
        the status Xero expects back)."""
        out = []
        for good in (True, False, True, False):
            body = json.dumps({"events": [], "lastEventSequence": 0, "firstEventSequence": 0,
                               "entropy": secrets.token_hex(10).upper()}).encode()
            signature = self.sign(body) if good else self.sign(body, "not-the-key")
            out.append((body, {"x-xero-signature": signature,
                               "content-type": "application/json"}, 200 if good else 401))
        return out
