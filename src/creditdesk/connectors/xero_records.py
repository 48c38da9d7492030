"""Xero's wire formats: its dates ("/Date(ms+0000)/" and ISO) and a CreditNote JSON object
→ ``RemoteMemo`` / ``Deleted`` / ``BadRecord`` (accounting-apis.md section 2.2, 2.6)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from creditdesk.connectors.base import BadRecord, Deleted, Record, RemoteMemo
from creditdesk.domain import money

CUSTOMER_CREDIT = "ACCRECCREDIT"
NOT_YET_ISSUED = {"DRAFT", "SUBMITTED"}  # not credit yet: nothing to show
VOIDED = "VOIDED"
DELETED = "DELETED"
_MSDATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")


def parse_datetime(value: object) -> datetime:
    """An aware UTC datetime from "/Date(1700000000000+0000)/" (the milliseconds are UTC; the
    offset is cosmetic) or ISO 8601 ("2019-03-05T18:59:06Z", "2019-03-05T00:00:00": UTC)."""
    text = str(value or "").strip()
    match = _MSDATE.match(text)
    if match:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match["ms"]))
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a Xero date") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_date(value: object) -> date:
    """A calendar date: Xero writes a date as midnight UTC (/Date(..+0000)/ or ISO)."""
    return parse_datetime(value).date()


def msdate(when: datetime) -> str:
    """The "/Date(ms+0000)/" form Xero writes (used by the fake and by tests)."""
    ms = int((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    return f"/Date({ms}+0000)/"


def updated_at(raw: Any) -> datetime | None:
    """The incremental cursor of one record: UpdatedDateUTC, else its newer string form."""
    if not isinstance(raw, dict):
        return None
    for key in ("UpdatedDateUTC", "UpdatedDateUTCString"):
        if raw.get(key):
            try:
                return parse_datetime(raw[key])
            except ValueError:
                continue
    return None


def _amount(raw: dict[str, Any], key: str, currency: str) -> int:
    value = raw.get(key)
    if value is None:
        raise ValueError(f"{key} is missing")
    try:
        return money.Money.parse(value, currency).minor
    except money.MoneyError as exc:
        raise ValueError(f"{key} {exc}") from None


def _issue_date(raw: dict[str, Any]) -> date | None:
    for key in ("Date", "DateString"):
        if raw.get(key):
            return parse_date(raw[key])
    return None


def parse_credit_note(raw: Any) -> Record | None:
    """One CreditNote → a record, or None for what is not a customer's issued credit
    (supplier credits, drafts awaiting approval)."""
    ext = raw.get("CreditNoteID") if isinstance(raw, dict) else None
    if not isinstance(ext, str) or not ext:
        return BadRecord(None, "a CreditNote without a CreditNoteID")
    kind, status = raw.get("Type"), str(raw.get("Status") or "").upper()
    if kind != CUSTOMER_CREDIT:
        return None if kind else BadRecord(ext, f"CreditNote {ext}: Type is missing")
    if status == DELETED:
        return Deleted(ext)  # Y4; a soft delete (only drafts can be deleted)
    if status in NOT_YET_ISSUED:
        return None
    try:
        currency = money.check_currency(raw.get("CurrencyCode") or "USD")
        total = _amount(raw, "Total", currency)
        voided = status == VOIDED
        # [U] RemainingCredit of a voided note: "no credit" whatever the field says (Y4).
        remaining = 0 if voided else _amount(raw, "RemainingCredit", currency)
        if total < 0 or not 0 <= remaining <= total:
            raise ValueError(f"remaining credit {remaining} outside 0..total {total}")
        contact = raw.get("Contact")
        if not isinstance(contact, dict) or not contact.get("ContactID"):
            raise ValueError("Contact.ContactID is missing")
        contact_id = str(contact["ContactID"])
        return RemoteMemo(
            external_id=ext, number=str(raw.get("CreditNoteNumber") or ext),
            customer_external_id=contact_id,
            customer_name=str(contact.get("Name") or f"Xero contact {contact_id}"),
            currency=currency, total_minor=total, remaining_minor=remaining,
            issue_date=_issue_date(raw), voided=voided,
            customer_email=(str(contact["EmailAddress"]) if contact.get("EmailAddress")
                            else None))
    except (ValueError, TypeError, AttributeError, money.MoneyError) as exc:
        return BadRecord(ext, f"CreditNote {raw.get('CreditNoteNumber') or ext}: {exc}")
