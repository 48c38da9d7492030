"""Sage Intacct AR adjustments (ARADJUSTMENT) as customer credit memos: the record mapping.

A credit memo is an AR adjustment with a negative total (the create rule: negative amount →
credit memo); remaining credit is minus TRX_TOTALDUE (TOTALDUE in base currency when the
transaction-currency fields are empty). Amounts are decimal strings parsed exactly (M1).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from creditdesk.connectors import base
from creditdesk.connectors.base import BadRecord, Record, RemoteLine, RemoteMemo
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


def parse_adjustment(fields: dict[str, str], default_currency: str = "USD") -> Record | None:
    """One ARADJUSTMENT → RemoteMemo (credit memos: negative totals), None for what is not a
    customer credit (debit memos, drafts, reversing entries), or BadRecord saying why."""
    ext = fields.get("RECORDNO")
    if not ext:
        return BadRecord(None, "an AR adjustment without a RECORDNO")
    state = fields.get("STATE", "").strip().lower()
    if state in SKIP_STATES:
        return None
    try:
        currency, entered_key, due_key = totals(fields, default_currency)
        entered = minor(fields, entered_key, currency)
        voided = state in VOID_STATES
        if entered > 0 or (entered == 0 and not voided):
            return None  # a debit memo (positive), or nothing to show
        total = -entered
        remaining = 0 if voided else -minor(fields, due_key, currency)
        if not 0 <= remaining <= total:
            raise ValueError(f"remaining credit {remaining} outside 0..total {total}")
        customer = fields.get("CUSTOMERID")
        if not customer:
            raise ValueError("CUSTOMERID is missing")
        return RemoteMemo(
            external_id=ext, number=fields.get("RECORDID") or fields.get("DOCNUMBER") or ext,
            customer_external_id=customer,
            customer_name=fields.get("CUSTOMERNAME") or f"{NAME} customer {customer}",
            currency=currency, total_minor=total, remaining_minor=remaining,
            issue_date=day(fields, "WHENCREATED"), voided=voided)
    except (ValueError, money.MoneyError) as exc:
        return BadRecord(ext, f"AR adjustment {ext}: {exc}")


def parse_line(fields: dict[str, str], currency: str) -> RemoteLine:
    """One ARADJUSTMENTITEM of a credit memo. An adjustment line has an amount and a memo
    text, no quantity and no unit price. Like the header's, a credit memo's line amounts are
    negative [U]; they are shown as the credit they give: minus TRX_AMOUNT (transaction
    currency, as the header's TRX_ totals), or minus AMOUNT when there is no TRX_AMOUNT."""
    key = "TRX_AMOUNT" if fields.get("TRX_AMOUNT") else "AMOUNT"
    amount = base.exact_minor(fields.get(key), currency, f"line {fields.get('LINE_NO')} {key}")
    return RemoteLine(description=base.clip(fields.get("ENTRYDESCRIPTION")), quantity=None,
                      unit_price_minor=None, amount_minor=-amount)


def with_lines(memo: RemoteMemo, rows: list[dict[str, str]]) -> RemoteMemo:
    """The memo with its lines; an unreadable line keeps the stored ones and is reported."""
    try:
        if len(rows) > base.MAX_LINES:
            raise ValueError(f"more than {base.MAX_LINES} lines")
        return replace(memo, lines=tuple(parse_line(f, memo.currency) for f in rows))
    except ValueError as exc:
        return replace(memo, line_problem=f"AR adjustment {memo.number} lines: {exc}")
