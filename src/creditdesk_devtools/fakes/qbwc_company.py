"""A fake QuickBooks Desktop company file: it answers the qbXML requests CreditDesk hands
the Web Connector the way QuickBooks does (accounting-apis.md 4.2, 4.6;
docs/research/issue13-intacct-qbd.md §3, §4).

It keeps credit memos and invoices and honours ``FromModifiedDate``/``FromDeletedDate``,
``TxnID`` filters, ``MaxReturned``, ``IncludeLineItems`` (line elements only when asked) and
iterators (``Start``/``Continue``, ``iteratorID``, ``iteratorRemainingCount``), and
deliberately returns records in TxnID order, not by modification time (QuickBooks promises
no order). Voided records stay with zero amounts and a "VOID:" memo; deleted ones leave
only a ``TxnDeletedRet`` (``TxnDelType`` filtered).

Write-backs (``receive_payments``): ``ReceivePaymentAddRq`` with ``SetCredit`` checks the
customer, the invoice (open, the customer's), the credit memo (the customer's, with credit
left) and the amount against both balances, with QuickBooks' status codes and words; it
applies the credit and makes a ReceivePayment of 0 (or, with ``thin_credit_adds``, only
links the two, answering status 0 with no ``ReceivePaymentRet``, research §4.2).
``requestID`` is echoed, never used to deduplicate (§4.5): a resend makes a second one.
``ReceivePaymentQueryRq`` by TxnID or RefNumber; ``TxnDelRq`` of a ReceivePayment gives the
credit back.

Faults: a malformed record, an error ``statusCode``, an ``hresult``, and a lost answer
(``drop_response_to``: the request is carried out, then the Web Connector's session ends
before CreditDesk receives the response).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
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
    tax: str = "0.00"  # SalesTaxTotal, included in the total


@dataclass
class Invoice:
    txn_id: str
    ref_number: str
    customer_id: str
    customer_name: str
    txn_date: str
    due_date: str | None
    subtotal: str
    tax: str
    balance: str  # BalanceRemaining
    modified: datetime
    currency: str | None = None
    memo: str = ""
    pending: bool = False  # IsPending: non-posting
    lines: list[tuple[str, str | None, str | None, str]] | None = None

    @property
    def total(self) -> Decimal:
        return Decimal(self.subtotal) + Decimal(self.tax)


@dataclass
class ReceivePayment:
    txn_id: str
    customer_id: str
    customer_name: str
    txn_date: str
    ref_number: str
    memo: str
    modified: datetime
    # (invoice TxnID, credit memo TxnID, applied amount)
    credits: list[tuple[str, str, str]] = field(default_factory=list)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass
class FakeCompany:
    path: str = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Harbor.QBW"
    country: str = "US"
    memos: dict[str, Memo] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    receive_payments: dict[str, ReceivePayment] = field(default_factory=dict)
    # credit set on invoices without a ReceivePayment: (invoice TxnID, memo TxnID, amount)
    links: list[tuple[str, str, str]] = field(default_factory=list)
    # (TxnID, TxnDelType, when)
    deleted: list[tuple[str, str, datetime]] = field(default_factory=list)
    thin_credit_adds: bool = False
    drop_response_to: str | None = None  # a request tag: carried out, its answer lost, once
    dropped: bool = False
    now: datetime = field(default_factory=lambda: datetime(2025, 3, 4, 9, 0, tzinfo=LOCAL))
    iterators: dict[str, list[str]] = field(default_factory=dict)
    fail_next: tuple[int, str] | None = None  # (statusCode, statusMessage), once
    hresult_next: tuple[str, str] | None = None  # (hresult, message), once
    requests: list[str] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def _txn_id(self) -> str:
        n = next(self._seq)
        return f"{0x1A00 + n:X}-{1741046400 + n}"

    def add_invoice(self, subtotal: str, balance: str | None = None, *, tax: str = "0.00",
                    customer_id: str = "80000058-1700000000",
                    customer_name: str = "Harbor Supply Co", ref: str | None = None,
                    currency: str | None = None, due_date: str | None = "2025-04-03",
                    pending: bool = False,
                    lines: list[tuple[str, str | None, str | None, str]] | None = None) -> str:
        txn = self._txn_id()
        total = _money(Decimal(subtotal) + Decimal(tax))
        self.invoices[txn] = Invoice(txn, ref or f"INV-{2000 + len(self.invoices)}",
                                     customer_id, customer_name, "2025-03-04", due_date,
                                     subtotal, tax, balance if balance is not None else total,
                                     self.tick(), currency, pending=pending, lines=lines)
        return txn

    def pay_invoice(self, txn: str, amount: str) -> None:
        inv = self.invoices[txn]
        inv.balance, inv.modified = _money(Decimal(inv.balance) - Decimal(amount)), self.tick()

    def void_invoice(self, txn: str) -> None:
        inv = self.invoices[txn]
        inv.subtotal, inv.tax, inv.balance = "0.00", "0.00", "0.00"
        inv.memo, inv.modified = "VOID: " + inv.memo, self.tick()

    def delete_invoice(self, txn: str) -> None:
        del self.invoices[txn]
        self.deleted.append((txn, "Invoice", self.tick()))

    def add_memo(self, total: str, remaining: str | None = None, *,
                 customer_id: str = "80000058-1700000000",
                 customer_name: str = "Harbor Supply Co", ref: str | None = None,
                 currency: str | None = None,
                 lines: list[tuple[str, str | None, str | None, str]] | None = None,
                 tax: str = "0.00") -> str:
        txn = self._txn_id()
        self.memos[txn] = Memo(txn, ref or f"CM-{1001 + len(self.memos)}", customer_id,
                               customer_name,
                               "2025-03-04", total, remaining if remaining is not None else total,
                               self.tick(), currency, lines=lines, tax=tax)
        return txn

    def add_malformed(self, raw_inner: str) -> str:
        txn = self._txn_id()
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
        self.deleted.append((txn, "CreditMemo", self.tick()))

    def link_credit(self, memo: str, invoice: str, amount: str) -> None:
        """Credit applied in QuickBooks' own Receive Payments window, credit only: a link
        between the memo and the invoice, no ReceivePayment (research §4.2)."""
        self.links.append((invoice, memo, amount))
        self._move(invoice, memo, -Decimal(amount))

    def unlink_credit(self, memo: str, invoice: str) -> None:
        """That credit taken off the invoice again in QuickBooks."""
        for link in [k for k in self.links if k[:2] == (invoice, memo)]:
            self.links.remove(link)
            self._move(invoice, memo, Decimal(link[2]))

    def _links_xml(self, memo_id: str) -> str:
        """The memo's LinkedTxn entries: its links to invoices and the ReceivePayments that
        used its credit. [U] which of the two QuickBooks shows and ``Amount``'s sign (the
        fake writes it negative, as the credit side)."""
        def entry(txn: str, kind: str, ref: str, amount: Decimal) -> str:
            return (f"<LinkedTxn><TxnID>{txn}</TxnID><TxnType>{kind}</TxnType><TxnDate>"
                    f"2025-03-04</TxnDate><RefNumber>{escape(ref)}</RefNumber><LinkType>"
                    f"AMTTYPE</LinkType><Amount>{_money(-amount)}</Amount></LinkedTxn>")
        out = [entry(inv, "Invoice", self.invoices[inv].ref_number if inv in self.invoices
                     else "", Decimal(amount))
               for inv, memo, amount in self.links if memo == memo_id]
        for p in self.receive_payments.values():
            used = sum((Decimal(a) for _, m, a in p.credits if m == memo_id), Decimal(0))
            if used:
                out.append(entry(p.txn_id, "ReceivePayment", p.ref_number, used))
        return "".join(out)

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
            return self._error(rs_tag, rq, code, text), "", ""
        if rq.tag == "TxnDeletedQueryRq":
            since = _time(rq.findtext("DeletedDateRangeFilter/FromDeletedDate"))
            kinds = {k.text for k in rq.findall("TxnDelType")}
            rows = [(t, k, d) for t, k, d in self.deleted
                    if k in kinds and (since is None or d >= since)]
            body = "".join(f"<TxnDeletedRet><TxnDelType>{k}</TxnDelType><TxnID>{t}</TxnID>"
                           f"<TimeCreated>{d.isoformat()}</TimeCreated><TimeDeleted>"
                           f"{d.isoformat()}</TimeDeleted></TxnDeletedRet>" for t, k, d in rows)
            answer = self._rs(rs_tag, rq, body, len(rows))
        elif rq.tag == "CreditMemoQueryRq":
            linked = (rq.findtext("IncludeLinkedTxns") or "").strip() == "true"
            answer = self._page(rs_tag, rq, self.memos, lambda m, with_lines: self._memo_xml(
                m, with_lines, self._links_xml(m.txn_id) if linked else ""))
        elif rq.tag == "InvoiceQueryRq":
            answer = self._page(rs_tag, rq, self.invoices, self._invoice_xml)
        elif rq.tag == "ReceivePaymentAddRq":
            answer = self._receive_payment_add(rs_tag, rq)
        elif rq.tag == "ReceivePaymentQueryRq":
            wanted_ids = {t.text for t in rq.findall("TxnID")}
            refs = {t.text for t in rq.findall("RefNumber")}
            found = [p for p in self.receive_payments.values()
                     if p.txn_id in wanted_ids or p.ref_number in refs]
            answer = self._rs(rs_tag, rq, "".join(self._payment_xml(p) for p in found),
                              len(found))
        elif rq.tag == "TxnDelRq":
            answer = self._txn_del(rs_tag, rq)
        else:
            answer = self._error(rs_tag, rq, 3250, "This feature is not enabled or not "
                                                   "available in this version of QuickBooks.")
        if self.drop_response_to == rq.tag:
            self.drop_response_to, self.dropped = None, True
        return answer, "", ""

    def _not_found(self, rs_tag: str, rq, txn: str) -> str:  # type: ignore[no-untyped-def]
        return self._error(rs_tag, rq, 3120, f'Object "{txn}" specified in the request '
                                             f'cannot be found.')

    def _error(self, rs_tag: str, rq, code: int, text: str) -> str:  # type: ignore[no-untyped-def]
        return self._doc(f'<{rs_tag} requestID="{escape(rq.get("requestID") or "")}" '
                         f'statusCode="{code}" statusSeverity="Error" '
                         f'statusMessage="{escape(text, {chr(34): "&quot;"})}"/>')

    def _page(self, rs_tag: str, rq, items, to_xml) -> str:  # type: ignore[no-untyped-def]
        with_lines = (rq.findtext("IncludeLineItems") or "").strip() == "true"
        wanted = [t.text or "" for t in rq.findall("TxnID")]
        if wanted:  # TxnID filter: no iterator; a missing one is a Warn (500), the rest come
            found = [t for t in wanted if t in items]
            body = "".join(to_xml(items[t], with_lines) for t in found)
            if len(found) == len(wanted):
                return self._rs(rs_tag, rq, body, len(found))
            missing = next(t for t in wanted if t not in items)
            return self._doc(
                f'<{rs_tag} requestID="{rq.get("requestID")}" statusCode="500" '
                f'statusSeverity="Warn" statusMessage="The query request has not been fully '
                f'completed. There was a required element (&quot;{escape(missing)}&quot;) '
                f'that could not be found in QuickBooks." retCount="{len(found)}">{body}'
                f'</{rs_tag}>')
        size = int(rq.findtext("MaxReturned") or 1000)
        if rq.get("iterator") == "Continue":
            it = rq.get("iteratorID") or ""
            if it not in self.iterators:
                return self._error(rs_tag, rq, 3170,
                                   f"The iterator {it} is not valid or has expired.")
            pending = self.iterators[it]
        else:
            since = _time(rq.findtext("ModifiedDateRangeFilter/FromModifiedDate"))
            pending = sorted(t for t, m in items.items()
                             if since is None or m.modified >= since)
            it = "{" + str(uuid.uuid4()) + "}"
            self.iterators[it] = pending
        page, rest = pending[:size], pending[size:]
        self.iterators[it] = rest
        body = "".join(to_xml(items[t], with_lines) for t in page if t in items)
        attrs = f' iteratorRemainingCount="{len(rest)}" iteratorID="{it}"' \
            if rq.get("iterator") else ""
        return self._rs(rs_tag, rq, body, len(page), attrs)

    # --- write-backs (research §4) -----------------------------------------------------
    def _receive_payment_add(self, rs_tag: str, rq) -> str:  # type: ignore[no-untyped-def]
        add = rq.find("ReceivePaymentAdd")
        customer = add.findtext("CustomerRef/ListID") or ""
        names = {m.customer_id: m.customer_name for m in self.memos.values()} | {
            i.customer_id: i.customer_name for i in self.invoices.values()}
        if customer not in names:
            return self._error(rs_tag, rq, 3140, f'There is an invalid reference to QuickBooks '
                                                 f'Customer "{customer}" in the Receive Payment. '
                                                 f'QuickBooks error message: Invalid argument. '
                                                 f'The specified record does not exist in the '
                                                 f'list.')
        credits: list[tuple[str, str, str]] = []
        for applied in add.findall("AppliedToTxnAdd"):
            inv_id = applied.findtext("TxnID") or ""
            inv = self.invoices.get(inv_id)
            # a paid invoice "cannot be found" to a ReceivePayment (research §4.1)
            if inv is None or inv.customer_id != customer or Decimal(inv.balance) <= 0:
                return self._not_found(rs_tag, rq, inv_id)
            for credit in applied.findall("SetCredit"):
                memo_id = credit.findtext("CreditTxnID") or ""
                memo = self.memos.get(memo_id)
                if memo is None or memo.customer_id != customer or Decimal(memo.remaining) <= 0:
                    return self._not_found(rs_tag, rq, memo_id)
                amount = credit.findtext("AppliedAmount") or "0"
                if Decimal(amount) > Decimal(inv.balance):
                    return self._error(rs_tag, rq, 3210, f'The "AppliedToTxnAdd payment '
                                                         f'amount" field has an invalid value '
                                                         f'"{amount}".  QuickBooks error '
                                                         f'message: You cannot pay more than '
                                                         f'the amount due.')
                if Decimal(amount) > Decimal(memo.remaining):  # [U]: the words are a guess
                    return self._error(rs_tag, rq, 3210, f'The "SetCredit AppliedAmount" '
                                                         f'field has an invalid value '
                                                         f'"{amount}".  QuickBooks error '
                                                         f'message: The credit applied is '
                                                         f'more than the credit available.')
                credits.append((inv_id, memo_id, amount))
        for inv_id, memo_id, amount in credits:
            self._move(inv_id, memo_id, -Decimal(amount))
        if self.thin_credit_adds:  # links only: no transaction, a "thin" answer (§4.2)
            self.links += credits
            return self._ok(rs_tag, rq, "")
        payment = ReceivePayment(self._txn_id(), customer, names[customer],
                                 add.findtext("TxnDate") or "2025-03-04",
                                 add.findtext("RefNumber") or "", add.findtext("Memo") or "",
                                 self.tick(), credits)
        self.receive_payments[payment.txn_id] = payment
        return self._ok(rs_tag, rq, self._payment_xml(payment))

    def _ok(self, rs_tag: str, rq, body: str) -> str:  # type: ignore[no-untyped-def]
        return self._doc(f'<{rs_tag} requestID="{escape(rq.get("requestID") or "")}" '
                         f'statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
                         f'{body}</{rs_tag}>')

    def _move(self, inv_id: str, memo_id: str, delta: Decimal) -> None:
        """Credit applied (delta < 0) or given back (delta > 0) on both transactions."""
        inv, memo = self.invoices.get(inv_id), self.memos.get(memo_id)
        if inv is not None:
            inv.balance, inv.modified = _money(Decimal(inv.balance) + delta), self.tick()
        if memo is not None:
            memo.remaining, memo.modified = _money(Decimal(memo.remaining) + delta), self.tick()

    def _txn_del(self, rs_tag: str, rq) -> str:  # type: ignore[no-untyped-def]
        kind, txn = rq.findtext("TxnDelType") or "", rq.findtext("TxnID") or ""
        payment = self.receive_payments.get(txn) if kind == "ReceivePayment" else None
        if payment is None:
            return self._not_found(rs_tag, rq, txn)
        del self.receive_payments[txn]
        for inv_id, memo_id, amount in payment.credits:
            self._move(inv_id, memo_id, Decimal(amount))
        when = self.tick()
        self.deleted.append((txn, kind, when))
        return self._ok(rs_tag, rq, f"<TxnDelType>{kind}</TxnDelType><TxnID>{txn}</TxnID>"
                                    f"<TimeDeleted>{when.isoformat()}</TimeDeleted><RefNumber>"
                                    f"{escape(payment.ref_number)}</RefNumber>")

    def _payment_xml(self, p: ReceivePayment) -> str:
        """ReceivePaymentRet in schema order (research §4.2)."""
        applied = "".join(
            f"<AppliedToTxnRet><TxnID>{inv_id}</TxnID><TxnType>Invoice</TxnType>"
            f"<RefNumber>{escape(self.invoices[inv_id].ref_number)}</RefNumber>"
            f"<BalanceRemaining>{self.invoices[inv_id].balance}</BalanceRemaining>"
            f"<Amount>0.00</Amount></AppliedToTxnRet>"
            for inv_id, _, _ in p.credits if inv_id in self.invoices)
        return (f"<ReceivePaymentRet><TxnID>{p.txn_id}</TxnID><TimeCreated>"
                f"{p.modified.isoformat()}</TimeCreated><TimeModified>{p.modified.isoformat()}"
                f"</TimeModified><EditSequence>{int(p.modified.timestamp())}</EditSequence>"
                f"<CustomerRef><ListID>{p.customer_id}</ListID><FullName>"
                f"{escape(p.customer_name)}</FullName></CustomerRef><TxnDate>{p.txn_date}"
                f"</TxnDate><RefNumber>{escape(p.ref_number)}</RefNumber><TotalAmount>0.00"
                f"</TotalAmount><Memo>{escape(p.memo)}</Memo><UnusedPayment>0.00"
                f"</UnusedPayment><UnusedCredits>0.00</UnusedCredits>{applied}"
                f"</ReceivePaymentRet>")

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
    def _lines_xml(txn_id: str, lines: list[tuple[str, str | None, str | None, str]],
                   tag: str = "CreditMemoLineRet") -> str:
        """Line elements, last in the Ret (schema order): TxnLineID, ItemRef, Desc,
        Quantity, Rate, Amount."""
        out = []
        for n, (desc, qty, rate, amount) in enumerate(lines, start=1):
            out.append(f"<{tag}><TxnLineID>{txn_id}-{n}</TxnLineID><ItemRef>"
                       f"<FullName>Services</FullName></ItemRef><Desc>{escape(desc)}</Desc>"
                       + (f"<Quantity>{qty}</Quantity>" if qty is not None else "")
                       + (f"<Rate>{rate}</Rate>" if rate is not None else "")
                       + f"<Amount>{amount}</Amount></{tag}>")
        return "".join(out)

    @classmethod
    def _invoice_xml(cls, i: Invoice, with_lines: bool = False) -> str:
        """InvoiceRet in schema order (research §3.2): no TotalAmount; AppliedAmount (the
        payments and credits, believed negative [U]), BalanceRemaining, IsPaid."""
        currency = (f"<CurrencyRef><FullName>{escape(i.currency)}</FullName></CurrencyRef>"
                    if i.currency else "")
        applied = _money(Decimal(i.balance) - i.total)
        due = f"<DueDate>{i.due_date}</DueDate>" if i.due_date else ""
        lines = cls._lines_xml(i.txn_id, i.lines or [("Services", "1", i.subtotal, i.subtotal)],
                               "InvoiceLineRet") if with_lines else ""
        return (f"<InvoiceRet><TxnID>{i.txn_id}</TxnID><TimeCreated>{i.modified.isoformat()}"
                f"</TimeCreated><TimeModified>{i.modified.isoformat()}</TimeModified>"
                f"<EditSequence>{int(i.modified.timestamp())}</EditSequence><CustomerRef>"
                f"<ListID>{i.customer_id}</ListID><FullName>{escape(i.customer_name)}</FullName>"
                f"</CustomerRef><TxnDate>{i.txn_date}</TxnDate><RefNumber>"
                f"{escape(i.ref_number)}</RefNumber><IsPending>{str(i.pending).lower()}"
                f"</IsPending>{due}<Subtotal>{i.subtotal}</Subtotal><SalesTaxPercentage>0.00"
                f"</SalesTaxPercentage><SalesTaxTotal>{i.tax}</SalesTaxTotal><AppliedAmount>"
                f"{applied}</AppliedAmount><BalanceRemaining>{i.balance}</BalanceRemaining>"
                f"<Memo>{escape(i.memo)}</Memo><IsPaid>{str(Decimal(i.balance) == 0).lower()}"
                f"</IsPaid>{currency}{lines}</InvoiceRet>")

    @classmethod
    def _memo_xml(cls, m: Memo, with_lines: bool = False, links: str = "") -> str:
        if m.raw is not None:
            return m.raw
        currency = (f"<CurrencyRef><FullName>{escape(m.currency)}</FullName></CurrencyRef>"
                    if m.currency else "")
        lines = cls._lines_xml(m.txn_id, m.lines or [("Credit", "1", m.total, m.total)]) \
            if with_lines else ""
        return (f"<CreditMemoRet><TxnID>{m.txn_id}</TxnID><TimeCreated>{m.modified.isoformat()}"
                f"</TimeCreated><TimeModified>{m.modified.isoformat()}</TimeModified>"
                f"<EditSequence>{int(m.modified.timestamp())}</EditSequence><CustomerRef>"
                f"<ListID>{m.customer_id}</ListID><FullName>{escape(m.customer_name)}</FullName>"
                f"</CustomerRef><TxnDate>{m.txn_date}</TxnDate><RefNumber>{escape(m.ref_number)}"
                f"</RefNumber><IsPending>false</IsPending><Subtotal>"
                f"{_money(Decimal(m.total) - Decimal(m.tax))}</Subtotal><SalesTaxTotal>{m.tax}"
                f"</SalesTaxTotal><TotalAmount>{m.total}</TotalAmount><CreditRemaining>{m.remaining}"
                f"</CreditRemaining>{currency}<Memo>{escape(m.memo)}</Memo>"
                f"{links}{lines}</CreditMemoRet>")


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=LOCAL)
