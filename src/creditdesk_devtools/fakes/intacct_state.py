"""The fake Sage Intacct's data: the Web Services sender, companies with their users and AR
adjustments, sessions, readByQuery result sets, and queued faults."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from creditdesk_devtools.fakes.faults import FaultInjection

STAMP = "%m/%d/%Y %H:%M:%S"
# Faults a test can queue: throttle (an Intacct "try again later" error), 429/500/502/503
# (HTTP), timeout, expired_session, garbage (a non-XML body).
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
    next_no: int = 2290
    next_line_no: int = 7000


@dataclass
class ResultSet:
    company_id: str
    rows: list[dict[str, str]]
    page_size: int
    expires: datetime


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
                       lines: list[tuple[str, str]] | None = None) -> str:
        """An AR adjustment: a credit memo when ``total`` is negative, a debit memo if not.
        ``lines`` as (ENTRYDESCRIPTION, amount as Intacct signs it); default one line of the
        total."""
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
            return no

    def set_lines(self, company_id: str, record_no: str, lines: list[tuple[str, str]], *,
                  touch: bool = True) -> None:
        """ARADJUSTMENTITEM rows of an adjustment (RECORDKEY = its RECORDNO), replaced."""
        with self.lock:
            company = self.companies[company_id]
            row = company.adjustments[record_no]
            out = []
            for n, (description, value) in enumerate(lines, start=1):
                company.next_line_no += 1
                out.append({"RECORDNO": str(company.next_line_no), "RECORDKEY": record_no,
                            "LINE_NO": str(n), "ENTRYDESCRIPTION": description,
                            "AMOUNT": amount(value), "TRX_AMOUNT": amount(value),
                            "CURRENCY": row["CURRENCY"], "BASECURR": row["BASECURR"]})
            company.lines[record_no] = out
            if touch:
                self.touch(row)

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

    def delete_adjustment(self, company_id: str, record_no: str) -> bool:
        """A hard delete (Intacct's ``delete``): the adjustment and its lines are gone and
        leave no trace a readByQuery could see. False when there was no such adjustment."""
        with self.lock:
            company = self.companies[company_id]
            company.lines.pop(record_no, None)
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

    def store_result(self, company_id: str, rows: list[dict[str, str]], page_size: int) -> str:
        result_id = "7765623332" + secrets.token_hex(8)
        with self.lock:
            self.results[result_id] = ResultSet(company_id, rows, page_size, self.now()
                                                + timedelta(seconds=self.result_ttl))
        return result_id

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
