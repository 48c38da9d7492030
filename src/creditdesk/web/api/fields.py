"""The field types of request bodies: what each accepts, and the JSON Schema that says so.

Each type's schema states exactly the rule the server enforces (E7), so that a request the
OpenAPI document allows is not refused as invalid, and a client generated from it can check
input before sending. Only rules that depend on another field or on stored data are left
to the services: an amount's decimals depend on its currency, a line total on quantity
times price, an id on what exists.

The parsing is strict where pydantic is lax (E3): amounts are never binary floats, counts
never ``true`` or ``"2"``, and timestamps and dates are ISO 8601 strings only — pydantic
would otherwise read ``253402300800`` (or ``"253402300800"``) as Unix seconds.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from creditdesk.domain import currencies, errors, lines, memo, money, tax
from creditdesk.services.invoicing import catalog


def _whitespace_class() -> str:
    """The characters ``str.strip()`` removes, as ranges of a regex class: engines disagree
    on ``\\s`` (ECMA-262's has U+FEFF, Python's U+001C-U+001F and U+0085), so spelled out."""
    codes = [c for c in range(0x3001) if chr(c).isspace()]  # none above U+3000
    runs: list[list[int]] = []
    for c in codes:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in runs)


# Text: no NUL anywhere (PostgreSQL can't store it); "non-blank" also needs one character
# that is not whitespace (the services strip and then require something left).
NO_NUL = r"^[^\x00]*$"
NON_BLANK = rf"^[^\x00]*[^{_whitespace_class()}\x00][^\x00]*$"

# A decimal string as people write amounts: ASCII digits, an optional point, no exponent,
# no digit separators ("1_000") and no other scripts' digits (Decimal would take "٣").
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
MAX_AMOUNT_TEXT = 64
MAX_DECIMALS = max(currencies.MINOR_DIGITS.values())


def _positive_amount_pattern() -> str:
    """The strings _to_decimal and Money.parse_positive accept together: above zero, at most
    MAX_MAJOR, at most MAX_DECIMALS significant digits after the point (trailing zeros are
    exact, so allowed). Written without look-arounds, so that every regex engine reads it;
    MAX_MAJOR is all nines, so "below it" is "fewer digits, or one digit that is not 9"."""
    width = len(str(money.MAX_MAJOR))
    assert str(money.MAX_MAJOR) == "9" * width
    below = [f"[1-9][0-9]{{0,{width - 2}}}", f"[1-8][0-9]{{{width - 1}}}"]
    below += [f"9{{{k}}}[0-8][0-9]{{{width - 1 - k}}}" for k in range(1, width)]
    fraction = rf"\.[0-9]{{0,{MAX_DECIMALS}}}0*"
    return (rf"^0*(?:(?:{'|'.join(below)})(?:{fraction})?|9{{{width}}}(?:\.0*)?"
            rf"|\.[0-9]{{0,{MAX_DECIMALS - 1}}}[1-9]0*)$")


POSITIVE_AMOUNT = _positive_amount_pattern()

# ISO 8601 extended format as RFC 3339 writes it; seconds and the offset may be left out
# (no offset is UTC), "T" may be a space. Basic format, week dates and ordinals are not
# accepted: they are easy to mistype and nobody sends them.
_ISO_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _to_decimal(value: Any) -> Decimal:
    """Amounts arrive as decimal strings or exact JSON numbers; never bools or floats."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('must be a decimal amount such as "60.00"')
    if isinstance(value, str):
        text = value.strip(" ")
        if len(text) > MAX_AMOUNT_TEXT or not _DECIMAL_TEXT.fullmatch(text):
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise ValueError(f'{shown!r} is not a decimal amount such as "60.00"')
        return Decimal(text)
    return Decimal(value)


def _to_whole(value: Any) -> int:
    """Counts (quantities, stock) are JSON whole numbers: ``true`` or ``"2"`` are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if abs(value.adjusted()) > 30:
            raise ValueError("is far too large")
        return int(value)
    raise ValueError("must be a whole number")


def _to_timestamp(value: Any) -> datetime:
    """An ISO 8601 string; one without an offset is UTC, others are converted to UTC."""
    if not isinstance(value, str) or not _ISO_TIMESTAMP.fullmatch(value):
        raise ValueError('must be an ISO 8601 timestamp such as "2024-05-01T14:30:00Z"')
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time") from None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is outside the supported range of dates") from None


def _to_date(value: Any) -> date:
    """A calendar date written YYYY-MM-DD; nothing else (no time, no Unix number)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError('must be a date written YYYY-MM-DD, such as "2024-05-01"')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None


def text(max_length: int, *, blank: bool = False, default: Any = ...,
         description: str | None = None) -> Any:
    """A string field of at most ``max_length`` characters; unless ``blank``, it must have
    something besides whitespace. (The pattern is for the document; the model's validator
    and the services enforce it with clearer messages.)"""
    return Field(default, max_length=max_length, description=description,
                 json_schema_extra={"pattern": NO_NUL if blank else NON_BLANK})


def one_of(values: list[str], description: str | None = None) -> Any:
    """A string field that must be one of ``values`` (checked by the domain)."""
    return Field(description=description, json_schema_extra={"enum": values})


_AMOUNT_SCHEMA = {
    "description": (
        "A positive amount: a decimal string (\"60.00\") or an exact JSON number (60.1), at "
        f"most {money.MAX_MAJOR:,}, with no more decimals than the currency has (2 for USD, "
        "0 for JPY, 3 for KWD; trailing zeros are fine). Never rounded."),
    "anyOf": [
        {"type": "string", "pattern": POSITIVE_AMOUNT, "maxLength": MAX_AMOUNT_TEXT,
         "examples": ["60.00"]},
        {"type": "number", "exclusiveMinimum": 0, "maximum": money.MAX_MAJOR,
         "multipleOf": float(Decimal(1).scaleb(-MAX_DECIMALS))},
    ],
}

Amount = Annotated[Decimal, BeforeValidator(_to_decimal), WithJsonSchema(_AMOUNT_SCHEMA)]
Quantity = Annotated[int, BeforeValidator(_to_whole), WithJsonSchema(
    {"type": "integer", "minimum": 1, "maximum": lines.MAX_QUANTITY})]
Timestamp = Annotated[datetime, BeforeValidator(_to_timestamp), WithJsonSchema(
    {"type": "string", "format": "date-time", "examples": ["2024-05-01T14:30:00Z"],
     "description": "ISO 8601 / RFC 3339 timestamp; without an offset it is UTC"})]
Day = Annotated[date, BeforeValidator(_to_date), WithJsonSchema(
    {"type": "string", "format": "date", "examples": ["2024-05-01"]})]
QueryDay = Annotated[date, BeforeValidator(_to_date), WithJsonSchema(
    {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
     "examples": ["2024-05-01"]})]
Id = Annotated[str, Field(min_length=1, max_length=100, json_schema_extra={"pattern": NO_NUL})]


def ref(kind: str) -> Any:
    """The id of one of the partner's ``kind`` resources: 404 when there is none. The
    ``x-refers-to`` extension says so in the document (and tells openapi.py)."""
    return Annotated[str, Field(min_length=1, max_length=100, json_schema_extra={
        "pattern": NO_NUL, "x-refers-to": kind})]


CustomerId = ref("customer")
InvoiceId = ref("invoice")
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["USD"], json_schema_extra={
    "enum": sorted(currencies.MINOR_DIGITS), "description": "ISO 4217 code"})]
Reason = Annotated[str, one_of([r.value for r in memo.Reason], "C2: why the credit is owed")]

Stock = Annotated[int, BeforeValidator(_to_whole), WithJsonSchema(
    {"type": "integer", "minimum": 0, "maximum": catalog.MAX_STOCK})]
Port = Annotated[int, BeforeValidator(_to_whole), Field(ge=1, le=65535), WithJsonSchema(
    {"type": "integer", "minimum": 1, "maximum": 65535})]  # D2: an SMTP server's port


PERCENT_TEXT = r"^(100(\.0{1,4})?|[0-9]{1,2}(\.[0-9]{1,4})?)$"


def _to_percent(value: Any) -> str:
    """T1: a percent from 0 to 100 with at most four decimals, as a decimal string or an
    exact JSON number; answered as its exact text."""
    if isinstance(value, str) and not re.fullmatch(PERCENT_TEXT, value):
        raise ValueError('must be a percent from 0 to 100 with at most 4 decimals, such as '
                         '"7.25"')
    try:
        return tax.percent_text(tax.parse_percent(value, "rate"))
    except errors.ValidationError as exc:
        raise ValueError(exc.errors[0].message) from None


Percent = Annotated[str, BeforeValidator(_to_percent), WithJsonSchema({
    "description": "T1: a percent from 0 to 100 with at most 4 decimal places",
    "anyOf": [{"type": "string", "pattern": PERCENT_TEXT, "examples": ["7.25"]},
              {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.0001}]})]
