"""QuickBooks Online write-back (Y11-Y13): an application of synced credit is a $0 Payment.

Applying credit memo M to invoice I for amount A is, as QuickBooks' own Receive Payment
screen does it, ``POST /v3/company/{realm}/payment?requestid=…`` of a Payment with
``TotalAmt`` 0 and two lines of amount A, one linking the Invoice and one the CreditMemo
(docs/research/issue13-qbo-xero.md QBO section 3: Payment schema confirmed, the $0 pattern
secondary, Breadwinner's "Applying Credit to an Invoice"). QuickBooks answers a repeated
``requestid`` with its first answer (confirmed, Intuit's "Request ID update" blog), so a
repeat of one write never makes a second Payment. The application id goes in
``PrivateNote`` so that ``find_credit`` recognises an earlier attempt. Removing it deletes
the Payment (``?operation=delete`` with its Id and SyncToken), which gives both balances
back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from creditdesk.connectors import http
from creditdesk.connectors.base import (
    CannotRemove,
    ConnectorError,
    CreditWrite,
    Record,
    RemoteInvoice,
    RemoteMemo,
    Transient,
    WriteRefused,
    Written,
)
from creditdesk.connectors.quickbooks_online_records import fault_code, fault_text, fault_words
from creditdesk.domain.money import Money

NAME = "QuickBooks Online"
PAYMENT = "Payment"
REQUEST_ID_MAX = 50  # "at most 50 characters" (Intuit's Request ID blog) [C]
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
# Where a person undoes a Payment QuickBooks won't let CreditDesk delete (Y13).
WHERE_TO_UNDO = ("undo it in QuickBooks Online: Sales \u203a All sales, show Payments, open the "
                 "$0.00 payment {payment} of {customer} dated {date} and delete it")


def marker(application_id: str) -> str:
    """What ``PrivateNote`` says, naming the application (``find_credit`` looks for it)."""
    return f"CreditDesk application {application_id}"


def request_id(request_key: str) -> str:
    """The ``requestid`` of a write: the application's key, or a digest of one longer than
    QuickBooks takes (the same key always gives the same requestid)."""
    if len(request_key) <= REQUEST_ID_MAX:
        return request_key
    return hashlib.sha256(request_key.encode()).hexdigest()[:40]


def _json(value: Any) -> str:
    """JSON with Decimal amounts written exactly as numbers (json.dumps would take floats)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    return json.dumps(value)


def payment_body(write: CreditWrite) -> bytes:
    """The $0 Payment applying ``write.amount_minor`` of the memo to the invoice."""
    for what, ext in (("credit memo", write.memo_external_id),
                      ("invoice", write.invoice_external_id),
                      ("customer", write.customer_external_id)):
        if not _ID.match(ext):
            raise WriteRefused(f"The {what} id {ext[:64]!r} is not a QuickBooks Online id")
    if write.amount_minor <= 0:
        raise WriteRefused("Only a positive amount of credit can be applied")
    amount = Money(write.amount_minor, write.currency).to_decimal()
    return _json({
        "CustomerRef": {"value": write.customer_external_id},
        "TotalAmt": 0,
        "TxnDate": write.on.isoformat(),
        "CurrencyRef": {"value": write.currency},
        "PrivateNote": marker(write.application_id),
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": write.invoice_external_id,
                                             "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": write.memo_external_id,
                                             "TxnType": "CreditMemo"}]}],
    }).encode()


def _answer(response: httpx.Response) -> Any:
    """The JSON of a write's answer; an answer with no readable body is Transient (the
    outcome is unknown: looked up before any new attempt)."""
    if response.status_code in http.RETRY_STATUSES:
        raise Transient(f"{NAME} answered HTTP {response.status_code}; gave up after "
                        "retrying, will look up whether the change was made")
    try:
        return http.json_exact(response, NAME)
    except ConnectorError as exc:
        raise Transient(str(exc)) from None


class PaymentWrites:
    """``base.CreditWriter`` of QuickBooksOnline (its mixin: same client, tokens, retries)."""

    if TYPE_CHECKING:  # what QuickBooksOnline gives it
        page_size: int

        def _request(self, method: str, path: str, params: dict[str, str], *,
                     content: bytes | None = None, write: bool = False) -> httpx.Response: ...

        def _get(self, path: str, params: dict[str, str], *, missing_ok: bool = False,
                 too_old_ok: bool = False) -> Any: ...

        def read_memo(self, memo_id: str) -> Record: ...

        def read_invoice(self, invoice_id: str) -> Record: ...

    def write_credit(self, write: CreditWrite) -> Written:
        """POST the $0 Payment once; its Id, with the memo and invoice read afterwards for
        their balances (a failed read after a made Payment leaves them None)."""
        response = self._request("POST", "payment", {"requestid": request_id(write.request_key)},
                                 content=payment_body(write), write=True)
        body = _answer(response)
        if response.status_code == 400 or fault_text(body):
            words = fault_words(body) or f"HTTP {response.status_code} without a reason"
            raise WriteRefused(f"{NAME} refused to apply the credit: {words}")
        payment = body.get(PAYMENT) if isinstance(body, dict) else None
        ext = payment.get("Id") if isinstance(payment, dict) else None
        if response.status_code != 200 or not isinstance(ext, str) or not ext:
            raise Transient(f"{NAME} answered the payment with HTTP {response.status_code} "
                            "and no Payment id; will look up whether it was made")
        memo: RemoteMemo | None = None
        invoice: RemoteInvoice | None = None
        try:  # the Payment is made: a failure to read the balances is not the write's
            read_memo, read_invoice = (self.read_memo(write.memo_external_id),
                                       self.read_invoice(write.invoice_external_id))
            memo = read_memo if isinstance(read_memo, RemoteMemo) else None
            invoice = read_invoice if isinstance(read_invoice, RemoteInvoice) else None
        except ConnectorError:
            pass
        return Written(ext, memo=memo, invoice=invoice)

    def find_credit(self, write: CreditWrite) -> Written | None:
        """The Payment an earlier attempt made: the customer's Payments (newest first, every
        page) whose PrivateNote names the application. PrivateNote can't be filtered in a
        query [U], so the customer's Payments are matched here."""
        customer = write.customer_external_id
        if not _ID.match(customer):
            raise WriteRefused(f"The customer id {customer[:64]!r} is not a QuickBooks Online id")
        named = re.compile(rf"(?<![\w-]){re.escape(marker(write.application_id))}(?![\w-])")
        for page in self.payment_pages(f"CustomerRef = '{customer}'",
                                       "MetaData.CreateTime DESC"):
            for payment in page:
                if (isinstance(payment, dict) and isinstance(payment.get("Id"), str)
                        and named.search(str(payment.get("PrivateNote") or ""))):
                    return Written(payment["Id"])
        return None

    def payment_pages(self, where: str, order: str) -> Iterator[list[Any]]:
        """Every page of ``SELECT * FROM Payment WHERE <where> ORDERBY <order>``."""
        position = 1
        while True:
            body = self._get("query", {"query": (
                f"SELECT * FROM {PAYMENT} WHERE {where} ORDERBY {order} "
                f"STARTPOSITION {position} MAXRESULTS {self.page_size}")})
            raw = (body.get("QueryResponse") or {}).get(PAYMENT) if isinstance(body, dict) \
                else None
            if not isinstance(raw, list | None):
                raise ConnectorError(f"{NAME} answered a query with a malformed QueryResponse")
            yield raw or []
            if len(raw or []) < self.page_size:
                return
            position += len(raw or [])

    def remove_credit(self, write: CreditWrite, external_id: str) -> None:
        """Delete the Payment (read first for its SyncToken; a stale one, after an edit in
        between, is read again once). Already gone is fine; a refusal is ``CannotRemove``
        saying where to undo it in QuickBooks Online."""
        if not _ID.match(external_id):
            raise CannotRemove(f"{external_id[:64]!r} is not a QuickBooks Online payment id")
        for attempt in (1, 2):
            found = self._get(f"payment/{external_id}", {}, missing_ok=True)
            payment = found.get(PAYMENT) if isinstance(found, dict) else None
            if found is None or (isinstance(payment, dict)
                                 and payment.get("status") == "Deleted"):
                return
            if not isinstance(payment, dict) or not payment.get("SyncToken"):
                raise ConnectorError(f"{NAME} answered the read of payment {external_id} "
                                     "without its SyncToken")
            response = self._request(
                "POST", "payment", {"operation": "delete"}, write=True,
                content=_json({"Id": external_id,
                               "SyncToken": str(payment["SyncToken"])}).encode())
            body = _answer(response)
            if response.status_code == 200 and not fault_text(body):
                return
            if fault_code(body) == "610":  # deleted meanwhile
                return
            if attempt == 1 and "stale" in fault_text(body).lower():
                continue
            words = fault_words(body) or f"HTTP {response.status_code}"
            customer = (payment.get("CustomerRef") or {}).get("name") or write.customer_external_id
            raise CannotRemove(f"{NAME} refused to delete payment {external_id} ({words}); "
                               + WHERE_TO_UNDO.format(payment=external_id, customer=customer,
                                                      date=payment.get("TxnDate") or write.on))
        raise AssertionError("unreachable")

