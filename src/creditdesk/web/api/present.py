"""The view -> JSON mapping of the API: dataclasses from the services to API.md's objects.

Amounts become decimal strings with the currency's minor digits (``"60.00"``, ``"100"`` for
JPY); the Out models in schemas.py describe the same shapes for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from creditdesk.domain.money import Money
from creditdesk.services.read_models import views


def amount(m: Money) -> str:
    return m.to_str()


def line_out(li: views.LineView) -> dict[str, Any]:
    return {"id": li.id, "description": li.description, "quantity": li.quantity,
            "unit_price": amount(li.unit_price) if li.unit_price is not None else None,
            "amount": amount(li.amount), "variant_id": li.variant_id}


def memo_out(m: views.MemoView) -> dict[str, Any]:
    return {
        "id": m.id, "number": m.number, "customer_id": m.customer_id, "currency": m.currency,
        "reason": m.reason, "status": m.status, "issue_date": m.issue_date,
        "invoice_id": m.invoice_id,
        "lines": [line_out(li) | {"invoice_line_id": li.invoice_line_id} for li in m.lines],
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
