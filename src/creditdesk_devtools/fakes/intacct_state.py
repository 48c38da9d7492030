"""The fake Sage Intacct's data: the Web Services sender, companies with their users, AR
adjustments, AR invoices and AR payments (ARPYMT, with the function control ids already run),
sessions, readByQuery result sets, and queued faults."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from creditdesk_devtools.fakes.faults import FaultInjection

STAMP = "%m/%d/%Y %H:%M:%S"
# Faults a test can queue: throttle (an Intacct "try again later" error), 429/500/502/503
# (HTTP), timeout (carried out, answered too late), expired_session, garbage (a non-XML body).
FAULTS = ("throttle", "429", "500", "502", "503", "timeout", "expired_session", "garbage")


def amount(value: Decimal | str | int) -> str:
    """Intacct writes amounts as plain decimals without padding ("-250", "-99.5") [U]."""
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass
class Company:
    company_id: str
    users: dict[str, str]
    adjustments: dict[str, dict[str, str]] = field(default_factory=dict)
    lines: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # by RECORDKEY
    invoices: dict[str, dict[str, str]] = field(default_factory=dict)
    invoice_lines: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    payments: dict[str, dict[str, str]] = field(default_factory=dict)
    payment_details: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # T5: tax entries (Intacct's Taxes application: VAT/GST companies), by RECORDKEY; a
    # company without it answers "Object definition … not found" for their objects
    tax_entries: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    invoice_tax_entries: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    taxes_enabled: bool = True
    control_ids: set[str] = field(default_factory=set)  # functions run with uniqueid true
    next_no: int = 2290
    next_line_no: int = 7000
    closed_through: date | None = None  # the books are closed up to this day (inclusive)

    def table(self, obj: str) -> list[dict[str, str]] | None:
        """Copies of an object's records (lines flattened), None for an object not kept."""
        tables: dict[str, Any] = {
            "ARADJUSTMENT": self.adjustments, "ARADJUSTMENTITEM": self.lines,
            "ARINVOICE": self.invoices, "ARINVOICEITEM": self.invoice_lines,
            "ARPYMT": self.payments, "ARPYMTDETAIL": self.payment_details}
        if self.taxes_enabled:
            tables |= {"ARADJUSTMENTTAXENTRY": self.tax_entries,
                       "ARINVOICETAXENTRY": self.invoice_tax_entries}
        found = tables.get(obj.upper())
        if found is None:
            return None
        return [dict(r) for v in found.values() for r in (v if isinstance(v, list) else [v])]


@dataclass
class ResultSet:
    company_id: str
    rows: list[dict[str, str]]
    page_size: int
    expires: datetime
    obj: str = "ARADJUSTMENT"


class FakeIntacctState(FaultInjection):
    """Everything the fake knows. Thread-safe: uvicorn serves it from a thread pool."""

    KNOWN_FAULTS = FAULTS

    def __init__(self, *, sender_id: str = "fake-sender", sender_password: str = "fake-sender-pw",
                 session_ttl: float = 3600.0, result_ttl: float = 1800.0,
                 timeout_delay: float = 2.0) -> None:
        self.sender_id, self.sender_password = sender_id, sender_password
        self.session_ttl, self.result_ttl = session_ttl, result_ttl
        self.timeout_delay = timeout_delay
        self.companies: dict[str, Company] = {}
        self.sessions: dict[str, tuple[str, str, datetime]] = {}
        self.results: dict[str, ResultSet] = {}
        self.faults: list[str | None] = []
        self.retry_after = "1"
        self.requests: list[str] = []
        self.lock = threading.RLock()
        self.offset = timedelta(0)

    # clock: one-second resolution, like WHENMODIFIED; tick() moves it on ---------------
    def now(self) -> datetime:
        return (datetime.now() + self.offset).replace(microsecond=0)

    def tick(self, seconds: float = 1.0) -> None:
        with self.lock:
            self.offset += timedelta(seconds=seconds)

    # data --------------------------------------------------------------------------
    def add_company(self, company_id: str, user_id: str = "api_user",
                    password: str = "api-user-pw") -> None:
        with self.lock:
            self.companies[company_id] = Company(company_id, {user_id: password})

    def add_adjustment(self, company_id: str, *, total: str = "-250.00", due: str | None = None,
                       customer_id: str = "C-0058", customer_name: str = "Harbor Supply Co",
                       currency: str = "USD", state: str | None = None,
                       record_id: str | None = None, when_created: str = "03/04/2025",
                       lines: list[tuple[str, str]] | None = None,
                       tax: list[tuple[str, str]] | None = None) -> str:
        """An AR adjustment: a credit memo when ``total`` is negative, a debit memo if not.
        ``lines`` as (ENTRYDESCRIPTION, amount as Intacct signs it); default one line of the
        total. ``tax``: its tax entries as (DETAILID, amount as Intacct signs it), inside the
        total (T5); none by default."""
        with self.lock:
            company = self.companies[company_id]
            company.next_no += 1
            no = str(company.next_no)
            due = total if due is None else due
            company.adjustments[no] = {
                "RECORDNO": no, "RECORDTYPE": "ra", "RECORDID": record_id or f"ADJ-{no}",
                "DOCNUMBER": "", "CUSTOMERID": customer_id, "CUSTOMERNAME": customer_name,
                "WHENCREATED": when_created, "DESCRIPTION": "Credit", "TOTALSELECTED": "0",
                "CURRENCY": currency, "BASECURR": currency, "STATE": state or "",
            }
            self._amounts(company.adjustments[no], total, due, state)
            self.touch(company.adjustments[no])
            self.set_lines(company_id, no, lines or [("Credit", total)], touch=False)
            company.tax_entries[no] = self._tax_rows(company, company.adjustments[no], tax)
            return no

    def _tax_rows(self, company: Company, row: dict[str, str],
                  entries: list[tuple[str, str]] | None) -> list[dict[str, str]]:
        """Tax-entry records (DETAILID, amount) of the record ``row`` (T5)."""
        out = []
        for detail, value in entries or []:
            company.next_line_no += 1
            out.append({"RECORDNO": str(company.next_line_no), "RECORDKEY": row["RECORDNO"],
                        "DETAILID": detail, "AMOUNT": amount(value),
                        "TRX_AMOUNT": amount(value)})
        return out

    def set_lines(self, company_id: str, record_no: str, lines: list[tuple[str, str]], *,
                  touch: bool = True) -> None:
        """ARADJUSTMENTITEM rows of an adjustment (RECORDKEY = its RECORDNO), replaced."""
        with self.lock:
            company = self.companies[company_id]
            company.lines[record_no] = self._line_rows(
                company, company.adjustments[record_no], lines, touch)

    def _line_rows(self, company: Company, row: dict[str, str], lines: list[tuple[str, str]],
                   touch: bool, **more: str) -> list[dict[str, str]]:
        """Line records (ENTRYDESCRIPTION, amount) of the record ``row``, numbered anew."""
        out = []
        for n, (description, value) in enumerate(lines, start=1):
            company.next_line_no += 1
            out.append({"RECORDNO": str(company.next_line_no), "RECORDKEY": row["RECORDNO"],
                        "LINE_NO": str(n), "ENTRYDESCRIPTION": description, **more,
                        "AMOUNT": amount(value), "TRX_AMOUNT": amount(value),
                        "CURRENCY": row["CURRENCY"], "BASECURR": row["BASECURR"]})
        if touch:
            self.touch(row)
        return out

    @staticmethod
    def _amounts(row: dict[str, str], total: str, due: str, state: str | None) -> None:
        t, d = Decimal(total), Decimal(due)
        for prefix in ("", "TRX_"):
            row[f"{prefix}TOTALENTERED"] = amount(t)
            row[f"{prefix}TOTALDUE"] = amount(d)
            row[f"{prefix}TOTALPAID"] = amount(t - d)
        row["STATE"] = state or ("Posted" if d == t else "Paid" if d == 0 else "Partially Paid")

    def touch(self, row: dict[str, str]) -> None:
        row["WHENMODIFIED"] = self.now().strftime(STAMP)

    def update(self, company_id: str, record_no: str, **fields: str) -> None:
        with self.lock:
            row = self.companies[company_id].adjustments[record_no]
            row.update(fields)
            self.touch(row)

    def move_due(self, row: dict[str, str], by: Decimal) -> None:
        """TOTALDUE (and TOTALPAID, STATE) of an invoice or adjustment moved by ``by``."""
        self._amounts(row, row["TRX_TOTALENTERED"], str(Decimal(row["TRX_TOTALDUE"]) + by),
                      None)
        self.touch(row)

    def apply_credit(self, company_id: str, record_no: str, due: str) -> None:
        """Part of the credit applied to an invoice: TOTALDUE moves towards zero."""
        with self.lock:
            row = self.companies[company_id].adjustments[record_no]
            self._amounts(row, row["TRX_TOTALENTERED"], due, None)
            self.touch(row)

    def reverse(self, company_id: str, record_no: str) -> str:
        """As Intacct reverses [U]: the original turns Reversed, a Reversal entry offsets it."""
        with self.lock:
            row = self.companies[company_id].adjustments[record_no]
            entered = row["TRX_TOTALENTERED"]
            self.update(company_id, record_no, STATE="Reversed")
            back = str(-Decimal(entered))
            return self.add_adjustment(company_id, total=back, customer_id=row["CUSTOMERID"],
                                       customer_name=row["CUSTOMERNAME"],
                                       currency=row["CURRENCY"], state="Reversal")

    # invoices ----------------------------------------------------------------------
    def add_invoice(self, company_id: str, *, total: str = "500.00", due: str | None = None,
                    customer_id: str = "C-0058", customer_name: str = "Harbor Supply Co",
                    currency: str = "USD", state: str | None = None,
                    record_id: str | None = None, when_created: str = "03/01/2025",
                    when_due: str = "03/31/2025",
                    lines: list[tuple[str, str]] | None = None,
                    tax: list[tuple[str, str]] | None = None) -> str:
        """An AR invoice (RECORDTYPE ri, MODULEKEY 4.AR); ``lines`` as (ENTRYDESCRIPTION,
        amount), default one line of the total; ``tax`` its tax entries (DETAILID, amount)
        as for adjustments. STATE follows the balance unless given."""
        with self.lock:
            company = self.companies[company_id]
            company.next_no += 1
            no = str(company.next_no)
            company.invoices[no] = {
                "RECORDNO": no, "RECORDTYPE": "ri", "RECORDID": record_id or f"INV-{no}",
                "DOCNUMBER": "", "CUSTOMERID": customer_id, "CUSTOMERNAME": customer_name,
                "WHENCREATED": when_created, "WHENDUE": when_due, "MODULEKEY": "4.AR",
                "TOTALSELECTED": "0", "CURRENCY": currency, "BASECURR": currency}
            self._amounts(company.invoices[no], total, total if due is None else due, state)
            self.touch(company.invoices[no])
            self.set_invoice_lines(company_id, no, lines or [("Services", total)], touch=False)
            company.invoice_tax_entries[no] = self._tax_rows(company, company.invoices[no], tax)
            return no

    def set_invoice_lines(self, company_id: str, record_no: str,
                          lines: list[tuple[str, str]], *, touch: bool = True) -> None:
        """ARINVOICEITEM rows of an invoice (RECORDKEY = its RECORDNO), replaced."""
        with self.lock:
            company = self.companies[company_id]
            company.invoice_lines[record_no] = self._line_rows(
                company, company.invoices[record_no], lines, touch, ITEMID="")

    def update_invoice(self, company_id: str, record_no: str, **fields: str) -> None:
        with self.lock:
            row = self.companies[company_id].invoices[record_no]
            row.update(fields)
            self.touch(row)

    def pay_invoice(self, company_id: str, record_no: str, due: str) -> None:
        """A payment received in Intacct: the invoice's TOTALDUE becomes ``due``."""
        with self.lock:
            row = self.companies[company_id].invoices[record_no]
            self.move_due(row, Decimal(due) - Decimal(row["TRX_TOTALDUE"]))

    def reverse_invoice(self, company_id: str, record_no: str) -> str:
        """As ``reverse`` does for adjustments [U]: the original turns Reversed, a Reversal
        entry (negative) offsets it."""
        with self.lock:
            row = self.companies[company_id].invoices[record_no]
            self.update_invoice(company_id, record_no, STATE="Reversed")
            return self.add_invoice(company_id, total=str(-Decimal(row["TRX_TOTALENTERED"])),
                                    customer_id=row["CUSTOMERID"],
                                    customer_name=row["CUSTOMERNAME"],
                                    currency=row["CURRENCY"], state="Reversal")

    def delete_invoice(self, company_id: str, record_no: str) -> bool:
        """A hard delete: the invoice and its lines leave no trace."""
        with self.lock:
            company = self.companies[company_id]
            company.invoice_lines.pop(record_no, None)
            company.invoice_tax_entries.pop(record_no, None)
            return company.invoices.pop(record_no, None) is not None

    def delete_adjustment(self, company_id: str, record_no: str) -> bool:
        """A hard delete (Intacct's ``delete``): the adjustment and its lines are gone and
        leave no trace a readByQuery could see. False when there was no such adjustment."""
        with self.lock:
            company = self.companies[company_id]
            company.lines.pop(record_no, None)
            company.tax_entries.pop(record_no, None)
            return company.adjustments.pop(record_no, None) is not None

    def malform(self, company_id: str, record_no: str) -> None:
        """A record no connector can use: no customer and a non-numeric total."""
        with self.lock:
            row = self.companies[company_id].adjustments[record_no]
            row.pop("CUSTOMERID", None)
            row["TRX_TOTALENTERED"] = "twelve"
            self.touch(row)

    # sessions and result sets --------------------------------------------------------
    def login(self, company_id: str, user_id: str, password: str) -> str | None:
        with self.lock:
            company = self.companies.get(company_id)
            if company is None or company.users.get(user_id) != password:
                return None
            session_id = secrets.token_urlsafe(30)
            self.sessions[session_id] = (company_id, user_id, self.now()
                                         + timedelta(seconds=self.session_ttl))
            return session_id

    def session(self, session_id: str) -> tuple[str, str, datetime] | None:
        with self.lock:
            found = self.sessions.get(session_id)
            if found is None or found[2] <= self.now():
                self.sessions.pop(session_id, None)
                return None
            return found

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def store_result(self, company_id: str, rows: list[dict[str, str]], page_size: int,
                     obj: str = "ARADJUSTMENT") -> str:
        result_id = "7765623332" + secrets.token_hex(8)
        with self.lock:
            self.results[result_id] = ResultSet(company_id, rows, page_size, self.now()
                                                + timedelta(seconds=self.result_ttl), obj)
        return result_id

    def result_object(self, result_id: str) -> str:
        with self.lock:
            found = self.results.get(result_id)
            return found.obj if found else "ARADJUSTMENT"

    def take_page(self, result_id: str, company_id: str) -> tuple[list[Any], int] | None:
        """The next page of a stored result set and how many remain; None if it's gone."""
        with self.lock:
            found = self.results.get(result_id)
            if found is None or found.company_id != company_id or found.expires <= self.now():
                self.results.pop(result_id, None)
                return None
            page, found.rows = found.rows[:found.page_size], found.rows[found.page_size:]
            if not found.rows:
                del self.results[result_id]
            return page, len(found.rows)
