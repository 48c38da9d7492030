"""Create a credit memo from an invoice (C6) by lines and quantities: the invoice's lines,
each pre-filled with the quantity it can still be credited (C5); the user ticks lines and
changes quantities, and a draft is created. Works without JavaScript."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from creditdesk.domain import errors
from creditdesk.services.credit_memos import memos
from creditdesk.services.read_models import pages
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter()
MAX_ROWS = 500


def _default_rows(p: pages.CreditFromInvoicePage) -> list[dict]:
    return [{"selected": li.remaining > 0, "quantity": str(li.remaining) if li.remaining else ""}
            for li in p.credit.lines]


def _render(request: Request, db: DB, actor, invoice_id: str, *, typed: dict | None = None,
            rows: list[dict] | None = None, refusal: forms.Refusal | None = None) -> Response:
    p = pages.credit_from_invoice_page(db, actor=actor, invoice_id=invoice_id)
    default = _default_rows(p)
    rows = (rows or []) + default[len(rows or []):]
    return templating.render(request, "dashboard/credit_from_invoice.html", {
        "p": p, "inv": p.invoice, "rows": list(zip(p.credit.lines, rows, strict=False)),
        "v": typed or {"reason": "returned_goods", "notes": ""}, "refusal": refusal},
        status=refusal.status if refusal else 200)


@router.get("/invoices/{invoice_id}/credit-memos/new")
def credit_form(request: Request, db: DB, actor: User, invoice_id: str) -> Response:
    return _render(request, db, actor, invoice_id)


def _quantity(value: str) -> object:
    number = forms.whole_number(value)
    return (value or None) if number is None else number


def _selection(form: FormData) -> tuple[list[dict], list[dict], dict[int, int]]:
    """(rows as typed, the service's lines, service line index -> form row)."""
    count = forms.whole_number(text(form, "line_count"), max_digits=3) or 0
    rows = [{"selected": bool(text(form, f"line-{i}-selected")),
             "quantity": text(form, f"line-{i}-quantity"),
             "invoice_line_id": text(form, f"line-{i}-invoice_line_id")}
            for i in range(min(count, MAX_ROWS))]
    picked = [i for i, r in enumerate(rows) if r["selected"] and r["invoice_line_id"]]
    lines = [{"invoice_line_id": rows[i]["invoice_line_id"],
              "quantity": _quantity(rows[i]["quantity"])} for i in picked]
    return rows, lines, dict(enumerate(picked))


@router.post("/invoices/{invoice_id}/credit-memos")
def create_from_invoice(request: Request, db: DB, actor: User, invoice_id: str,
                        form: CheckedForm) -> Response:
    """The lines ticked, for the quantities typed; a form without lines (the invoice
    page's former one-click form) credits every line for what it can still be credited."""
    typed = forms.values(form, "reason", "notes")
    rows: list[dict] = []
    index: dict[int, int] = {}
    try:
        lines = None
        if "line_count" in form:
            rows, lines, index = _selection(form)
            if not lines:
                raise errors.ValidationError.for_field(
                    "lines", "choose at least one line to credit, and how many")
        m = memos.create_from_invoice(db, actor=actor, invoice_id=invoice_id,
                                      reason=typed["reason"], notes=typed["notes"] or None,
                                      lines=lines)
    except errors.DomainError as exc:
        return _render(request, db, actor, invoice_id, typed=typed, rows=rows,
                       refusal=forms.refusal("create_memo", exc, typed, rows=index))
    templating.flash(request, f"Draft credit memo {m.number} created from the invoice "
                     f"for {templating.money(m.total)}. Review it, then issue it.")
    return RedirectResponse(f"/dashboard/credit-memos/{m.id}", status_code=303)
