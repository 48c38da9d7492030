"""Request bodies of the JSON API (API.md), parsed strictly.

Response models are in responses.py, the view -> JSON mapping in present.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

# A decimal string as people write amounts: ASCII digits, an optional point, no exponent,
# no digit separators ("1_000") and no other scripts' digits (Decimal would take "٣").
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _to_decimal(value: Any) -> Decimal:
    """Amounts arrive as decimal strings or exact JSON numbers; never bools or floats."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('must be a decimal amount such as "60.00"')
    if isinstance(value, str):
        text = value.strip(" ")
        if len(text) > 64 or not _DECIMAL_TEXT.fullmatch(text):
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


def _aware_utc(value: datetime) -> datetime:
    """Timestamps are UTC: one without an offset is taken as UTC, others are converted."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is outside the supported range of dates") from None


Amount = Annotated[
    Decimal, BeforeValidator(_to_decimal),
    WithJsonSchema({"type": "string", "examples": ["60.00"],
                    "description": "Decimal string with the currency's minor digits"}),
]
Whole = Annotated[int, BeforeValidator(_to_whole), WithJsonSchema({"type": "integer"})]
Timestamp = Annotated[datetime, AfterValidator(_aware_utc)]
Id = Annotated[str, Field(min_length=1, max_length=100)]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["USD"])]


class In(BaseModel):
    """A request body: unknown fields are refused, and so is text no database can store."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class LineIn(In):
    description: str = Field(max_length=500)
    quantity: Whole
    unit_price: Amount
    variant_id: Id | None = None


class CustomerIn(In):
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    currency: Currency = "USD"


class VariantIn(In):
    sku: str = Field(max_length=100)
    name: str = Field(max_length=200)
    price: Amount
    stock_on_hand: Whole = 0


class ProductIn(In):
    name: str = Field(max_length=200)
    currency: Currency = "USD"
    variants: list[VariantIn] = Field(min_length=1, max_length=200)


class InvoiceIn(In):
    customer_id: Id
    currency: Currency | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    issue_date: date | None = None
    due_date: date | None = None
    notes: str | None = Field(default=None, max_length=5000)


class PaymentIn(In):
    amount: Amount
    paid_at: Timestamp | None = None


class MemoIn(In):
    customer_id: Id
    reason: str
    amount: Amount | None = None
    lines: list[LineIn] | None = Field(default=None, max_length=500)
    currency: Currency | None = None
    invoice_id: Id | None = None
    issue_date: date | None = None
    notes: str | None = Field(default=None, max_length=5000)


class MemoFromInvoiceIn(In):
    reason: str
    amount: Amount | None = None
    lines: list[LineIn] | None = Field(default=None, max_length=500)
    issue_date: date | None = None
    notes: str | None = Field(default=None, max_length=5000)


class MemoPatch(In):
    reason: str | None = None
    amount: Amount | None = None
    lines: list[LineIn] | None = Field(default=None, max_length=500)
    currency: Currency | None = None
    invoice_id: Id | None = None
    issue_date: date | None = None
    notes: str | None = Field(default=None, max_length=5000)


class VoidIn(In):
    reason: str = Field(max_length=1000)


class ApplicationIn(In):
    invoice_id: Id
    amount: Amount


class SuggestionRefreshIn(In):
    customer_id: Id | None = None
