"""Invoice list and invoice page: lines, payments, credits applied (each with Remove; those
applied automatically marked so, AU1), balance due, the link to "Create credit memo" (C6:
credit_from_invoice.py; U1), and Issue for a draft, confirmed first with the credit it
would apply automatically (P6, AU1)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.domain import errors
from creditdesk.domain.application import InvoiceStatus
from creditdesk.services.credit_memos import auto_apply, credit
from creditdesk.services.invoicing import invoices
from creditdesk.services.read_models import pages, preview
from creditdesk.web import forms, htmx, list_links, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm
from creditdesk.web.dashboard import confirm, credit_notices
from creditdesk.web.dashboard import memos as memo_routes

router = APIRouter()
PAGE_SIZE = 25


@router.get("/invoices")
def invoice_list(request: Request, db: DB, actor: User, status: str = "", customer_id: str = "",
                 source: str = "", q: str = "", sort: str = "",
                 cursor: str | None = None) -> Response:
    """Native and synced invoices (Y9), filtered by status, customer, source and number;
    every link (sort, pages) keeps the other filters."""
    statuses = [s.value for s in InvoiceStatus]
    page = invoices.list_invoices(db, actor=actor, customer_id=customer_id or None,
                                  statuses=[status] if status in statuses else None,
                                  source=source or None, q=q or None, sort=sort or None,
                                  limit=PAGE_SIZE, cursor=cursor or None)
    people = pages.customer_choices(db, actor=actor)
    filters = {"status": status, "customer_id": customer_id, "source": source, "q": q,
               "sort": sort}
    path = "/dashboard/invoices"
    links = {"sort": list_links.columns(path, filters, invoices.SORT_KEYS,
                                        frozenset({"date", "total", "balance"})),
             "first": list_links.url(path, filters, cursor=""),
             "next": (list_links.url(path, filters, cursor=page.next_cursor)
                      if page.next_cursor else "")}
    names = pages.customer_names(db, actor=actor, ids={i.customer_id for i in page.data})
    return templating.render(request, "dashboard/invoices.html", {
        "page": page, "names": names, "customers": people, "statuses": statuses,
        "filters": filters, "links": links, "cursor": cursor},
        block=htmx.wanted_block(request, "invoice-results"))


def invoice_page(request: Request, db: DB, actor, invoice_id: str, *,
                 refusal: forms.Refusal | None = None) -> Response:
    p = pages.invoice_page(db, actor=actor, invoice_id=invoice_id)
    return templating.render(request, "dashboard/invoice.html", {
        "p": p, "inv": p.invoice, "refusal": refusal,
        "creditable": not p.invoice.read_only
                      and p.invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID)},
        status=refusal.status if refusal else 200)


@router.get("/invoices/{invoice_id}")
def invoice_detail(request: Request, db: DB, actor: User, invoice_id: str) -> Response:
    return invoice_page(request, db, actor, invoice_id)


@router.post("/invoices/{invoice_id}/issue")
def issue_invoice(request: Request, db: DB, actor: User, invoice_id: str,
                  _f: CheckedForm) -> Response:
    """I3, with the customer's available credit applied automatically (AU1)."""
    try:
        inv = auto_apply.issue_invoice(db, actor=actor, invoice_id=invoice_id)
    except errors.DomainError as exc:
        return invoice_page(request, db, actor, invoice_id, refusal=forms.refusal("issue", exc))
    notice = f"Invoice {inv.number} issued."
    if inv.credit_applied.minor:
        left = (f"{templating.money(inv.balance_due)} is still due" if inv.balance_due.minor
                else "nothing is left to pay")
        notice += (f" {templating.money(inv.credit_applied)} of available credit was applied "
                   f"automatically; {left}.")
    templating.flash(request, notice)
    return RedirectResponse(f"/dashboard/invoices/{invoice_id}", status_code=303)


@router.post("/invoices/{invoice_id}/issue/preview")
def issue_invoice_preview(request: Request, db: DB, actor: User, invoice_id: str,
                          _f: CheckedForm) -> Response:
    """P6: the confirmation of Issue: the journal entry, the stock, and the credit it would
    apply automatically (AU1)."""
    url = f"/dashboard/invoices/{invoice_id}"
    return confirm.ask(
        request, run=lambda: preview.issue_invoice(db, actor=actor, invoice_id=invoice_id),
        question=lambda p: confirm.Ask(
            f"Issue invoice {p.invoice.number if p.invoice else ''}?", f"{url}/issue",
            "Issue invoice", url, "invoices"),
        refused=lambda exc: invoice_page(request, db, actor, invoice_id,
                                         refusal=forms.refusal("issue", exc)))


@router.post("/invoices/{invoice_id}/credits/{memo_id}/remove")
def remove_credit(request: Request, db: DB, actor: User, invoice_id: str, memo_id: str,
                  _f: CheckedForm) -> Response:
    try:
        done = credit.remove_credit_only(db, actor=actor, memo_id=memo_id,
                                         invoice_id=invoice_id)
    except errors.DomainError as exc:
        return invoice_page(request, db, actor, invoice_id, refusal=forms.refusal("remove", exc))
    templating.flash(request, credit_notices.removed(request, done))
    return RedirectResponse(f"/dashboard/invoices/{invoice_id}", status_code=303)


@router.post("/invoices/{invoice_id}/apply")
def apply_credit(request: Request, db: DB, actor: User, invoice_id: str,
                 form: CheckedForm) -> Response:
    """A1-A4 from the invoice side; synced credit is sent to its system (Y11)."""
    typed = forms.values(form, "memo_id", "amount")
    try:
        done = credit.apply_credit_only(db, actor=actor, memo_id=typed["memo_id"],
                                        invoice_id=invoice_id, amount=typed["amount"])
    except errors.DomainError as exc:
        return invoice_page(request, db, actor, invoice_id,
                            refusal=forms.refusal("apply", exc, typed))
    templating.flash(request, credit_notices.applied(request, done))
    return RedirectResponse(f"/dashboard/invoices/{invoice_id}", status_code=303)


@router.post("/invoices/{invoice_id}/apply/preview")
def apply_credit_preview(request: Request, db: DB, actor: User, invoice_id: str,
                         form: CheckedForm) -> Response:
    """P6: the confirmation of Apply, from the invoice side."""
    typed = forms.values(form, "memo_id", "amount")
    url = f"/dashboard/invoices/{invoice_id}"
    return confirm.ask(
        request, run=lambda: preview.apply(db, actor=actor, memo_id=typed["memo_id"],
                                           invoice_id=invoice_id, amount=typed["amount"]),
        question=lambda p: confirm.Ask(
            memo_routes.apply_question(p, typed["amount"]), f"{url}/apply", "Apply credit",
            url, "invoices", fields=typed),
        refused=lambda exc: invoice_page(request, db, actor, invoice_id,
                                         refusal=forms.refusal("apply", exc, typed)))


@router.post("/invoices/{invoice_id}/credits/{memo_id}/remove/preview")
def remove_credit_preview(request: Request, db: DB, actor: User, invoice_id: str,
                          memo_id: str, _f: CheckedForm) -> Response:
    """P6: the confirmation of Remove, from the invoice side."""
    url = f"/dashboard/invoices/{invoice_id}"
    return confirm.removal(
        request, db, actor, memo_id=memo_id, invoice_id=invoice_id,
        action=f"{url}/credits/{memo_id}/remove", back=url, section="invoices",
        refused=lambda exc: invoice_page(request, db, actor, invoice_id,
                                         refusal=forms.refusal("remove", exc)))

