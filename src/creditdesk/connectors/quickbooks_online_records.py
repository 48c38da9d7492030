"""QuickBooks Online's wire format read into records: CreditMemo and Invoice objects (with
their SalesItemLineDetail lines) and the Fault envelope (accounting-apis.md section 1;
docs/research/issue13-qbo-xero.md section 1 for the Invoice)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any, TypeVar

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


# Fault envelope: {"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}} -----
def _errors(body: Any) -> list[dict[str, Any]]:
    """The errors of a Fault envelope (either case: real responses use both)."""
    if not isinstance(body, dict):
        return []
    fault = body.get("Fault") or body.get("fault") or {}
    errors = (fault.get("Error") or fault.get("error") or []) if isinstance(fault, dict) else []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def fault_message(body: Any) -> str:
    """The first error message of a Fault envelope."""
    errors = _errors(body)
    return str(errors[0].get("Message") or errors[0].get("message") or "") if errors else ""


def fault_text(body: Any) -> str:
    """Message and Detail of every error of a Fault envelope, for matching."""
    return " ".join(str(e.get(k) or "") for e in _errors(body)
                    for k in ("Message", "message", "Detail", "detail"))


def fault_code(body: Any) -> str:
    errors = _errors(body)
    return str(errors[0].get("code") or "") if errors else ""


def fault_words(body: Any) -> str:
    """What QuickBooks said, for a person: each error's Detail (the specific words, e.g.
    "Business Validation Error: …"), else its Message; distinct ones joined."""
    words: list[str] = []
    for error in _errors(body):
        text = str(error.get("Detail") or error.get("detail") or error.get("Message")
                   or error.get("message") or "").strip()
        if text and text not in words:
            words.append(text)
    return "; ".join(words)[:base.MAX_DESCRIPTION]


# lines ------------------------------------------------------------------------------------
def _sales_lines(raw_lines: list[Any]) -> list[dict[str, Any]]:
    """The SalesItemLineDetail lines, those inside a bundle (GroupLineDetail) included;
    subtotal, discount and description-only lines are not memo lines here."""
    out: list[dict[str, Any]] = []
    for line in raw_lines:
        if not isinstance(line, dict):
            raise ValueError("a Line that is not an object")
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            out.append(line)
        elif kind == "GroupLineDetail":
            inner = (line.get("GroupLineDetail") or {}).get("Line") or []
            if not isinstance(inner, list):
                raise ValueError("a GroupLineDetail whose Line is not a list")
            out.extend(_sales_lines(inner))
    return out


def parse_lines(raw: dict[str, Any], currency: str) -> tuple[RemoteLine, ...] | None:
    """Line[] → lines (None when the answer carries no Line at all). Amounts exact (M1)."""
    if "Line" not in raw:
        return None
    raw_lines = raw["Line"]
    if not isinstance(raw_lines, list):
        raise ValueError("Line is not a list")
    lines = []
    for n, line in enumerate(_sales_lines(raw_lines), start=1):
        detail = line.get("SalesItemLineDetail") or {}
        if not isinstance(detail, dict):
            raise ValueError(f"line {n}: SalesItemLineDetail is not an object")
        item = detail.get("ItemRef") if isinstance(detail.get("ItemRef"), dict) else {}
        qty = detail.get("Qty")
        lines.append(RemoteLine(
            description=base.clip(line.get("Description") or item.get("name")),
            quantity=base.quantity_text(qty) if qty is not None else None,
            unit_price_minor=base.unit_price(detail.get("UnitPrice"), currency),
            amount_minor=base.exact_minor(line.get("Amount"), currency, f"line {n} Amount")))
        if len(lines) > base.MAX_LINES:
            raise ValueError(f"more than {base.MAX_LINES} lines")
    return tuple(lines)


_R = TypeVar("_R", RemoteMemo, RemoteInvoice)


def _with_lines(record: _R, raw: dict[str, Any], entity: str) -> _R:
    try:
        return replace(record, lines=parse_lines(raw, record.currency))
    except (ValueError, TypeError, AttributeError) as exc:
        return replace(record, line_problem=f"{entity} {record.external_id} lines: {exc}")


# the parts a CreditMemo and an Invoice share (SalesTransaction) ---------------------------
def _currency(raw: dict[str, Any], default_currency: str) -> str:
    return money.check_currency((raw.get("CurrencyRef") or {}).get("value") or default_currency)


def _customer(raw: dict[str, Any]) -> tuple[str, str]:
    customer = raw.get("CustomerRef") or {}
    if not isinstance(customer, dict) or not customer.get("value"):
        raise ValueError("CustomerRef is missing")
    ext = str(customer["value"])
    return ext, str(customer.get("name") or f"QuickBooks customer {ext}")


def _date(raw: dict[str, Any], key: str) -> date | None:
    return date.fromisoformat(raw[key]) if raw.get(key) else None


def _email(raw: dict[str, Any]) -> str | None:
    return (raw.get("BillEmail") or {}).get("Address") or None


def _voided(raw: dict[str, Any], total: int) -> bool:
    """[S] A transaction voided in QuickBooks keeps its record with zero amounts and
    "Void"/"Voided" in PrivateNote (Intuit staff, QuickBooks-V3-PHP-SDK #167; the API's void
    of an invoice does the same); a status "Voided" is taken too."""
    note = str(raw.get("PrivateNote") or "")
    return raw.get("status") == "Voided" or (total == 0 and note.lower().startswith("void"))


_PROBLEMS = (ValueError, TypeError, AttributeError, money.MoneyError)


def _id_or(raw: Any, entity: str, deleted: Callable[[str], Record]) -> str | Record:
    """The record's Id, or what it is without one: a BadRecord, or a CDC tombstone."""
    ext = raw.get("Id") if isinstance(raw, dict) else None
    if not isinstance(ext, str) or not ext:
        return BadRecord(None, f"{entity} without an Id")
    return deleted(ext) if raw.get("status") == "Deleted" else ext


def _amounts(raw: dict[str, Any], default_currency: str, left_key: str, left: str
             ) -> tuple[str, int, int]:
    """(currency, TotalAmt, the amount still open under ``left_key``), each exact, the open
    amount within 0..total."""
    currency = _currency(raw, default_currency)
    total = base.exact_minor(raw.get("TotalAmt"), currency, "TotalAmt")
    still = base.exact_minor(raw.get(left_key), currency, left_key)
    if total < 0 or not 0 <= still <= total:
        raise ValueError(f"{left} {still} outside 0..total {total}")
    return currency, total, still


def _total_tax(raw: dict[str, Any], currency: str) -> int:
    """T5: the document's TxnTaxDetail.TotalTax (none: 0), never negative."""
    tax_detail = raw.get("TxnTaxDetail") or {}
    if not isinstance(tax_detail, dict):
        raise ValueError("TxnTaxDetail is not an object")
    tax = base.exact_minor(tax_detail.get("TotalTax") or 0, currency, "TotalTax")
    if tax < 0:
        raise ValueError(f"TotalTax {tax} is negative")
    return tax


def parse_memo(raw: Any, default_currency: str) -> Record:
    """One CreditMemo JSON object → RemoteMemo, Deleted, or BadRecord saying what was wrong."""
    ext = _id_or(raw, "a CreditMemo", Deleted)
    if not isinstance(ext, str):
        return ext
    try:
        remaining_key = "RemainingCredit" if "RemainingCredit" in raw else "Balance"
        currency, total, remaining = _amounts(raw, default_currency, remaining_key,
                                              "remaining credit")
        customer_id, customer_name = _customer(raw)
        memo = RemoteMemo(
            external_id=ext, number=str(raw.get("DocNumber") or ext),
            customer_external_id=customer_id, customer_name=customer_name,
            currency=currency, total_minor=total, remaining_minor=remaining,
            issue_date=_date(raw, "TxnDate"), voided=_voided(raw, total),
            customer_email=_email(raw), tax_minor=_total_tax(raw, currency))
    except _PROBLEMS as exc:
        return BadRecord(ext, f"CreditMemo {ext}: {exc}")
    return _with_lines(memo, raw, "CreditMemo")


def parse_invoice(raw: Any, default_currency: str) -> Record:
    """One Invoice JSON object → RemoteInvoice, DeletedInvoice (a CDC tombstone), or
    BadRecord saying what was wrong. ``Balance`` is what is still owed after payments and
    applied credit; ``TxnTaxDetail.TotalTax`` the tax included in ``TotalAmt``."""
    ext = _id_or(raw, "an Invoice", DeletedInvoice)
    if not isinstance(ext, str):
        return ext
    try:
        currency, total, balance = _amounts(raw, default_currency, "Balance", "balance")
        tax = _total_tax(raw, currency)
        customer_id, customer_name = _customer(raw)
        invoice = RemoteInvoice(
            external_id=ext, number=str(raw.get("DocNumber") or ext),
            customer_external_id=customer_id, customer_name=customer_name,
            currency=currency, total_minor=total, balance_minor=balance,
            issue_date=_date(raw, "TxnDate"), due_date=_date(raw, "DueDate"), tax_minor=tax,
            voided=_voided(raw, total), customer_email=_email(raw))
    except _PROBLEMS as exc:
        return BadRecord(ext, f"Invoice {ext}: {exc}")
    return _with_lines(invoice, raw, "Invoice")


# Payments: how QuickBooks records credit applied (Y14) -------------------------------------
def _links(raw: dict[str, Any], kind: str, currency: str) -> list[tuple[str, int]]:
    """The payment's lines linking a ``kind`` (CreditMemo or Invoice): (its Id, amount)."""
    out = []
    for line in raw.get("Line") or []:
        if not isinstance(line, dict):
            raise ValueError("a Line is not an object")
        for link in line.get("LinkedTxn") or []:
            if isinstance(link, dict) and link.get("TxnType") == kind:
                amount = base.exact_minor(line.get("Amount"), currency, "Line Amount")
                out.append((str(link.get("TxnId")), abs(amount)))
    return out


def payment_applications(payments: list[Any], memos: set[str], default_currency: str
                         ) -> dict[str, list[base.RemoteApplication]]:
    """Credit of ``memos`` (their Ids) applied to invoices by ``payments`` (Payment
    objects), per memo. A Payment applies credit through lines linking CreditMemos and pays
    invoices through lines linking Invoices (docs/research/issue13-qbo-xero.md section 3):
    CreditDesk's own is one of each. When one Payment links several of either, the credit
    is given to its invoices in line order, each up to its line's amount [U: QuickBooks
    doesn't say which invoice a credit went to]. The record of an application is the
    Payment's Id, with ``/<invoice Id>`` when that Payment links several invoices.
    ValueError when a Payment can't be read (nothing is reconciled from part of it)."""
    out: dict[str, list[base.RemoteApplication]] = {m: [] for m in memos}
    for raw in payments:
        if not isinstance(raw, dict) or not isinstance(raw.get("Id"), str):
            raise ValueError("a Payment without an Id")
        currency = _currency(raw, default_currency)
        credits = [(m, a) for m, a in _links(raw, "CreditMemo", currency) if m in memos]
        if not credits:
            continue
        invoices = _links(raw, "Invoice", currency)
        pairs: dict[tuple[str, str], int] = {}
        room = dict.fromkeys((inv for inv, _ in invoices), 0)
        for inv, amount in invoices:
            room[inv] += amount
        for memo, credit in credits:
            for inv in room:
                take = min(credit, room[inv])
                if take > 0:
                    pairs[memo, inv] = pairs.get((memo, inv), 0) + take
                    room[inv] -= take
                    credit -= take
        several = len(room) > 1
        for (memo, inv), amount in pairs.items():
            record = f"{raw['Id']}/{inv}" if several else raw["Id"]
            out[memo].append(base.RemoteApplication(record, inv, amount))
    return out
