"""Sage Intacct write-back of applications of synced credit (Y11-Y13): an ARPYMT whose one
ARPYMTDETAIL applies an AR adjustment's credit to an AR invoice, found again by its
description, removed by reversing it.

Wire format (research issue13-intacct-qbd.md §2, developer.intacct.com "AR Payments"):
``create`` ARPYMT with PAYMENTMETHOD, CUSTOMERID, DESCRIPTION, RECEIPTDATE (mm/dd/yyyy),
CURRENCY, one of FINANCIALENTITY / UNDEPOSITEDACCOUNTNO, and ARPYMTDETAIL {RECORDKEY = the
invoice's RECORDNO, ADJUSTMENTKEY = the credit memo's RECORDNO, TRX_ADJUSTMENTAMOUNT}; no cash
(TRX_PAYMENTAMOUNT). It is sent with ``uniqueid`` true and the write's request key as the
function control id, so Intacct refuses a repeat ("A successful transaction has already been
recorded with the control id ...") instead of making a second payment. A submitted ARPYMT
can't be deleted (only drafts can); it is reversed with the legacy ``reverse_arpayment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from creditdesk.connectors import http
from creditdesk.connectors import intacct_xml as ix
from creditdesk.connectors.base import (
    CHANGED,
    CannotRemove,
    ConnectorError,
    CreditWrite,
    RemoteInvoice,
    RemoteMemo,
    Transient,
    WriteRefused,
    Written,
    invoice_key,
)
from creditdesk.connectors.intacct_records import NAME
from creditdesk.domain import money

if TYPE_CHECKING:
    from creditdesk.connectors.sage_intacct import SageIntacct

PAYMENT = "ARPYMT"
PAYMENT_METHOD = "Cash"  # what the docs' credit-only examples send; there is no "credit" method
DATE = "%m/%d/%Y"
DUPLICATE = "a successful transaction has already been recorded"  # [S] a public client's specs
CONCURRENT = "concurrent request in process"  # [S] the same client: the first is still running
GONE_STATES = {"reversed", "voided", "void", "reversal"}  # [U] a reversed payment's STATE
WHERE = "Accounts Receivable \u203a Payments"


@dataclass(frozen=True)
class PaymentAccount:
    """Where the ARPYMT posts: Intacct requires a bank account (FINANCIALENTITY), an
    undeposited funds GL account (UNDEPOSITEDACCOUNTNO) or a summary; a credit-only payment
    moves no cash, but the header still needs one. Stored with the connection's credentials
    under the same names (optional: without one, writes are refused saying so)."""

    financial_entity: str = ""
    undeposited_account: str = ""

    @classmethod
    def from_tokens(cls, tokens: dict[str, Any]) -> PaymentAccount:
        return cls(str(tokens.get("financial_entity") or "").strip(),
                   str(tokens.get("undeposited_account") or "").strip())

    def header(self) -> dict[str, object]:
        if self.financial_entity:
            return {"FINANCIALENTITY": self.financial_entity}
        if self.undeposited_account:
            return {"UNDEPOSITEDACCOUNTNO": self.undeposited_account}
        return {}


def description(write: CreditWrite) -> str:
    """The ARPYMT's DESCRIPTION, how ``find_credit`` recognises an earlier attempt."""
    return f"CreditDesk application {write.application_id}"


def send_once(client: httpx.Client, retry: http.Retry, url: str, body: bytes) -> httpx.Response:
    """POST a write (``http.send_write``: a repeat Intacct had already run is refused as a
    duplicate control id; a timeout is never resent)."""
    return http.send_write(client, retry, "POST", url, what=NAME, content=body,
                           headers={"Content-Type": "application/xml"})


def payment(write: CreditWrite, account: dict[str, object]) -> Any:
    """The ``create`` function for ``write``."""
    on = write.on.strftime(DATE)
    return ix.create(ix.record(PAYMENT, {
        **account,
        "PAYMENTMETHOD": PAYMENT_METHOD,
        "CUSTOMERID": write.customer_external_id,
        "DESCRIPTION": description(write),
        "RECEIPTDATE": on,
        "PAYMENTDATE": on,
        "CURRENCY": write.currency,
        "ARPYMTDETAILS": {"ARPYMTDETAIL": [{
            "RECORDKEY": write.invoice_external_id,
            "ADJUSTMENTKEY": write.memo_external_id,
            "TRX_ADJUSTMENTAMOUNT": money.minor_to_str(write.amount_minor, write.currency),
        }]},
    }))


def write_credit(conn: SageIntacct, write: CreditWrite) -> Written:
    """Create the ARPYMT; its RECORDNO is the external id. A repeat of a write Intacct already
    made (same control id) answers with the payment made first."""
    account = conn.payment_account.header()
    if not account:
        raise WriteRefused(f"{NAME} needs the bank account (FINANCIALENTITY) or undeposited "
                           "funds account (UNDEPOSITEDACCOUNTNO) the credit application's AR "
                           "payment posts to; add financial_entity or undeposited_account to "
                           "the connection")
    result = conn._run(payment(write, account), write_key=write.request_key)
    if result.ok:
        record_no = _record_no(result.data)
        if not record_no:
            raise Transient(f"{NAME} accepted the AR payment but named no RECORDNO; it will "
                            "be looked up")
        return read_back(conn, write, record_no)
    words = ix.describe(result.errors)
    if DUPLICATE in words.lower():
        found = find_credit(conn, write)
        if found is not None:
            return found
        raise WriteRefused(f"{words} (no AR payment for this application is left in {NAME})")
    if CONCURRENT in words.lower():
        raise Transient(f"{NAME} is still processing an earlier attempt ({words})")
    raise WriteRefused(words)


def read_back(conn: SageIntacct, write: CreditWrite, record_no: str) -> Written:
    """``Written`` with the memo and invoice as Intacct reports them now (Y11: the balances
    shown are the system's after it answered); a failed read leaves them None (the engine
    reads them itself): the payment is made either way."""
    try:
        found = [r for batch in conn.fetch_targets({
            write.memo_external_id: CHANGED, invoice_key(write.invoice_external_id): CHANGED})
            for r in batch.records]
    except ConnectorError:
        return Written(record_no)
    memo = next((r for r in found if isinstance(r, RemoteMemo)), None)
    invoice = next((r for r in found if isinstance(r, RemoteInvoice)), None)
    return Written(record_no, memo, invoice)


def find_credit(conn: SageIntacct, write: CreditWrite) -> Written | None:
    """The ARPYMT an earlier attempt made: ``query`` ARPYMT by customer and DESCRIPTION; a
    reversed one does not count."""
    for fields in _payments(conn, ix.and_(
            ix.equal_to("CUSTOMERID", write.customer_external_id),
            ix.equal_to("DESCRIPTION", description(write)))):
        if (fields.get("DESCRIPTION") == description(write)
                and fields.get("STATE", "").lower() not in GONE_STATES and fields["RECORDNO"]):
            return Written(fields["RECORDNO"])
    return None


def remove_credit(conn: SageIntacct, write: CreditWrite, external_id: str) -> None:
    """Reverse the ARPYMT today (Intacct deletes only draft payments). Already reversed or
    gone: done. Any other refusal (a closed period…) says where to reverse it by hand."""
    today = datetime.now(UTC).date()
    result = conn._run(ix.reverse_arpayment(
        external_id, today, f"CreditDesk: application {write.application_id} removed"),
        write_key=f"{write.request_key}-reverse")
    if result.ok:
        return
    words = ix.describe(result.errors)
    if DUPLICATE in words.lower():
        return  # an earlier attempt of this removal reversed it
    if CONCURRENT in words.lower():
        raise Transient(f"{NAME} is still processing an earlier attempt ({words})")
    rows = _payments(conn, ix.equal_to("RECORDNO", external_id))
    if not rows or all(r.get("STATE", "").lower() in GONE_STATES for r in rows):
        return
    raise CannotRemove(f"{NAME} refused to reverse AR payment {external_id} ({words}); reverse "
                       f"payment {external_id} in {NAME}: {WHERE}")


def _payments(conn: SageIntacct, where: Any) -> list[dict[str, str]]:
    data = conn._data(conn._run(ix.query(PAYMENT, ["RECORDNO", "STATE", "CUSTOMERID",
                                                   "DESCRIPTION"], where,
                                         order_by=["RECORDNO"], page_size=100)))
    return [{c.tag.upper(): (c.text or "").strip() for c in element} for element in data]


def _record_no(data: Any) -> str:
    """``<data listtype="objects"><arpymt><RECORDNO>5120</RECORDNO></arpymt></data>`` [S]."""
    if data is None:
        return ""
    for element in data:
        for child in element:
            if child.tag.upper() == "RECORDNO":
                return (child.text or "").strip()
    return ""
