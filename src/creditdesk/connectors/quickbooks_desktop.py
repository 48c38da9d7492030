"""QuickBooks Desktop qbXML (accounting-apis.md 4.1, 4.2, 4.5; docs/research/issue13-intacct-qbd.md
§3): the read requests CreditDesk hands the Web Connector, and the reading of QuickBooks'
responses into sync records (credit memos and, Y9, invoices). The write-back's qbXML is in
``quickbooks_desktop_credit``.

Here QuickBooks calls us (through the Web Connector), so there is no HTTP client: the
conversation lives in ``services.qbwc``. This module only builds and reads XML. Responses
are untrusted input, parsed with defusedxml (no DTDs, no entities, no external references).

Money is exact from the decimal strings (``TotalAmount``, ``CreditRemaining``). A memo
without ``CurrencyRef`` is in the company's home currency, which follows the edition the
Web Connector reports (``qbXMLCountry``). A voided memo stays queryable with zero amounts
(and, it is believed, a "VOID:" memo prefix) [U]: both count as voided here; so do
invoices (research §3.3: "reuse the memo rule"). An invoice's total is ``Subtotal +
SalesTaxTotal``: InvoiceRet has no ``TotalAmount`` (research §3.2); its balance due is
``BalanceRemaining``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree as SafeET

from creditdesk.connectors import base
from creditdesk.connectors.base import (
    BadRecord,
    Deleted,
    DeletedInvoice,
    Record,
    RemoteInvoice,
    RemoteLine,
    RemoteMemo,
)
from creditdesk.domain import money

PROVIDER = "quickbooks_desktop"
NAME = "QuickBooks Desktop"
QBXML_VERSION = (13, 0)
PAGE_SIZE = 100

HOME_CURRENCY = {"US": "USD", "CA": "CAD", "UK": "GBP", "GB": "GBP", "AU": "AUD"}
# CurrencyRef/FullName is QuickBooks' currency *name*; the ISO code is not in the ref.
CURRENCY_NAMES = {
    "us dollar": "USD", "canadian dollar": "CAD", "british pound sterling": "GBP",
    "british pound": "GBP", "euro": "EUR", "australian dollar": "AUD",
    "new zealand dollar": "NZD", "mexican peso": "MXN", "japanese yen": "JPY",
    "swiss franc": "CHF", "indian rupee": "INR", "hong kong dollar": "HKD",
    "singapore dollar": "SGD", "south african rand": "ZAR",
}


class MalformedResponse(ValueError):
    """The text is not a qbXML response CreditDesk can read."""


def home_currency(country: str | None) -> str:
    return HOME_CURRENCY.get((country or "US").upper(), "USD")


def version_for(major: object, minor: object) -> str:
    """The qbXML version to speak: ours (13.0), or older when QuickBooks supports only that.
    ``CreditRemaining`` needs 2.0 and ``CurrencyRef`` 8.0 [U]."""
    texts = (str(major).strip(), str(minor).strip())
    # ASCII digits only: int() also reads "٣" (3) and " -5"; anything else speaks ours
    if all(t.isascii() and t.isdigit() and len(t) <= 4 for t in texts):
        offered = (int(texts[0]), int(texts[1]))
    else:
        offered = (0, 0)
    if offered[0] < 1 or offered >= QBXML_VERSION:
        offered = QBXML_VERSION
    return f"{offered[0]}.{offered[1]}"


def envelope(version: str, body: str) -> str:
    """A qbXML request document: the version QuickBooks speaks, requests that stop at the
    first error."""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{version}"?>\n'
            f'<QBXML><QBXMLMsgsRq onError="stopOnError">{body}</QBXMLMsgsRq></QBXML>')


def deleted_query(since: str | None, *, version: str = "13.0", request_id: str = "1",
                  kinds: tuple[str, ...] = ("CreditMemo", "Invoice")) -> str:
    """Credit memos and invoices deleted since ``since``: ``TxnDelType`` repeats, so one
    request asks for both (research §3.3); TxnDeletedQuery has no iterator."""
    window = (f"<DeletedDateRangeFilter><FromDeletedDate>{escape(since)}</FromDeletedDate>"
              f"</DeletedDateRangeFilter>" if since else "")
    types = "".join(f"<TxnDelType>{k}</TxnDelType>" for k in kinds)
    return envelope(version, f"<TxnDeletedQueryRq requestID={quoteattr(request_id)}>"
                              f"{types}{window}</TxnDeletedQueryRq>")


def _modified_query(tag: str, since: str | None, iterator_id: str | None, page_size: int,
                    version: str, request_id: str) -> str:
    if iterator_id:
        attrs = f'iterator="Continue" iteratorID={quoteattr(iterator_id)}'
    else:
        attrs = 'iterator="Start"'
    window = (f"<ModifiedDateRangeFilter><FromModifiedDate>{escape(since)}</FromModifiedDate>"
              f"</ModifiedDateRangeFilter>" if since else "")
    return envelope(version, f"<{tag} requestID={quoteattr(request_id)} {attrs}>"
                              f"<MaxReturned>{int(page_size)}</MaxReturned>{window}"
                              f"<IncludeLineItems>true</IncludeLineItems>"
                              f"{_linked(tag)}</{tag}>")


def _linked(tag: str) -> str:
    """A memo's linked transactions say how its credit was applied (Y14); an invoice's are
    not needed."""
    wanted = "true" if tag == "CreditMemoQueryRq" else "false"
    return f"<IncludeLinkedTxns>{wanted}</IncludeLinkedTxns>"


def memo_query(since: str | None, *, iterator_id: str | None = None, page_size: int = PAGE_SIZE,
               version: str = "13.0", request_id: str = "2") -> str:
    """One page of credit memos modified since ``since``: ``iterator="Start"``, then
    ``Continue`` with the iterator id (the filters are fixed by the Start request)."""
    return _modified_query("CreditMemoQueryRq", since, iterator_id, page_size, version,
                           request_id)


def invoice_query(since: str | None, *, iterator_id: str | None = None,
                  page_size: int = PAGE_SIZE, version: str = "13.0",
                  request_id: str = "3") -> str:
    """One page of invoices modified since ``since``, as ``memo_query`` (research §3.1). No
    ``PaidStatus``: an invoice that became paid must still be read (Y9)."""
    return _modified_query("InvoiceQueryRq", since, iterator_id, page_size, version, request_id)


def by_ids_query(tag: str, txn_ids: list[str], *, version: str = "13.0",
                 request_id: str = "4") -> str:
    """``CreditMemoQueryRq`` or ``InvoiceQueryRq`` for exactly these TxnIDs (``TxnID`` repeats;
    the filter excludes the others): the figures after a write-back (research §4.2)."""
    if tag not in ("CreditMemoQueryRq", "InvoiceQueryRq"):
        raise ValueError(f"{tag} is not a credit memo or invoice query")
    ids = "".join(f"<TxnID>{escape(t)}</TxnID>" for t in txn_ids)
    return envelope(version, f"<{tag} requestID={quoteattr(request_id)}>{ids}"
                              f"<IncludeLineItems>true</IncludeLineItems>{_linked(tag)}</{tag}>")


@dataclass
class QbResponse:
    """One ``…QueryRs``: its status, iterator and the records it carried."""

    kind: str  # "CreditMemoQueryRs" | "InvoiceQueryRs" | "TxnDeletedQueryRs"
    status_code: int
    severity: str
    message: str
    iterator_id: str | None = None
    remaining: int = 0
    records: list[Record] = field(default_factory=list)
    high_water: str | None = None  # the latest TimeModified / TimeDeleted seen, as sent

    @property
    def failed(self) -> bool:
        """Info (0 OK, 1 no match) and Warn carry data; Error means the request failed."""
        return self.severity.lower() == "error"

    def describe(self) -> str:
        return (f"QuickBooks answered status {self.status_code} ({self.severity}): "
                f"{self.message or 'no message'}")


def parse_time(text: str | None) -> datetime | None:
    """A qbXML date-time (local, usually with an offset); None when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def later(a: str | None, b: str | None) -> str | None:
    """The later of two qbXML date-times (as sent), comparing them as instants."""
    ta, tb = parse_time(a), parse_time(b)
    if ta is None:
        return b if tb is not None else a
    if tb is None:
        return a
    try:
        return b if tb > ta else a
    except TypeError:  # one naive, one with an offset: compare the wall clocks
        return b if tb.replace(tzinfo=None) > ta.replace(tzinfo=None) else a


QUERY_RESPONSES = ("CreditMemoQueryRs", "InvoiceQueryRs", "TxnDeletedQueryRs")


def parse_response(text: object, currency: str) -> QbResponse:
    """The first query response in a qbXML document, its records read one by one (a bad
    record becomes a BadRecord; the others still land)."""
    if not isinstance(text, str) or not text.strip():
        raise MalformedResponse("the response is empty")
    try:
        root = SafeET.fromstring(text.strip())
    except Exception as exc:  # ParseError, DefusedXmlException, encoding errors
        raise MalformedResponse(f"the response is not well-formed qbXML ({exc})") from None
    msgs = root.find("QBXMLMsgsRs") if root.tag == "QBXML" else None
    rs = next(iter(msgs), None) if msgs is not None else None
    if rs is None or rs.tag not in QUERY_RESPONSES:
        raise MalformedResponse("the response holds no CreditMemoQueryRs, InvoiceQueryRs or "
                                "TxnDeletedQueryRs")
    try:
        code = int(rs.get("statusCode", ""))
    except ValueError:
        raise MalformedResponse("the response has no numeric statusCode") from None
    out = QbResponse(rs.tag, code, rs.get("statusSeverity") or "Info",
                     rs.get("statusMessage") or "", rs.get("iteratorID") or None)
    try:
        out.remaining = max(0, int(rs.get("iteratorRemainingCount") or 0))
    except ValueError:
        raise MalformedResponse("iteratorRemainingCount is not a number") from None
    if out.failed:
        return out
    for el in rs:
        if el.tag == "CreditMemoRet":
            out.records.append(parse_memo(el, currency))
            out.high_water = later(out.high_water, _text(el, "TimeModified"))
        elif el.tag == "InvoiceRet":
            if _text(el, "IsPending") != "true":  # non-posting: not owed yet (base.RemoteInvoice)
                out.records.append(parse_invoice(el, currency))
            out.high_water = later(out.high_water, _text(el, "TimeModified"))
        elif el.tag == "TxnDeletedRet":
            txn, kind = _text(el, "TxnID"), _text(el, "TxnDelType")
            if not txn:
                out.records.append(BadRecord(None, "a TxnDeletedRet without a TxnID"))
            elif kind in (None, "CreditMemo"):
                out.records.append(Deleted(txn))
            elif kind == "Invoice":
                out.records.append(DeletedInvoice(txn))
            out.high_water = later(out.high_water, _text(el, "TimeDeleted"))
    return out


def _text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    value = found.text.strip() if found is not None and found.text else None
    return value or None


def _amount(el: ET.Element, name: str, currency: str) -> int:
    return base.exact_minor(_text(el, name), currency, name)


def _currency(el: ET.Element, home: str) -> str:
    name = _text(el, "CurrencyRef/FullName")
    if name is None:
        return home
    code = CURRENCY_NAMES.get(name.lower()) or (name.upper() if len(name) == 3 else None)
    if code is None:
        raise ValueError(f"currency {name!r} is not one CreditDesk can map to an ISO code")
    return money.check_currency(code)


def parse_lines(el: ET.Element, currency: str, kind: str = "CreditMemo") -> tuple[RemoteLine, ...]:
    """``{kind}LineRet`` elements (those of a ``{kind}LineGroupRet`` included), in document
    order: Desc (else the item's name), Quantity, Rate (a RatePercent line has no unit
    price), Amount. Exact amounts (M1). ``kind``: CreditMemo or Invoice (same line shape,
    research §3.2)."""
    single, group = f"{kind}LineRet", f"{kind}LineGroupRet"
    rets = [c for c in el if c.tag in (single, group)]
    lines = []
    for ret in rets:
        for n, line in enumerate([ret] if ret.tag == single else ret.findall(single),
                                 start=len(lines) + 1):
            qty = _text(line, "Quantity")
            amount = _text(line, "Amount")
            lines.append(RemoteLine(
                description=base.clip(_text(line, "Desc") or _text(line, "ItemRef/FullName")),
                quantity=base.quantity_text(qty) if qty is not None else None,
                unit_price_minor=base.unit_price(_text(line, "Rate"), currency),
                # a description-only line (no item) carries no amount
                amount_minor=(0 if amount is None and _text(line, "ItemRef/ListID") is None
                              and _text(line, "ItemRef/FullName") is None
                              else base.exact_minor(amount, currency, f"line {n} Amount"))))
    if len(lines) > base.MAX_LINES:
        raise ValueError(f"more than {base.MAX_LINES} lines")
    return tuple(lines)


def _header(el: ET.Element, ext: str) -> dict[str, Any]:
    """What a CreditMemoRet and an InvoiceRet share: number, customer, date."""
    customer_id = _text(el, "CustomerRef/ListID")
    if customer_id is None:
        raise ValueError("CustomerRef/ListID is missing")
    raw_date = _text(el, "TxnDate")
    return {"external_id": ext, "number": _text(el, "RefNumber") or ext,
            "customer_external_id": customer_id,
            "customer_name": _text(el, "CustomerRef/FullName") or f"QuickBooks customer "
                                                                  f"{customer_id}",
            "issue_date": date.fromisoformat(raw_date) if raw_date else None}


def _voided(el: ET.Element, total: int) -> bool:
    """Zero amounts or a "VOID:" memo [U] (research §3.3: invoices as memos)."""
    return total == 0 or (_text(el, "Memo") or "").upper().startswith("VOID:")


DocumentT = TypeVar("DocumentT", RemoteMemo, RemoteInvoice)


def _parse(el: ET.Element, home: str, kind: str,
           build: Callable[[str, str], DocumentT]) -> Record:
    """One ``{kind}Ret`` → the record ``build(TxnID, currency)`` makes of it, with its lines;
    BadRecord saying what was wrong. Lines that can't be read leave the record landing with
    its stored lines (``line_problem``)."""
    ext = _text(el, "TxnID")
    if ext is None:
        return BadRecord(None, f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind}Ret without a "
                               f"TxnID")
    try:
        doc = build(ext, _currency(el, home))
    except (ValueError, TypeError, money.MoneyError) as exc:
        return BadRecord(ext, f"{kind} {ext}: {exc}")
    try:
        lines = parse_lines(el, doc.currency, kind)
        # no line at all on a document with an amount: the answer did not include them (it
        # has at least one line in QuickBooks): keep what is stored
        return replace(doc, lines=lines if lines or doc.total_minor == 0 else None)
    except (ValueError, TypeError) as exc:
        return replace(doc, line_problem=f"{kind} {doc.number} lines: {exc}")


def parse_memo(el: ET.Element, home: str) -> Record:
    """One CreditMemoRet → RemoteMemo, or BadRecord saying what was wrong."""
    def build(ext: str, currency: str) -> RemoteMemo:
        total = _amount(el, "TotalAmount", currency)
        remaining = _amount(el, "CreditRemaining", currency)
        if total < 0 or not 0 <= remaining <= total:
            raise ValueError(f"credit remaining {remaining} outside 0..total {total}")
        tax = (_amount(el, "SalesTaxTotal", currency)
               if _text(el, "SalesTaxTotal") is not None else 0)
        if not 0 <= tax <= total:
            raise ValueError(f"sales tax {tax} outside 0..total {total}")
        return RemoteMemo(**_header(el, ext), currency=currency, total_minor=total,
                          remaining_minor=remaining, voided=_voided(el, total), tax_minor=tax,
                          applications=_applications_or_none(el, currency))
    return _parse(el, home, "CreditMemo", build)


def _applications_or_none(el: ET.Element, currency: str
                          ) -> tuple[base.RemoteApplication, ...] | None:
    """The memo's applications, None when its links can't be read: the memo still lands,
    nothing is reconciled from a partial picture."""
    try:
        return linked_applications(el, currency)
    except (ValueError, TypeError, money.MoneyError):
        return None


LINK_PREFIX = "link:"  # an application QuickBooks records only as a link to the invoice


def link_id(invoice_txn_id: str) -> str:
    """The name of the memo's link to an invoice: SetCredit alone makes no transaction
    (research §4.2), so the pair is the record."""
    return LINK_PREFIX + invoice_txn_id


def linked_applications(el: ET.Element, currency: str) -> tuple[base.RemoteApplication, ...]:
    """Y14: how a CreditMemoRet's credit was applied, from its ``LinkedTxn`` entries (asked
    for with ``IncludeLinkedTxns``): a link to an Invoice is credit set on it directly
    (SetCredit alone, or in QuickBooks' Receive Payments window), named ``link:<invoice>``,
    its amounts summed; a link to a ReceivePayment is credit used by that payment, named by
    its TxnID, whose invoice the memo doesn't say (so it is only recognised, never added).
    [U] which of the two QuickBooks shows, and the sign of ``Amount`` (its size is used)."""
    per_invoice: dict[str, int] = {}
    payments: list[base.RemoteApplication] = []
    for link in el.findall("LinkedTxn"):
        txn, kind = _text(link, "TxnID"), _text(link, "TxnType")
        if txn is None:
            raise ValueError("a LinkedTxn without a TxnID")
        amount = abs(_amount(link, "Amount", currency))
        if kind == "Invoice":
            per_invoice[txn] = per_invoice.get(txn, 0) + amount
        elif kind == "ReceivePayment":
            payments.append(base.RemoteApplication(txn, "", amount))
    return tuple(base.RemoteApplication(link_id(inv), inv, amount)
                 for inv, amount in per_invoice.items()) + tuple(payments)


def parse_invoice(el: ET.Element, home: str) -> Record:
    """One InvoiceRet → RemoteInvoice (research §3.2), or BadRecord saying what was wrong."""
    def build(ext: str, currency: str) -> RemoteInvoice:
        subtotal = _amount(el, "Subtotal", currency)
        tax = (base.exact_minor(_text(el, "SalesTaxTotal"), currency, "SalesTaxTotal")
               if _text(el, "SalesTaxTotal") is not None else 0)
        total = subtotal + tax
        balance = _amount(el, "BalanceRemaining", currency)
        if total < 0 or not 0 <= balance <= total:
            raise ValueError(f"balance remaining {balance} outside 0..total {total}")
        raw_due = _text(el, "DueDate")
        return RemoteInvoice(
            **_header(el, ext), currency=currency, total_minor=total, balance_minor=balance,
            due_date=date.fromisoformat(raw_due) if raw_due else None, tax_minor=tax,
            voided=_voided(el, total))
    return _parse(el, home, "Invoice", build)


def next_from(max_seen: str | None, started: datetime, old: str | None,
              margin: timedelta = timedelta(minutes=10)) -> str | None:
    """The FromModifiedDate of the next run: the latest TimeModified seen, but never later
    than when this query started (less a margin for the PC's clock), so that a memo changed
    while the iterator was running is read again next time rather than skipped. Re-reading
    is harmless: landing is an idempotent upsert."""
    seen = parse_time(max_seen)
    if seen is None:
        return old
    bound = started - margin
    if seen.tzinfo is not None:
        bound = bound.astimezone(seen.tzinfo)
        return max_seen if seen <= bound else bound.replace(microsecond=0).isoformat()
    return max_seen if seen <= bound.replace(tzinfo=None) else \
        bound.replace(tzinfo=None, microsecond=0).isoformat()
