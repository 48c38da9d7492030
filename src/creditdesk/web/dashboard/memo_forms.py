"""New memo and Edit draft (C1-C5, L1): a form of customer, reason, amount or lines with a
variant picker, original invoice and notes. Works without JavaScript: "Add a line"
re-renders the form with one more row, nothing saved."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from creditdesk.domain import errors
from creditdesk.domain import memo as memo_rules
from creditdesk.services.credit_memos import memos
from creditdesk.services.customer_accounts import customers
from creditdesk.services.invoicing import tax_rates
from creditdesk.services.read_models import pages
from creditdesk.web import forms, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm, text

router = APIRouter()
FIELDS = ("customer", "customer_id", "reason", "amount", "invoice_number", "issue_date", "notes",
          "tax_inclusive", "customer_note")
LINE_FIELDS = ("description", "quantity", "unit_price", "variant_id", "invoice_line_id",
               "tax_rate_id")
SHOWN_FIELDS = LINE_FIELDS[:4]  # a row with none of these filled is an empty row
MIN_ROWS, MAX_ROWS = 3, 100


def _render(request: Request, db: DB, actor, *, mode: str, typed: dict, rows: list[dict],
            memo=None, refusal: forms.Refusal | None = None) -> Response:
    people = (pages.customer_choices(db, actor=actor) if mode == "new"
              else [customers.get_customer(db, actor=actor, customer_id=memo.customer_id)])
    return templating.render(request, "dashboard/memo_form.html", {
        "mode": mode, "v": typed, "rows": rows, "memo": memo, "customers": people,
        "variants": pages.list_variants(db, actor=actor), "refusal": refusal,
        "tax_rates": tax_rates.list_tax_rates(db, actor=actor)},
        status=refusal.status if refusal else 200)


def _rows(form: FormData) -> list[dict]:
    count = forms.whole_number(text(form, "line_count"), max_digits=3)
    n = MIN_ROWS if count is None else min(count, MAX_ROWS)
    rows = [{k: text(form, f"line-{i}-{k}") for k in LINE_FIELDS} for i in range(n)]
    if "add_line" in form and n < MAX_ROWS:
        rows.append(dict.fromkeys(LINE_FIELDS, ""))
    return rows


def _quantity(value: str) -> object:
    """A whole number, or what was typed (the engine says what is wrong with it)."""
    number = forms.whole_number(value)
    return (value or None) if number is None else number


def _fill_from_variants(db: DB, actor, rows: list[dict]) -> None:
    """A row with a variant and no description or unit price takes the variant's (what
    the picker's script does in the browser; this is the same without JavaScript)."""
    wanted = {r["variant_id"] for r in rows
              if r["variant_id"] and not (r["description"] and r["unit_price"])}
    if not wanted:
        return
    found = pages.variants_by_id(db, actor=actor, ids=wanted)
    for r in rows:
        v = found.get(r["variant_id"])
        if v is not None:
            r["description"] = r["description"] or v.name
            r["unit_price"] = r["unit_price"] or v.price.to_str()


def _parse(db: DB, actor, form: FormData) -> tuple[dict, list[dict], dict, dict[int, int]]:
    """(typed values, rows, service input, service line index -> form row index)."""
    typed = forms.values(form, *FIELDS)
    rows = _rows(form)
    filled = [i for i, r in enumerate(rows) if any(r[k] for k in SHOWN_FIELDS)]
    _fill_from_variants(db, actor, [rows[i] for i in filled])
    lines = [{"description": rows[i]["description"] or None,
              "quantity": _quantity(rows[i]["quantity"]),
              "unit_price": rows[i]["unit_price"] or None,
              "variant_id": rows[i]["variant_id"] or None,
              "invoice_line_id": rows[i]["invoice_line_id"] or None,
              "tax_rate_id": rows[i]["tax_rate_id"] or None} for i in filled]
    data: dict[str, object] = {"reason": typed["reason"], "notes": typed["notes"] or None,
                               "customer_note": typed["customer_note"] or None,  # D1
                               "lines": lines or None, "amount": typed["amount"] or None,
                               # T1: a memo linked to an invoice prices as the invoice does
                               "tax_inclusive": None if typed["invoice_number"]
                               else typed["tax_inclusive"] == "on"}
    if typed["issue_date"]:
        try:
            data["issue_date"] = date.fromisoformat(typed["issue_date"])
        except ValueError:
            raise errors.ValidationError.for_field("issue_date",
                                                   "must be a date (YYYY-MM-DD)") from None
    else:
        data["issue_date"] = None
    data["invoice_id"] = (pages.invoice_id_by_number(db, actor=actor,
                                                     number=typed["invoice_number"])
                          if typed["invoice_number"] else None)
    return typed, rows, data, dict(enumerate(filled))


def _refusal(exc: errors.DomainError, typed: dict, index: dict[int, int]) -> forms.Refusal:
    """In words, each line's problem next to its row (lines[k] is row ``index[k]``)."""
    return forms.refusal("memo", exc, typed, rows=index)


@router.get("/credit-memos/new")
def new_form(request: Request, db: DB, actor: User, customer_id: str = "") -> Response:
    chosen = next((c.label for c in pages.customer_choices(db, actor=actor)
                   if c.id == customer_id), "")
    typed = dict.fromkeys(FIELDS, "") | {"customer": chosen, "customer_id": customer_id,
                                         "reason": "goodwill"}
    rows = [dict.fromkeys(LINE_FIELDS, "") for _ in range(MIN_ROWS)]
    return _render(request, db, actor, mode="new", typed=typed, rows=rows)


def _customer_id(db: DB, actor, typed: dict) -> str:
    """The picker's text names the customer (type-ahead); the hidden id is the one the
    form was opened for (from a customer's page) when the text was left alone."""
    if typed["customer"]:
        return pages.customer_by_label(db, actor=actor, text=typed["customer"])
    if typed["customer_id"]:
        return typed["customer_id"]
    raise errors.ValidationError.for_field("customer", "choose a customer")


@router.post("/credit-memos/new")
def create(request: Request, db: DB, actor: User, form: CheckedForm) -> Response:
    typed, rows, index = forms.values(form, *FIELDS), _rows(form), {}
    if "add_line" in form:
        return _render(request, db, actor, mode="new", typed=typed, rows=rows)
    try:
        customer_id = _customer_id(db, actor, typed)
        typed, rows, data, index = _parse(db, actor, form)
        m = memos.create_memo(db, actor=actor, customer_id=customer_id, **data)
    except errors.DomainError as exc:
        return _render(request, db, actor, mode="new", typed=typed, rows=rows,
                       refusal=_refusal(exc, typed, index))
    templating.flash(request, f"Draft credit memo {m.number} created. Review it, then issue it.")
    return RedirectResponse(f"/dashboard/credit-memos/{m.id}", status_code=303)


def _typed_from(p: pages.MemoPage) -> tuple[dict, list[dict]]:
    m = p.memo
    typed = {"customer_id": m.customer_id, "reason": m.reason,
             "amount": "" if m.lines else m.total.to_str(),
             "invoice_number": p.original_invoice_number or "",
             "issue_date": m.issue_date.isoformat() if m.issue_date else "", "notes": m.notes or "",
             "tax_inclusive": "on" if m.tax_inclusive else "",
             "customer_note": m.customer_note or ""}
    rows = [{"description": li.description, "quantity": str(li.quantity),
             "unit_price": li.unit_price.to_str(), "variant_id": li.variant_id or "",
             "invoice_line_id": li.invoice_line_id or "", "tax_rate_id": li.tax_rate_id or ""}
            for li in m.lines]
    rows += [dict.fromkeys(LINE_FIELDS, "") for _ in range(max(1, MIN_ROWS - len(rows)))]
    return typed, rows


@router.get("/credit-memos/{memo_id}/edit")
def edit_form(request: Request, db: DB, actor: User, memo_id: str) -> Response:
    p = pages.memo_page(db, actor=actor, memo_id=memo_id)
    if memo_rules.Action.UPDATE.value not in p.actions:
        templating.flash(request, f"Credit memo {p.memo.number} is "
                         f"{templating.label(p.memo.status).lower()}: only drafts can be edited.")
        return RedirectResponse(f"/dashboard/credit-memos/{memo_id}", status_code=303)
    typed, rows = _typed_from(p)
    return _render(request, db, actor, mode="edit", typed=typed, rows=rows, memo=p.memo)


@router.post("/credit-memos/{memo_id}/edit")
def update(request: Request, db: DB, actor: User, memo_id: str, form: CheckedForm) -> Response:
    memo = memos.get_memo(db, actor=actor, memo_id=memo_id)
    typed, rows, index = forms.values(form, *FIELDS), _rows(form), {}
    if "add_line" in form:
        return _render(request, db, actor, mode="edit", typed=typed, rows=rows, memo=memo)
    try:
        typed, rows, data, index = _parse(db, actor, form)
        changes = dict(data)
        if not data["lines"]:
            changes["lines"] = []  # lines removed or never there: the amount carries the total
        m = memos.update_memo(db, actor=actor, memo_id=memo_id, changes=changes)
    except errors.DomainError as exc:
        return _render(request, db, actor, mode="edit", typed=typed, rows=rows, memo=memo,
                       refusal=_refusal(exc, typed, index))
    templating.flash(request, f"Draft credit memo {m.number} saved.")
    return RedirectResponse(f"/dashboard/credit-memos/{m.id}", status_code=303)
