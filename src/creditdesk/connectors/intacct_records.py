"""Sage Intacct AR adjustments (ARADJUSTMENT) as customer credit memos: the record mapping.

A credit memo is an AR adjustment with a negative total (the create rule: negative amount →
credit memo); remaining credit is minus TRX_TOTALDUE (TOTALDUE in base currency when the
transaction-currency fields are empty). Amounts are decimal strings parsed exactly (M1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypedDict, TypeVar

from creditdesk.connectors import base
from creditdesk.connectors.base import BadRecord, Record, RemoteInvoice, RemoteLine, RemoteMemo
from creditdesk.domain import money

NAME = "Sage Intacct"
STAMP = "%m/%d/%Y %H:%M:%S"  # filter and WHENMODIFIED format [S]
VOID_STATES = {"reversed", "voided", "void"}  # [U] the original of a reversal
SKIP_STATES = {"reversal", "draft"}  # [U] the reversing entry itself; not yet posted


def stamp(text: object) -> datetime | None:
    try:
        return datetime.strptime(str(text), STAMP) if text else None
    except ValueError:
        return None


def day(fields: dict[str, str], key: str) -> date | None:
    """A date field (``MM/DD/YYYY``, or ISO); empty → None, anything else → ValueError."""
    text = fields.get(key, "")
    if not text:
        return None
    for pattern in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            pass
    raise ValueError(f"{key} {text!r} is not a date")


def totals(fields: dict[str, str], default_currency: str) -> tuple[str, str, str]:
    """(currency, entered field, due field): the transaction-currency ``TRX_`` totals and
    CURRENCY when the record has them, else the base-currency totals and BASECURR."""
    trx = bool(fields.get("TRX_TOTALENTERED"))
    entered_key, due_key = (("TRX_TOTALENTERED", "TRX_TOTALDUE") if trx
                            else ("TOTALENTERED", "TOTALDUE"))
    order = ("CURRENCY", "BASECURR") if trx else ("BASECURR", "CURRENCY")
    currency = money.check_currency(next((fields[k] for k in order if fields.get(k)),
                                         default_currency))
    return currency, entered_key, due_key


def minor(fields: dict[str, str], key: str, currency: str) -> int:
    if not fields.get(key):
        raise ValueError(f"{key} is missing")
    try:
        return money.Money.parse(fields[key], currency).minor  # exact, never rounded (M1)
    except money.MoneyError as exc:
        raise ValueError(f"{key} {exc}") from None


class Party(TypedDict):
    number: str
    customer_external_id: str
    customer_name: str


def party(fields: dict[str, str], ext: str) -> Party:
    """The number and customer of an adjustment or invoice (RECORDID, else DOCNUMBER, else
    the RECORDNO); no CUSTOMERID → ValueError."""
    customer = fields.get("CUSTOMERID")
    if not customer:
        raise ValueError("CUSTOMERID is missing")
    return Party(number=fields.get("RECORDID") or fields.get("DOCNUMBER") or ext,
                 customer_external_id=customer,
                 customer_name=fields.get("CUSTOMERNAME") or f"{NAME} customer {customer}")


@dataclass(frozen=True)
class Header:
    """What every AR record read shares: its RECORDNO, whether it is void, its currency and
    which of its fields hold the total and the amount due (``totals``)."""

    ext: str
    voided: bool
    currency: str
    entered_key: str
    due_key: str


def read_record(fields: dict[str, str], what: str, default_currency: str,
                build: Callable[[Header], Record | None]) -> Record | None:
    """``build`` the record of a posted ``what`` (drafts and reversing entries are None); no
    RECORDNO, or ``build`` raising ValueError → BadRecord saying why."""
    ext = fields.get("RECORDNO")
    if not ext:
        return BadRecord(None, f"an {what} without a RECORDNO")
    state = fields.get("STATE", "").strip().lower()
    if state in SKIP_STATES:
        return None
    try:
        return build(Header(ext, state in VOID_STATES, *totals(fields, default_currency)))
    except (ValueError, money.MoneyError) as exc:
        return BadRecord(ext, f"{what} {ext}: {exc}")


def parse_adjustment(fields: dict[str, str], default_currency: str = "USD") -> Record | None:
    """One ARADJUSTMENT → RemoteMemo (credit memos: negative totals), None for what is not a
    customer credit (debit memos, drafts, reversing entries), or BadRecord saying why."""
    def build(h: Header) -> Record | None:
        entered = minor(fields, h.entered_key, h.currency)
        if entered > 0 or (entered == 0 and not h.voided):
            return None  # a debit memo (positive), or nothing to show
        total = -entered
        remaining = 0 if h.voided else -minor(fields, h.due_key, h.currency)
        if not 0 <= remaining <= total:
            raise ValueError(f"remaining credit {remaining} outside 0..total {total}")
        return RemoteMemo(
            external_id=h.ext, **party(fields, h.ext),
            currency=h.currency, total_minor=total, remaining_minor=remaining,
            issue_date=day(fields, "WHENCREATED"), voided=h.voided,
            tax_minor=None)  # T5: no tax field on the record; its tax entries, if any
    return read_record(fields, "AR adjustment", default_currency, build)


def parse_line(fields: dict[str, str], currency: str) -> RemoteLine:
    """One ARADJUSTMENTITEM of a credit memo. An adjustment line has an amount and a memo
    text, no quantity and no unit price. Like the header's, a credit memo's line amounts are
    negative [U]; they are shown as the credit they give: minus TRX_AMOUNT (transaction
    currency, as the header's TRX_ totals), or minus AMOUNT when there is no TRX_AMOUNT."""
    return RemoteLine(description=base.clip(fields.get("ENTRYDESCRIPTION")), quantity=None,
                      unit_price_minor=None, amount_minor=-line_amount(fields, currency))


def line_amount(fields: dict[str, str], currency: str) -> int:
    """A line's TRX_AMOUNT (transaction currency), else its AMOUNT, exactly (M1)."""
    key = "TRX_AMOUNT" if fields.get("TRX_AMOUNT") else "AMOUNT"
    return base.exact_minor(fields.get(key), currency, f"line {fields.get('LINE_NO')} {key}")


Head = TypeVar("Head", RemoteMemo, RemoteInvoice)


def with_lines(head: Head, rows: list[dict[str, str]],
               parse: Callable[[dict[str, str], str], RemoteLine] = parse_line,
               what: str = "AR adjustment") -> Head:
    """The memo (or invoice) with its lines; an unreadable line keeps the stored ones and is
    reported."""
    try:
        if len(rows) > base.MAX_LINES:
            raise ValueError(f"more than {base.MAX_LINES} lines")
        return replace(head, lines=tuple(parse(f, head.currency) for f in rows))
    except ValueError as exc:
        return replace(head, line_problem=f"{what} {head.number} lines: {exc}")
