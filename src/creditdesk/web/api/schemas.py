"""Request and response bodies of the JSON API (API.md), and the view -> JSON mapping."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from creditdesk.domain.money import Money
from creditdesk.services import views


def _to_decimal(value: Any) -> Decimal:
    """Amounts arrive as decimal strings or exact JSON numbers; never bools or floats."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('must be a decimal amount such as "60.00"')
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f'{value!r} is not a decimal amount such as "60.00"') from None
    return Decimal(value)


Amount = Annotated[
    Decimal, BeforeValidator(_to_decimal),
    WithJsonSchema({"type": "string", "examples": ["60.00"],
                    "description": "Decimal string with the currency's minor digits"}),
]
Id = Annotated[str, Field(min_length=1, max_length=100)]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["USD"])]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LineIn(In):
    description: str = Field(max_length=500)
    quantity: int
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
    stock_on_hand: int = 0


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
    paid_at: datetime | None = None


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


# --- output -----------------------------------------------------------------

def amount(m: Money) -> str:
    return m.to_str()


def line_out(li: views.LineView) -> dict[str, Any]:
    return {"id": li.id, "description": li.description, "quantity": li.quantity,
            "unit_price": amount(li.unit_price), "amount": amount(li.amount),
            "variant_id": li.variant_id}


def memo_out(m: views.MemoView) -> dict[str, Any]:
    return {
        "id": m.id, "number": m.number, "customer_id": m.customer_id, "currency": m.currency,
        "reason": m.reason, "status": m.status, "issue_date": m.issue_date,
        "invoice_id": m.invoice_id, "lines": [line_out(li) for li in m.lines],
        "total": amount(m.total), "applied_amount": amount(m.applied_amount),
        "remaining_amount": amount(m.remaining_amount), "notes": m.notes, "source": m.source,
        "external_id": m.external_id, "read_only": m.read_only, "issued_at": m.issued_at,
        "applied_at": m.applied_at, "voided_at": m.voided_at, "void_reason": m.void_reason,
        "created_at": m.created_at, "updated_at": m.updated_at,
    }


def invoice_out(i: views.InvoiceView) -> dict[str, Any]:
    return {
        "id": i.id, "number": i.number, "customer_id": i.customer_id, "currency": i.currency,
        "status": i.status, "issue_date": i.issue_date, "due_date": i.due_date,
        "lines": [line_out(li) for li in i.lines], "total": amount(i.total),
        "amount_paid": amount(i.amount_paid), "credit_applied": amount(i.credit_applied),
        "balance_due": amount(i.balance_due),
        "payments": [{"id": p.id, "amount": amount(p.amount), "paid_at": p.paid_at}
                     for p in i.payments],
        "credits_applied": [{"credit_memo_id": c.credit_memo_id,
                             "credit_memo_number": c.credit_memo_number,
                             "amount": amount(c.amount), "applied_at": c.applied_at}
                            for c in i.credits_applied],
        "notes": i.notes, "issued_at": i.issued_at, "voided_at": i.voided_at,
        "created_at": i.created_at, "updated_at": i.updated_at,
    }


def application_out(a: views.ApplicationView) -> dict[str, Any]:
    return {"id": a.id, "credit_memo_id": a.credit_memo_id, "invoice_id": a.invoice_id,
            "amount": amount(a.amount), "applied_at": a.applied_at, "applied_by": a.applied_by}


def page_out(page: Any, out: Any) -> dict[str, Any]:
    return {"data": [out(v) for v in page.data], "next_cursor": page.next_cursor}
