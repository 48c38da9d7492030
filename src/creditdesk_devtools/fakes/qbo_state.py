"""The fake QuickBooks Online's data: companies, their credit memos, invoices and Payments
(applications of credit, qbo_payments.py), tokens and queued faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from creditdesk_devtools.fakes.faults import FaultInjection

PACIFIC = timezone(timedelta(hours=-8))  # QBO writes times with the company's offset
# Faults a test can queue: 429, 500, 503, timeout, expired_token (the access token dies
# early), revoked (the app is disconnected). A timeout of a read stalls before answering; of
# a write (a Payment) after making it: the change is made but the answer lost.
FAULTS = ("429", "500", "503", "timeout", "expired_token", "revoked")
# The CloudEvents ``type`` verb of a classic webhook operation: qbo.<entity>.<verb>.v1 (seen:
# created, updated, deleted, merged, emailed; "voided" is [U]).
VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Merge": "merged",
         "Void": "voided", "Emailed": "emailed"}


@dataclass
class Company:
    realm_id: str
    name: str
    country: str
    memos: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[tuple[str, datetime]] = field(default_factory=list)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_invoices: list[tuple[str, datetime]] = field(default_factory=list)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_payments: list[tuple[str, datetime]] = field(default_factory=list)
    next_id: int = 100
    # Bumped by every change to the records (change them through FakeQboState's methods; a
    # record added or removed directly is seen too): queries page through a sorted listing
    # kept per entity and version (fakes/qbo.py ``_listing``).
    version: int = 0
    listing: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    # requestid → (HTTP status, body) of the write that first used it: a repeat gets it again
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    # The books' closing date (YYYY-MM-DD): no Payment dated on or before it is made or
    # deleted. ``refusal``: (Message, Detail, code) every write is refused with meanwhile
    # (e.g. a user without the permission), None to let writes through.
    closed_through: str | None = None
    refusal: tuple[str, str, str] | None = None

    def records(self, entity: str) -> dict[str, dict[str, Any]]:
        return {"CreditMemo": self.memos, "Invoice": self.invoices,
                "Payment": self.payments}[entity]

    def tombstones(self, entity: str) -> list[tuple[str, datetime]]:
        return {"CreditMemo": self.deleted, "Invoice": self.deleted_invoices,
                "Payment": self.deleted_payments}[entity]


def stamp(when: datetime) -> str:
    return when.astimezone(PACIFIC).isoformat(timespec="seconds")


def money(value: Decimal | str | int) -> float:
    """QBO writes amounts as JSON numbers (250.0); a float's repr round-trips 2-digit amounts."""
    return float(Decimal(str(value)))


def _number(value: str) -> int | float:
    """A JSON number as QBO writes it (1, 1.5, 250.0)."""
    exact = Decimal(value)
    return int(exact) if exact == exact.to_integral_value() and "." not in value \
        else float(exact)


def sales_lines(lines: list[tuple[str, str | None, str | None, str]], total: str
                ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, (description, qty, unit, amount) in enumerate(lines, start=1):
        detail: dict[str, Any] = {"ItemRef": {"value": "1", "name": "Services"},
                                  "TaxCodeRef": {"value": "NON"}}
        if qty is not None:
            detail["Qty"] = _number(qty)
        if unit is not None:
            detail["UnitPrice"] = _number(unit)
        out.append({"Id": str(n), "LineNum": n, "Description": description,
                    "Amount": money(amount), "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail})
    out.append({"Amount": money(total), "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {}})
    return out


class FakeQboState(FaultInjection):
    """Everything the fake knows. Thread-safe: uvicorn serves it from a thread pool."""

    KNOWN_FAULTS = FAULTS

    def __init__(self, *, client_id: str = "fake-qbo-client",
                 client_secret: str = "fake-qbo-secret", verifier: str = "fake-qbo-verifier",
                 access_ttl: float = 3600.0, timeout_delay: float = 2.0) -> None:
        self.client_id, self.client_secret, self.verifier = client_id, client_secret, verifier
        self.access_ttl, self.timeout_delay = access_ttl, timeout_delay
        # The person at the consent screen: None allows; an OAuth error code ("access_denied")
        # is sent back to the redirect URI instead of a code, as when they click Cancel.
        self.consent_error: str | None = None
        self.companies: dict[str, Company] = {}
        self.codes: dict[str, str] = {}
        self.access: dict[str, tuple[str, datetime]] = {}
        self.refresh: dict[str, str] = {}
        self.faults: list[str | None] = []
        self.retry_after = "1"
        self.requests: list[str] = []
        self.lock = threading.RLock()
        self.offset = timedelta(0)
        self._last = datetime.now(PACIFIC)

    # clock and data ------------------------------------------------------------
    def now(self) -> datetime:
        with self.lock:
            self._last = max(self._last, datetime.now(PACIFIC) + self.offset)
            return self._last

    def travel(self, **delta: float) -> None:
        """Move the company's clock on (``days=40``): what happens next happens then, and CDC
        measures its 30 days from there. Tokens keep real time."""
        with self.lock:
            self.offset += timedelta(**delta)

    def add_company(self, realm_id: str, name: str = "Harbor Books", country: str = "US") -> None:
        with self.lock:
            self.companies[realm_id] = Company(realm_id, name, country)

    def add_memo(self, realm_id: str, *, total: str, remaining: str | None = None,
                 customer_id: str = "58", customer_name: str = "Harbor Supply Co",
                 currency: str = "USD", doc_number: str | None = None,
                 txn_date: str = "2025-03-04",
                 lines: list[tuple[str, str | None, str | None, str]] | None = None) -> str:
        """A credit memo; ``lines`` as (description, Qty, UnitPrice, Amount) — default one
        "Credit" line of the total — written as QBO does: SalesItemLineDetail lines, then
        the SubTotalLineDetail line."""
        with self.lock:
            company = self.companies[realm_id]
            company.next_id += 1
            company.version += 1
            memo_id = str(company.next_id)
            now = self.now()
            company.memos[memo_id] = {
                "Id": memo_id, "SyncToken": "0", "domain": "QBO", "sparse": False,
                "MetaData": {"CreateTime": stamp(now), "LastUpdatedTime": stamp(now)},
                "DocNumber": doc_number or f"CM-{memo_id}", "TxnDate": txn_date,
                "CurrencyRef": {"value": currency, "name": currency},
                "CustomerRef": {"value": customer_id, "name": customer_name},
                "Line": sales_lines(lines or [("Credit", "1", total, total)], total),
                "TxnTaxDetail": {"TotalTax": 0},
                "TotalAmt": money(total), "RemainingCredit": money(remaining or total),
                "Balance": money(remaining or total),
                "PrintStatus": "NotSet", "EmailStatus": "NotSet", "ApplyTaxAfterDiscount": False,
            }
            return memo_id

    def update_memo(self, realm_id: str, memo_id: str, **fields: Any) -> None:
        """Change fields (e.g. RemainingCredit="40.00"), bumping SyncToken and LastUpdatedTime."""
        with self.lock:
            raw = self.companies[realm_id].memos[memo_id]
            for key, value in fields.items():
                if key == "Line":  # as (description, Qty, UnitPrice, Amount)
                    raw["Line"] = sales_lines(value, str(raw["TotalAmt"]))
                    continue
                raw[key] = money(value) if key in ("TotalAmt", "RemainingCredit") else value
            if "RemainingCredit" in fields:
                raw["Balance"] = raw["RemainingCredit"]
            self.touch(realm_id, raw)

    def touch(self, realm_id: str, raw: dict[str, Any]) -> None:
        """A record changed: SyncToken and LastUpdatedTime move on, queries see it."""
        with self.lock:
            self.companies[realm_id].version += 1
            raw["SyncToken"] = str(int(raw["SyncToken"]) + 1)
            raw["MetaData"]["LastUpdatedTime"] = stamp(self.now())

    def apply_credit(self, realm_id: str, memo_id: str, remaining: str) -> None:
        self.update_memo(realm_id, memo_id, RemainingCredit=remaining)

    def void_memo(self, realm_id: str, memo_id: str) -> None:
        """As the QBO UI voids: amounts zeroed and "Voided" in the private note."""
        self.update_memo(realm_id, memo_id, TotalAmt="0", RemainingCredit="0",
                         PrivateNote="Voided")

    def delete_memo(self, realm_id: str, memo_id: str) -> None:
        self.delete(realm_id, "CreditMemo", memo_id)

    def delete(self, realm_id: str, entity: str, ext: str) -> None:
        """Deleted as in QuickBooks: gone from queries and reads, a tombstone in CDC."""
        with self.lock:
            company = self.companies[realm_id]
            del company.records(entity)[ext]
            company.version += 1
            company.tombstones(entity).append((ext, self.now()))

    def malform(self, realm_id: str, memo_id: str) -> None:
        """A record the connector can't use: no customer and a non-numeric total."""
        with self.lock:
            raw = self.companies[realm_id].memos[memo_id]
            self.companies[realm_id].version += 1
            raw.pop("CustomerRef", None)
            raw["TotalAmt"] = "twelve"

    # invoices (wire format: docs/research/issue13-qbo-xero.md, QBO section 1) ----------
    def add_invoice(self, realm_id: str, *, total: str, balance: str | None = None,
                    tax: str = "0", customer_id: str = "58",
                    customer_name: str = "Harbor Supply Co", currency: str = "USD",
                    doc_number: str | None = None, txn_date: str = "2025-03-01",
                    due_date: str | None = "2025-03-31", email: str | None = None,
                    lines: list[tuple[str, str | None, str | None, str]] | None = None,
                    invoice_id: str | None = None) -> str:
        """An invoice of ``total`` (tax included) still owing ``balance`` (default: all of
        it); ``lines`` as for ``add_memo`` (default one "Services" line of total - tax);
        ``invoice_id`` to choose its Id (QuickBooks numbers each entity on its own)."""
        subtotal = Decimal(total) - Decimal(tax)
        with self.lock:
            company = self.companies[realm_id]
            if invoice_id is None:
                company.next_id += 1
                invoice_id = str(company.next_id)
            company.version += 1
            now = self.now()
            raw: dict[str, Any] = {
                "Id": invoice_id, "SyncToken": "0", "domain": "QBO", "sparse": False,
                "MetaData": {"CreateTime": stamp(now), "LastUpdatedTime": stamp(now)},
                "DocNumber": doc_number or f"INV-{invoice_id}", "TxnDate": txn_date,
                "CurrencyRef": {"value": currency, "name": currency},
                "CustomerRef": {"value": customer_id, "name": customer_name},
                "Line": sales_lines(lines or [("Services", "1", str(subtotal), str(subtotal))],
                                    str(subtotal)),
                "TxnTaxDetail": {"TotalTax": money(tax)},
                "TotalAmt": money(total), "Balance": money(balance or total),
                "Deposit": 0, "LinkedTxn": [], "AllowOnlinePayment": False,
                "PrintStatus": "NotSet", "EmailStatus": "NotSet", "ApplyTaxAfterDiscount": False,
            }
            if due_date:
                raw["DueDate"] = due_date
            if email:
                raw["BillEmail"] = {"Address": email}
            if Decimal(tax):
                raw["TxnTaxDetail"] = {
                    "TxnTaxCodeRef": {"value": "3"}, "TotalTax": money(tax),
                    "TaxLine": [{"Amount": money(tax), "DetailType": "TaxLineDetail",
                                 "TaxLineDetail": {"TaxRateRef": {"value": "4"},
                                                   "PercentBased": False,
                                                   "NetAmountTaxable": money(subtotal)}}]}
            company.invoices[invoice_id] = raw
            return invoice_id

    def update_invoice(self, realm_id: str, invoice_id: str, **fields: Any) -> None:
        """Change fields (e.g. Balance="40.00"; Line as for ``add_memo``), bumping SyncToken
        and LastUpdatedTime."""
        with self.lock:
            raw = self.companies[realm_id].invoices[invoice_id]
            for key, value in fields.items():
                if key == "Line":
                    subtotal = Decimal(str(raw["TotalAmt"])) - Decimal(
                        str(raw["TxnTaxDetail"]["TotalTax"]))
                    raw["Line"] = sales_lines(value, str(subtotal))
                    continue
                raw[key] = money(value) if key in ("TotalAmt", "Balance") else value
            self.touch(realm_id, raw)

    def void_invoice(self, realm_id: str, invoice_id: str) -> None:
        """As QuickBooks voids (UI or ``operation=void``) [S]: amounts zeroed, lines kept
        with quantity and amount 0, "Voided" in the private note, links dropped."""
        with self.lock:
            raw = self.companies[realm_id].invoices[invoice_id]
            for line in raw["Line"]:
                line["Amount"] = 0
                if "Qty" in line.get("SalesItemLineDetail", {}):
                    line["SalesItemLineDetail"]["Qty"] = 0
            raw.update(TotalAmt=0, Balance=0, Deposit=0, LinkedTxn=[], PrivateNote="Voided",
                       TxnTaxDetail={"TotalTax": 0})
            self.touch(realm_id, raw)

    def delete_invoice(self, realm_id: str, invoice_id: str) -> None:
        self.delete(realm_id, "Invoice", invoice_id)

    # OAuth ---------------------------------------------------------------------
    def grant(self, realm_id: str) -> str:
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = realm_id
        return code

    def issue_tokens(self, realm_id: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self.lock:
            self.access[access] = (realm_id, datetime.now(PACIFIC)
                                   + timedelta(seconds=self.access_ttl))
            self.refresh[refresh] = realm_id
        return {"token_type": "bearer", "access_token": access, "refresh_token": refresh,
                "expires_in": int(self.access_ttl), "x_refresh_token_expires_in": 8726400}

    def revoke(self, realm_id: str) -> None:
        with self.lock:
            self.access = {k: v for k, v in self.access.items() if v[0] != realm_id}
            self.refresh = {k: v for k, v in self.refresh.items() if v != realm_id}

    # webhooks ------------------------------------------------------------------
    def sign(self, body: bytes) -> str:
        digest = hmac.new(self.verifier.encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def webhook(self, realm_id: str, memo_ids: list[str], operation: str = "Update", *,
                cloudevents: bool = False, others: list[tuple[str, str]] = (),
                entity: str = "CreditMemo") -> tuple[bytes, dict[str, str]]:
        """A signed notification in the legacy or the CloudEvents format: (body, headers),
        of ``operation`` on the ``entity`` records ``memo_ids`` (credit memos unless told:
        "Invoice", "Payment"). ``others``: (entity, id) updates of other entities in the
        same notification."""
        kind = entity
        when = datetime.now(UTC)
        if cloudevents:
            payload: Any = [{
                "specversion": "1.0", "id": str(uuid.uuid4()), "source": "intuit.fake",
                "type": f"qbo.{kind.lower()}.{VERBS.get(operation, operation.lower())}.v1",
                "datacontenttype": "application/json",
                "time": when.isoformat().replace("+00:00", "Z"),
                "intuitentityid": memo_id, "intuitaccountid": realm_id, "data": {},
            } for memo_id in memo_ids] + [{
                "specversion": "1.0", "id": str(uuid.uuid4()), "source": "intuit.fake",
                "type": f"qbo.{entity.lower()}.updated.v1", "datacontenttype": "application/json",
                "time": when.isoformat().replace("+00:00", "Z"), "intuitentityid": other_id,
                "intuitaccountid": realm_id, "data": {}} for entity, other_id in others]
        else:
            payload = {"eventNotifications": [{"realmId": realm_id, "dataChangeEvent": {
                "entities": [{"name": kind, "id": memo_id, "operation": operation,
                              "lastUpdated": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
                             for memo_id in memo_ids] + [
                    {"name": entity, "id": other_id, "operation": "Update",
                     "lastUpdated": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
                    for entity, other_id in others]}}]}
        body = json.dumps(payload).encode()
        return body, {"intuit-signature": self.sign(body), "content-type": "application/json"}
