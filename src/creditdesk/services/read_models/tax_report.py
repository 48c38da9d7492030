"""The tax report (T4): tax charged and tax credited per rate over a period.

It reads what the journal posted to Sales Tax Payable, document by document: the stored
tax of the lines of native invoices and memos issued in the period counts on their issue
date; a document voided in the period takes its tax back on the day it was voided (as its
reversing entry does). So a closed period's figures never change, and each rate's ``net``
over a period adds up to the movement of account 2200 in the trial balance. Synced
documents post nothing here (J2): their tax is in their system's books.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors, money
from creditdesk.domain.memo import Source
from creditdesk.domain.money import Money
from creditdesk.services.common.context import Actor

MAX_DAYS = 3660  # ten years: a report is a page, not an export


@dataclass(frozen=True)
class TaxReportRate:
    tax_rate_id: str | None
    name: str
    charged: Money
    credited: Money
    net: Money  # charged - credited: what the period adds to Sales Tax Payable


@dataclass(frozen=True)
class TaxReport:
    from_: date
    to: date
    currency: str
    rates: list[TaxReportRate]


def _in(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


def _day(at: datetime | None) -> date | None:
    return at.date() if at is not None else None


def _tax_moves(rows: Iterable[Any], start: date, end: date) -> dict[str, int]:
    """Per rate: the tax of the lines of documents issued in the period, less that of
    documents voided in it."""
    out: dict[str, int] = {}
    for rate_id, tax_minor, issue_date, voided_at in rows:
        moved = (tax_minor if _in(issue_date, start, end) else 0) - (
            tax_minor if _in(_day(voided_at), start, end) else 0)
        if moved:
            out[rate_id] = out.get(rate_id, 0) + moved
    return out


def _lines_of(doc: Any, line: Any, fk: Any, partner_id: str, currency: str,
              end: date) -> Any:
    """The taxed lines of the partner's native documents issued up to ``end``."""
    return (select(line.tax_rate_id, line.tax_minor, doc.issue_date, doc.voided_at)
            .join(doc, doc.id == fk)
            .where(doc.partner_id == partner_id, doc.currency == currency,
                   doc.source == Source.NATIVE.value, doc.issued_at.is_not(None),
                   doc.issue_date <= end, line.tax_rate_id.is_not(None)))


def tax_report(db: Database, *, actor: Actor, start: date, end: date,
               currency: str = "USD") -> TaxReport:
    """T4: tax charged (invoices) and credited (memos) per rate from ``start`` to ``end``
    (both included)."""
    try:
        currency = money.check_currency(currency)
    except money.MoneyError as exc:
        raise errors.ValidationError.for_field("currency", str(exc)) from None
    if end < start:
        raise errors.ValidationError.for_field("to", "must not be before from")
    if (end - start).days > MAX_DAYS:
        raise errors.ValidationError.for_field("to", "a report covers at most ten years")
    inv, il = models.Invoice, models.InvoiceLine
    cm, ml = models.CreditMemo, models.CreditMemoLine
    tr = models.TaxRate
    with db.read() as session:
        charged = _tax_moves(session.execute(
            _lines_of(inv, il, il.invoice_id, actor.partner_id, currency, end)), start, end)
        credited = _tax_moves(session.execute(
            _lines_of(cm, ml, ml.credit_memo_id, actor.partner_id, currency, end)), start, end)
        rates = session.execute(select(tr.id, tr.name).where(tr.partner_id == actor.partner_id)
                                .order_by(func.lower(tr.name), tr.id)).all()
    return TaxReport(start, end, currency, [
        TaxReportRate(rid, name, Money(charged.get(rid, 0), currency),
                      Money(credited.get(rid, 0), currency),
                      Money(charged.get(rid, 0) - credited.get(rid, 0), currency))
        for rid, name in rates])
