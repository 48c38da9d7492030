"""Request bodies of the JSON API (API.md), parsed strictly.

Their field types, and the JSON Schema each states, are in fields.py; the body of
``POST /integrations`` in connect_bodies.py. Response models are in responses.py (read
straight from the services' views).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from creditdesk.domain import documents as doc_rules
from creditdesk.domain import lines as line_rules
from creditdesk.domain import refund as refund_rules
from creditdesk.domain import tax
from creditdesk.domain import webhooks as webhook_rules
from creditdesk.services.credit_memos import memo_lifecycle, memos
from creditdesk.services.customer_accounts import customers
from creditdesk.web.api import fields


class In(BaseModel):
    """A request body: a JSON object, with no unknown fields and no text no database can
    store."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value: Any) -> Any:
        # FastAPI reads a body as attributes of any Python object: a JSON number with a
        # fraction (a Decimal here) would be answered "name: is required".
        if isinstance(value, dict | cls):
            return value
        raise PydanticCustomError("model_type", "must be a JSON object")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class LineIn(In):
    description: str = fields.text(line_rules.MAX_DESCRIPTION)
    quantity: fields.Quantity
    unit_price: fields.Amount
    variant_id: fields.Id | None = None
    tax_rate_id: fields.Id | None = None


def _own_or_invoice_line(schema: dict[str, Any]) -> None:
    """The document says what the services check: a line of its own has a description
    and a unit price; a line naming an invoice line may take both from it."""
    schema["anyOf"] = [{"required": ["description", "unit_price"]},
                       {"required": ["invoice_line_id"]}]


class MemoLineIn(In):
    """A memo line. With ``invoice_line_id`` (a line of the memo's invoice, C6) it credits
    that line: description, unit price and variant default to the invoice line's, and the
    quantity is capped by what that line can still be credited (C5). Without it,
    ``description`` and ``unit_price`` are required."""

    model_config = ConfigDict(json_schema_extra=_own_or_invoice_line)
    description: str = fields.text(line_rules.MAX_DESCRIPTION, default=None)
    quantity: fields.Quantity
    unit_price: fields.Amount = None  # type: ignore[assignment]  # absent: the invoice's
    variant_id: fields.Id | None = None
    invoice_line_id: fields.Id = None  # type: ignore[assignment]  # absent: a line of its own
    tax_rate_id: fields.Id | None = Field(default=None, description=(
        "T1: one of your tax rates; a line crediting an invoice line carries that line's"))


MAX_LINES = line_rules.MAX_LINES


class CustomerIn(In):
    name: str = fields.text(customers.MAX_NAME)
    email: str | None = Field(default=None, max_length=254, json_schema_extra={
        "pattern": r"^[^\x00]*@[^\x00]*$", "description": "An email address"})
    currency: fields.Currency = "USD"


class MergeIn(In):
    """Y10: the customer merged into the one named in the path (which survives)."""

    customer_id: fields.CustomerId


class VariantIn(In):
    sku: str = fields.text(100)
    name: str = fields.text(200)
    price: fields.Amount
    stock_on_hand: fields.Stock = 0


class ProductIn(In):
    name: str = fields.text(200)
    currency: fields.Currency = "USD"
    variants: list[VariantIn] = Field(min_length=1, max_length=200)


class InvoiceIn(In):
    customer_id: fields.CustomerId
    currency: fields.Currency | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    issue_date: fields.Day | None = None
    due_date: fields.Day | None = Field(None, description="Not before issue_date")
    notes: str | None = fields.text(memos.MAX_NOTES, blank=True, default=None)
    tax_inclusive: bool | None = Field(default=None, description=(
        "T1: the lines' prices include tax (default false; a memo linked to an invoice "
        "prices as the invoice does)"))


class PaymentIn(In):
    amount: fields.Amount
    paid_at: fields.Timestamp | None = None


class MemoIn(In):
    """C1: ``amount`` or ``lines`` (not both: a memo with lines has their total)."""

    customer_id: fields.CustomerId
    reason: fields.Reason
    amount: fields.Amount | None = None
    lines: list[MemoLineIn] | None = Field(default=None, max_length=MAX_LINES)
    currency: fields.Currency | None = None
    invoice_id: fields.InvoiceId | None = None
    issue_date: fields.Day | None = None
    notes: str | None = fields.text(memos.MAX_NOTES, blank=True, default=None)
    customer_note: str | None = fields.text(doc_rules.MAX_NOTE, blank=True, default=None)
    tax_inclusive: bool | None = Field(default=None, description=(
        "T1: the lines' prices include tax (default false; a memo linked to an invoice "
        "prices as the invoice does)"))


class MemoFromInvoiceIn(In):
    """C6: without ``amount`` or ``lines``, every invoice line for the quantity it can
    still be credited; ``lines`` may pick invoice lines and quantities
    (``[{"invoice_line_id", "quantity"}]``)."""

    reason: fields.Reason
    amount: fields.Amount | None = None
    lines: list[MemoLineIn] | None = Field(default=None, max_length=MAX_LINES)
    issue_date: fields.Day | None = None
    notes: str | None = fields.text(memos.MAX_NOTES, blank=True, default=None)
    customer_note: str | None = fields.text(doc_rules.MAX_NOTE, blank=True, default=None)


def _no_null_default(schema: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null: no ``default: null`` to say
    otherwise in the document."""
    schema["properties"]["reason"].pop("default", None)


class MemoPatch(In):
    """L1: the fields sent change; ``null`` clears one, except ``reason`` (C2: a memo has one)."""

    model_config = ConfigDict(json_schema_extra=_no_null_default)
    reason: fields.Reason = None  # type: ignore[assignment]  # absent: unchanged
    amount: fields.Amount | None = None
    lines: list[MemoLineIn] | None = Field(default=None, max_length=MAX_LINES)
    currency: fields.Currency | None = None
    invoice_id: fields.InvoiceId | None = None
    issue_date: fields.Day | None = None
    notes: str | None = fields.text(memos.MAX_NOTES, blank=True, default=None)
    customer_note: str | None = fields.text(doc_rules.MAX_NOTE, blank=True, default=None)
    tax_inclusive: bool | None = Field(default=None, description=(
        "T1: the lines' prices include tax (default false; a memo linked to an invoice "
        "prices as the invoice does)"))


class VoidIn(In):
    reason: str = fields.text(memo_lifecycle.MAX_VOID_REASON)


class ApplicationIn(In):
    invoice_id: fields.InvoiceId
    amount: fields.Amount


class RefundIn(In):
    """R1: a refund of the memo's remaining credit."""

    amount: fields.Amount
    method: str = fields.one_of([m.value for m in refund_rules.Method],
                                "R1: how the money went back to the customer")
    refunded_at: fields.Day | None = Field(None, description="The refund's day; default today")
    reference: str | None = fields.text(refund_rules.MAX_REFERENCE, blank=True, default=None,
                                        description="A check number, a transaction id…")


class SuggestionRefreshIn(In):
    customer_id: fields.CustomerId | None = None


class TaxComponentIn(In):
    name: str = fields.text(tax.MAX_NAME)
    rate: fields.Percent


class TaxRateIn(In):
    """T1: ``rate`` (simple) or ``components`` (compound: their rates add), not both."""

    name: str = fields.text(tax.MAX_NAME)
    rate: fields.Percent | None = None
    components: list[TaxComponentIn] | None = Field(default=None, min_length=1,
                                                    max_length=tax.MAX_COMPONENTS)


class WebhookEndpointIn(In):
    """D4: where to send events and which: types, or ``["*"]`` for all."""

    url: str = Field(max_length=2000, description="https on a public address",
                     json_schema_extra={"pattern": r"^https?://[^\s/?#]+"})
    # the types as the schema's enum (E7: a schema-valid request is never refused for them)
    events: list[Annotated[str, Field(json_schema_extra={"enum": [*webhook_rules.TYPES,
                                                                  webhook_rules.ALL]})]] = Field(
        min_length=1, max_length=20, description="event types (docs/events.md), or [\"*\"]")
