"""A fake QuickBooks Desktop company file: it answers the qbXML requests CreditDesk hands
the Web Connector the way QuickBooks does (accounting-apis.md 4.2, 4.6).

It honours ``FromModifiedDate``/``FromDeletedDate``, ``MaxReturned``, ``IncludeLineItems``
(CreditMemoLineRet elements only when asked) and iterators
(``Start``/``Continue``, ``iteratorID``, ``iteratorRemainingCount``) and deliberately
returns memos in TxnID order, not by modification time (QuickBooks promises no order).
Voided memos stay with zero amounts and a "VOID:" memo; deleted ones leave only a
``TxnDeletedRet``. Faults: a malformed record, an error ``statusCode``, an ``hresult``.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET

LOCAL = timezone(timedelta(hours=-8))  # the PC's local time, as QuickBooks reports it


@dataclass
class Memo:
    txn_id: str
    ref_number: str
    customer_id: str
    customer_name: str
    txn_date: str
    total: str
    remaining: str
    modified: datetime
    currency: str | None = None  # CurrencyRef/FullName, e.g. "Canadian Dollar"
    memo: str = ""
    raw: str | None = None  # a malformed CreditMemoRet, sent as is
    # (Desc, Quantity, Rate, Amount); None: one "Credit" line of the total
    lines: list[tuple[str, str | None, str | None, str]] | None = None


@dataclass
class FakeCompany:
    path: str = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Harbor.QBW"
    country: str = "US"
    memos: dict[str, Memo] = field(default_factory=dict)
    deleted: list[tuple[str, datetime]] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime(2025, 3, 4, 9, 0, tzinfo=LOCAL))
    iterators: dict[str, list[str]] = field(default_factory=dict)
    fail_next: tuple[int, str] | None = None  # (statusCode, statusMessage), once
    hresult_next: tuple[str, str] | None = None  # (hresult, message), once
    requests: list[str] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def add_memo(self, total: str, remaining: str | None = None, *,
                 customer_id: str = "80000058-1700000000",
                 customer_name: str = "Harbor Supply Co", ref: str | None = None,
                 currency: str | None = None,
                 lines: list[tuple[str, str | None, str | None, str]] | None = None) -> str:
        n = next(self._seq)
        txn = f"{0x1A00 + n:X}-{1741046400 + n}"
        self.memos[txn] = Memo(txn, ref or f"CM-{1000 + n}", customer_id, customer_name,
                               "2025-03-04", total, remaining if remaining is not None else total,
                               self.tick(), currency, lines=lines)
        return txn

    def add_malformed(self, raw_inner: str) -> str:
        n = next(self._seq)
        txn = f"{0x1A00 + n:X}-{1741046400 + n}"
        self.memos[txn] = Memo(txn, "", "", "", "", "0", "0", self.tick(),
                               raw=f"<CreditMemoRet><TxnID>{txn}</TxnID>{raw_inner}"
                                   f"</CreditMemoRet>")
        return txn

    def apply(self, txn: str, remaining: str) -> None:
        self.memos[txn].remaining, self.memos[txn].modified = remaining, self.tick()

    def void(self, txn: str) -> None:
        m = self.memos[txn]
        m.total, m.remaining, m.memo, m.modified = "0.00", "0.00", "VOID: " + m.memo, self.tick()

    def delete(self, txn: str) -> None:
        del self.memos[txn]
        self.deleted.append((txn, self.tick()))

    # --- answering qbXML ----------------------------------------------------------------
    def handle(self, qbxml: str) -> tuple[str, str, str]:
        """(response, hresult, message) for one request, as the Web Connector relays them."""
        self.requests.append(qbxml)
        if self.hresult_next:
            (hresult, message), self.hresult_next = self.hresult_next, None
            return "", hresult, message
        rq = SafeET.fromstring(qbxml).find("QBXMLMsgsRq")[0]  # type: ignore[index]
        rs_tag = rq.tag.replace("Rq", "Rs")
        if self.fail_next:
            (code, text), self.fail_next = self.fail_next, None
            return self._doc(f'<{rs_tag} requestID="{rq.get("requestID")}" statusCode="{code}" '
                             f'statusSeverity="Error" statusMessage="{escape(text)}"/>'), "", ""
        if rq.tag == "TxnDeletedQueryRq":
            since = _time(rq.findtext("DeletedDateRangeFilter/FromDeletedDate"))
            rows = [(t, d) for t, d in self.deleted if since is None or d >= since]
            body = "".join(f"<TxnDeletedRet><TxnDelType>CreditMemo</TxnDelType><TxnID>{t}</TxnID>"
                           f"<TimeCreated>{d.isoformat()}</TimeCreated><TimeDeleted>"
                           f"{d.isoformat()}</TimeDeleted></TxnDeletedRet>" for t, d in rows)
            return self._rs(rs_tag, rq, body, len(rows)), "", ""
        return self._memo_page(rs_tag, rq), "", ""

    def _memo_page(self, rs_tag: str, rq) -> str:  # type: ignore[no-untyped-def]
        size = int(rq.findtext("MaxReturned") or 1000)
        if rq.get("iterator") == "Continue":
            it = rq.get("iteratorID") or ""
            if it not in self.iterators:
                return self._doc(f'<{rs_tag} requestID="{rq.get("requestID")}" statusCode="3170"'
                                 f' statusSeverity="Error" statusMessage="The iterator '
                                 f'{escape(it)} is not valid or has expired."/>')
            pending = self.iterators[it]
        else:
            since = _time(rq.findtext("ModifiedDateRangeFilter/FromModifiedDate"))
            pending = sorted(t for t, m in self.memos.items()
                             if since is None or m.modified >= since)
            it = "{" + str(uuid.uuid4()) + "}"
            self.iterators[it] = pending
        page, rest = pending[:size], pending[size:]
        self.iterators[it] = rest
        with_lines = (rq.findtext("IncludeLineItems") or "").strip() == "true"
        body = "".join(self._memo_xml(self.memos[t], with_lines) for t in page
                       if t in self.memos)
        attrs = f' iteratorRemainingCount="{len(rest)}" iteratorID="{it}"' \
            if rq.get("iterator") else ""
        return self._rs(rs_tag, rq, body, len(page), attrs)

    def _rs(self, tag: str, rq, body: str, count: int, attrs: str = "") -> str:  # type: ignore[no-untyped-def]
        status = ('statusCode="0" statusSeverity="Info" statusMessage="Status OK"' if count else
                  'statusCode="1" statusSeverity="Info" statusMessage="A query request did not '
                  'find a matching object in QuickBooks"')
        return self._doc(f'<{tag} requestID="{rq.get("requestID")}" {status} retCount="{count}"'
                         f'{attrs}>{body}</{tag}>')

    @staticmethod
    def _doc(inner: str) -> str:
        return f'<?xml version="1.0" ?>\n<QBXML><QBXMLMsgsRs>{inner}</QBXMLMsgsRs></QBXML>'

    @staticmethod
    def _lines_xml(m: Memo) -> str:
        """CreditMemoLineRet elements, last in CreditMemoRet (schema order): TxnLineID,
        ItemRef, Desc, Quantity, Rate, Amount."""
        out = []
        for n, (desc, qty, rate, amount) in enumerate(m.lines or [("Credit", "1", m.total,
                                                                    m.total)], start=1):
            out.append(f"<CreditMemoLineRet><TxnLineID>{m.txn_id}-{n}</TxnLineID><ItemRef>"
                       f"<FullName>Services</FullName></ItemRef><Desc>{escape(desc)}</Desc>"
                       + (f"<Quantity>{qty}</Quantity>" if qty is not None else "")
                       + (f"<Rate>{rate}</Rate>" if rate is not None else "")
                       + f"<Amount>{amount}</Amount></CreditMemoLineRet>")
        return "".join(out)

    @classmethod
    def _memo_xml(cls, m: Memo, with_lines: bool = False) -> str:
        if m.raw is not None:
            return m.raw
        currency = (f"<CurrencyRef><FullName>{escape(m.currency)}</FullName></CurrencyRef>"
                    if m.currency else "")
        return (f"<CreditMemoRet><TxnID>{m.txn_id}</TxnID><TimeCreated>{m.modified.isoformat()}"
                f"</TimeCreated><TimeModified>{m.modified.isoformat()}</TimeModified>"
                f"<EditSequence>{int(m.modified.timestamp())}</EditSequence><CustomerRef>"
                f"<ListID>{m.customer_id}</ListID><FullName>{escape(m.customer_name)}</FullName>"
                f"</CustomerRef><TxnDate>{m.txn_date}</TxnDate><RefNumber>{escape(m.ref_number)}"
                f"</RefNumber><IsPending>false</IsPending><Subtotal>{m.total}</Subtotal>"
                f"<TotalAmount>{m.total}</TotalAmount><CreditRemaining>{m.remaining}"
                f"</CreditRemaining>{currency}<Memo>{escape(m.memo)}</Memo>"
                f"{cls._lines_xml(m) if with_lines else ''}</CreditMemoRet>")


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=LOCAL)
