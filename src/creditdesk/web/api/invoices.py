"""Invoices, payments, credits applied to an invoice, and "start a memo from an invoice"."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Response

from creditdesk.domain import application
from creditdesk.domain import memo as memo_rules
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.common.pagination import Page
from creditdesk.services.credit_memos import auto_apply, credit, memos
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import preview, views
from creditdesk.web.api import previews, responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["invoices"], route_class=DecimalJSONRoute)
STATUSES = filter_query(values=[s.value for s in application.InvoiceStatus], many=True)
SOURCES = filter_query(values=[s.value for s in memo_rules.Source])


@router.post("/invoices", status_code=201, response_model=responses.InvoiceOut)
def create_invoice(body: schemas.InvoiceIn, db: DB, actor: CurrentActor) -> views.InvoiceView:
    return invoices.create_invoice(
        db, actor=actor, customer_id=body.customer_id, currency=body.currency,
        lines=[li.model_dump() for li in body.lines], issue_date=body.issue_date,
        due_date=body.due_date, notes=body.notes, tax_inclusive=body.tax_inclusive)


@router.get("/invoices", response_model=responses.InvoicePage)
def list_invoices(db: DB, actor: CurrentActor, customer_id: Filter = None,
                  status: Annotated[list[str] | None, STATUSES] = None,
                  source: Annotated[str | None, SOURCES] = None, q: Filter = None,
                  limit: Limit = 50, cursor: Cursor = None) -> Page[views.InvoiceView]:
    """Native and synced invoices (Y9), newest first, filtered by customer, status
    (repeatable), source and invoice number."""
    return invoices.list_invoices(db, actor=actor, customer_id=customer_id, statuses=status,
                                  source=source, q=q, limit=limit, cursor=cursor)


@router.get("/invoices/{invoice_id}", response_model=responses.InvoiceOut)
def get_invoice(invoice_id: str, db: DB, actor: CurrentActor) -> views.InvoiceView:
    return invoices.get_invoice(db, actor=actor, invoice_id=invoice_id)


@router.post("/invoices/{invoice_id}/issue",
             response_model=responses.InvoiceOut | previews.PreviewOut)
def issue_invoice(invoice_id: str, db: DB, actor: CurrentActor,
                  preview_: previews.Flag = False) -> views.InvoiceView | Response:
    """I3, with the customer's available credit applied automatically when the partner's
    preference reaches it (AU1)."""
    if preview_:
        return previews.answer(preview.issue_invoice(db, actor=actor, invoice_id=invoice_id))
    return auto_apply.issue_invoice(db, actor=actor, invoice_id=invoice_id)


@router.post("/invoices/{invoice_id}/void", response_model=responses.InvoiceOut)
def void_invoice(invoice_id: str, db: DB, actor: CurrentActor) -> views.InvoiceView:
    return invoices.void_invoice(db, actor=actor, invoice_id=invoice_id)


@router.post("/invoices/{invoice_id}/payments", status_code=201,
             response_model=responses.InvoiceOut)
def record_payment(invoice_id: str, body: schemas.PaymentIn, db: DB,
                   actor: CurrentActor) -> views.InvoiceView:
    return invoices.record_payment(db, actor=actor, invoice_id=invoice_id, amount=body.amount,
                                   paid_at=body.paid_at)


@router.delete("/invoices/{invoice_id}/credits/{credit_memo_id}",
               response_model=responses.CreditRemovedOut | previews.PreviewOut,
               responses={202: {"model": responses.CreditRemovedOut,
                                "description": "Synced credit: removal sent to its system"}})
def remove_credit(invoice_id: str, credit_memo_id: str, db: DB,
                  actor: CurrentActor, request: Request,
                  preview_: previews.Flag = False) -> credit.Removed | Response:
    """U1: remove a memo's credit from the invoice side (Y13 as from the memo side)."""
    if preview_:
        return previews.answer(preview.remove(db, actor=actor, memo_id=credit_memo_id,
                                              invoice_id=invoice_id))
    removed = credit.remove_credit(db, actor=actor, memo_id=credit_memo_id,
                                   invoice_id=invoice_id)
    if not removed.pending:
        return removed
    sync_jobs.wake(request.app.state)
    return responses.accepted(responses.CreditRemovedOut, removed)


@router.post("/invoices/{invoice_id}/credit-memos", status_code=201,
             response_model=responses.MemoOut)
def memo_from_invoice(invoice_id: str, body: schemas.MemoFromInvoiceIn, db: DB,
                      actor: CurrentActor) -> views.MemoView:
    """C6: a draft pre-filled with the invoice's customer, currency, lines and link."""
    lines = [li.model_dump() for li in body.lines] if body.lines is not None else None
    return memos.create_from_invoice(
        db, actor=actor, invoice_id=invoice_id, reason=body.reason, amount=body.amount,
        lines=lines, issue_date=body.issue_date, notes=body.notes,
        customer_note=body.customer_note)
