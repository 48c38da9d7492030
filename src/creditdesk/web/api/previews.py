"""``?preview=true`` on issue (of a memo or an invoice), apply, remove and void (P6): the
query parameter, the answer's model for the OpenAPI document, and the mapping of
``services/preview``'s view onto it.

A preview answers 200 ``{"preview": {...}}`` and changes nothing; a refused change answers
the same error as the change itself. A preview is never stored under an Idempotency-Key
(``web/idempotency.bind`` leaves it alone), so the key stays free for the real request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response
from pydantic import Field

from creditdesk.domain import money
from creditdesk.services.read_models import preview
from creditdesk.web.api import responses
from creditdesk.web.api.responses import Money, Out

DESCRIPTION = (
    "P6: true answers 200 with what the change would do (journal lines, stock movements, "
    "the memo and invoice after it, what the customer's portal would show) and changes "
    "nothing; a refused change answers its real error. Not stored under an Idempotency-Key.")
Flag = Annotated[bool, Query(alias="preview", description=DESCRIPTION)]


class PreviewJournalLineOut(Out):
    date: str = Field(description="The entry's date, YYYY-MM-DD")
    description: str
    account_code: str
    account_name: str
    currency: str
    debit: Money
    credit: Money


class PreviewStockOut(Out):
    variant_id: str
    sku: str
    name: str
    quantity: int = Field(description="Positive: back into stock; negative: out of stock")
    kind: str
    stock_on_hand_after: int


class PortalAmountOut(Out):
    currency: str
    amount: Money


class PortalMemoOut(Out):
    number: str
    status: str
    total: Money
    remaining_amount: Money


class PortalInvoiceOut(Out):
    number: str
    status: str
    balance_due: Money
    credit_applied: Money | None = Field(
        description="null when credit is hidden from the customer (P3)")


class PortalOut(Out):
    """What the customer's portal would show. With credit hidden (P3) there is nothing
    about credit: no memo, no available credit, no credit applied — only the invoice's
    balance due, which the portal always shows."""

    customer_name: str
    credit_visible: bool
    available_credit: list[PortalAmountOut] | None
    credit_memo: PortalMemoOut | None = Field(
        description="null when credit is hidden, or when the portal does not list the memo "
                    "(a draft or void memo)")
    invoice: PortalInvoiceOut | None


class AutomaticApplicationOut(Out):
    """AU1: credit the invoice's issue would apply automatically."""

    credit_memo_id: str
    credit_memo_number: str
    amount: Money
    credit_memo: responses.MemoOut = Field(description="The memo after the application")


class PreviewBodyOut(Out):
    journal_lines: list[PreviewJournalLineOut]
    inventory: list[PreviewStockOut]
    credit_memo: responses.MemoOut | None = Field(
        description="The memo after the change; on an invoice's issue, the oldest memo it "
                    "applies automatically (AU1), or null when it applies none")
    invoice: responses.InvoiceOut | None = Field(
        description="The invoice after the change; null when it touches none (issue, void)")
    portal: PortalOut
    automatic_applications: list[AutomaticApplicationOut] | None = Field(
        None, description="AU1: on an invoice's issue, the credit it applies automatically, "
                          "oldest memo first, each memo after it; left out when there is none")


class PreviewOut(Out):
    """The change not made (P6)."""

    preview: PreviewBodyOut


ANSWER = {"model": PreviewOut, "description": "With ?preview=true: what the change would do"}


def _amount(m: money.Money) -> dict[str, object]:
    return {"currency": m.currency, "amount": m}


def portal_out(p: preview.PortalEffect) -> dict[str, Any]:
    memo, inv, credited = p.credit_memo, p.invoice, p.invoice_credit_applied
    return {
        "customer_name": p.customer_name, "credit_visible": p.credit_visible,
        "available_credit": ([_amount(m) for m in p.available_credit]
                             if p.available_credit is not None else None),
        "credit_memo": {"number": memo.number, "status": memo.status,
                        "total": memo.total, "remaining_amount": memo.remaining_amount}
        if memo else None,
        "invoice": {"number": inv.invoice.number, "status": inv.invoice.status,
                    "balance_due": inv.invoice.balance_due,
                    "credit_applied": credited if credited else None}
        if inv else None,
    }


def preview_out(p: preview.Preview) -> dict[str, Any]:
    return {"preview": {
        "journal_lines": [
            {"date": entry.date.isoformat(), "description": entry.description,
             "account_code": line.account_code, "account_name": line.account_name,
             "currency": entry.currency, "debit": line.debit, "credit": line.credit}
            for entry, line in p.journal_lines],
        "inventory": [
            {"variant_id": s.variant_id, "sku": s.sku, "name": s.name, "quantity": s.quantity,
             "kind": s.kind, "stock_on_hand_after": s.stock_after} for s in p.inventory],
        # the views, read by MemoOut / InvoiceOut
        "credit_memo": p.credit_memo or (p.automatic[0].credit_memo if p.automatic else None),
        "invoice": p.invoice,
        "portal": portal_out(p.portal),
        "automatic_applications": [
            {"credit_memo_id": a.credit_memo.id, "credit_memo_number": a.credit_memo.number,
             "amount": a.amount, "credit_memo": a.credit_memo} for a in p.automatic],
    }}


def answer(p: preview.Preview) -> Response:
    """200 with the preview, checked against its model as every answer is (returned as a
    response: the route's ``response_model`` names the change's own answer)."""
    # API.md's five keys; AU1's applications only when an invoice's issue makes some
    skip = None if p.automatic else {"preview": {"automatic_applications"}}
    return Response(PreviewOut.model_validate(preview_out(p)).model_dump_json(exclude=skip),
                    media_type="application/json")
