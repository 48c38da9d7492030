"""QuickBooks Desktop write-back of synced credit (Y11-Y13) in qbXML: the requests, and the
reading of QuickBooks' answers. Sources: docs/research/issue13-intacct-qbd.md §4.

* Apply: ``ReceivePaymentAddRq`` with ``TotalAmount`` 0.00 and one ``AppliedToTxnAdd`` (the
  invoice's TxnID, ``PaymentAmount`` 0.00, ``SetCredit{CreditTxnID, AppliedAmount}``), in
  the 7.0 element order (§4.1: CustomerRef, TxnDate, RefNumber, TotalAmount, Memo, then
  AppliedToTxnAdd{TxnID, PaymentAmount, SetCredit}). ``requestID`` is the application's
  write-back key; QuickBooks only echoes it (§4.5: no deduplication).
* ``RefNumber`` ("CD" + 18 characters derived from the application id; the field holds 20)
  and ``Memo`` ("CreditDesk application <id>") carry the application, so that
  ``ReceivePaymentQueryRq`` by RefNumber finds an earlier attempt (Y12, §4.5).
* A credit-only add may make no ReceivePayment at all (§4.2: a "thin" answer, status 0 and
  no ``ReceivePaymentRet``): the application is then made, with nothing to delete later.
* Remove: ``TxnDelRq`` ``TxnDelType`` ReceivePayment (§4.3). A ReceivePayment already gone
  (3120, object not found) counts as removed.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree as SafeET

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.domain import money

MEMO_PREFIX = "CreditDesk application "
NOT_FOUND = 3120  # "Object … specified in the request cannot be found" (§4.4)
WRITE_RESPONSES = ("ReceivePaymentAddRs", "ReceivePaymentQueryRs", "TxnDelRs")


def ref_number(application_id: str) -> str:
    """The ReceivePayment's RefNumber for an application: "CD" and 18 base32 characters of
    its id's SHA-256 (RefNumber holds 20 characters, an application id more)."""
    digest = hashlib.sha256(application_id.encode()).digest()
    return "CD" + base64.b32encode(digest).decode()[:18]


def payment_memo(application_id: str) -> str:
    return MEMO_PREFIX + application_id


def _amount(minor: int, currency: str) -> str:
    return money.minor_to_str(minor, currency)


def apply_request(write: base.CreditWrite, *, version: str = "13.0") -> str:
    """``ReceivePaymentAddRq`` applying the memo's credit to the invoice (§4.1)."""
    body = (f"<ReceivePaymentAddRq requestID={quoteattr(write.request_key)}><ReceivePaymentAdd>"
            f"<CustomerRef><ListID>{escape(write.customer_external_id)}</ListID></CustomerRef>"
            f"<TxnDate>{write.on.isoformat()}</TxnDate>"
            f"<RefNumber>{ref_number(write.application_id)}</RefNumber>"
            f"<TotalAmount>{_amount(0, write.currency)}</TotalAmount>"
            f"<Memo>{escape(payment_memo(write.application_id))}</Memo>"
            f"<AppliedToTxnAdd><TxnID>{escape(write.invoice_external_id)}</TxnID>"
            f"<PaymentAmount>{_amount(0, write.currency)}</PaymentAmount>"
            f"<SetCredit><CreditTxnID>{escape(write.memo_external_id)}</CreditTxnID>"
            f"<AppliedAmount>{_amount(write.amount_minor, write.currency)}</AppliedAmount>"
            f"</SetCredit></AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>")
    return qbd.envelope(version, body)


def find_request(write: base.CreditWrite, *, version: str = "13.0") -> str:
    """``ReceivePaymentQueryRq`` by the application's RefNumber (the Y12 read before a
    resend)."""
    request_id = quoteattr("find-" + write.request_key)
    return qbd.envelope(version, f"<ReceivePaymentQueryRq requestID={request_id}>"
                                 f"<RefNumber>{ref_number(write.application_id)}</RefNumber>"
                                 f"</ReceivePaymentQueryRq>")


def remove_request(external_id: str, request_key: str, *, version: str = "13.0") -> str:
    """``TxnDelRq`` deleting the ReceivePayment the write-back made (§4.3)."""
    return qbd.envelope(version, f"<TxnDelRq requestID={quoteattr('del-' + request_key)}>"
                                 f"<TxnDelType>ReceivePayment</TxnDelType>"
                                 f"<TxnID>{escape(external_id)}</TxnID></TxnDelRq>")


@dataclass
class WriteAnswer:
    """One ``ReceivePaymentAddRs`` / ``ReceivePaymentQueryRs`` / ``TxnDelRs``."""

    kind: str
    status_code: int
    severity: str
    message: str
    # (TxnID, RefNumber, Memo) of each ReceivePaymentRet; TxnDelRs: its TxnID
    payments: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Done as asked: status 0 (or a Warn that still carried the record); a query's
        "no match" (1) is an answer too."""
        return self.status_code in (0, 1) or (self.severity.lower() == "warn"
                                              and bool(self.payments))

    def words(self) -> str:
        """QuickBooks' own words for a refusal (Y12)."""
        return self.message or f"QuickBooks refused it (status {self.status_code})"

    def made_for(self, application_id: str) -> str | None:
        """The TxnID of a ReceivePayment an earlier attempt of this application made: its
        RefNumber and its Memo both name it."""
        ref, memo = ref_number(application_id), payment_memo(application_id)
        for txn, got_ref, got_memo in self.payments:
            if got_ref == ref and (got_memo or "").strip() == memo:
                return txn
        return None


def _text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    value = found.text.strip() if found is not None and found.text else None
    return value or None


def parse_answer(text: object) -> WriteAnswer:
    """The first write-back response in a qbXML document."""
    if not isinstance(text, str) or not text.strip():
        raise qbd.MalformedResponse("the response is empty")
    try:
        root = SafeET.fromstring(text.strip())
    except Exception as exc:  # ParseError, DefusedXmlException, encoding errors
        raise qbd.MalformedResponse(f"the response is not well-formed qbXML ({exc})") from None
    msgs = root.find("QBXMLMsgsRs") if root.tag == "QBXML" else None
    rs = next(iter(msgs), None) if msgs is not None else None
    if rs is None or rs.tag not in WRITE_RESPONSES:
        raise qbd.MalformedResponse("the response holds no ReceivePaymentAddRs, "
                                    "ReceivePaymentQueryRs or TxnDelRs")
    try:
        code = int(rs.get("statusCode", ""))
    except ValueError:
        raise qbd.MalformedResponse("the response has no numeric statusCode") from None
    out = WriteAnswer(rs.tag, code, rs.get("statusSeverity") or "Info",
                      rs.get("statusMessage") or "")
    for ret in rs.findall("ReceivePaymentRet"):
        txn = _text(ret, "TxnID")
        if txn:
            out.payments.append((txn, _text(ret, "RefNumber"), _text(ret, "Memo")))
    if rs.tag == "TxnDelRs" and _text(rs, "TxnID"):
        out.payments.append((_text(rs, "TxnID") or "", _text(rs, "RefNumber"), None))
    return out
