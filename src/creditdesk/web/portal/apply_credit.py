"""The customer applies its own credit to an open invoice (P5), from the invoice page.

The invoice page lists the memos ``portal_credit.offer`` offers, each with an amount (by
default the most A2 allows). Its form posts to ``…/apply-credit/preview``: the effect
first (the invoice's new balance due, the credit left), computed by the real application
rolled back (``preview.portal_apply``), with Confirm posting to ``…/apply-credit``. Without
JavaScript the confirmation is a page of its own and Confirm redirects back to the invoice
(POST, redirect, GET); with htmx it fills the page's ``#confirmation``. A refusal (A2's
caps, a balance that changed meanwhile) is the invoice page again with the use case's words
next to the form. A customer who may not apply credit gets the error page: 404 when its
credit is hidden (P3: nothing says credit exists), else 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from creditdesk.domain import errors
from creditdesk.domain.invoice import source_name
from creditdesk.domain.money import Money
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.credit_memos import credit, portal_credit
from creditdesk.services.read_models import preview
from creditdesk.web import forms, htmx, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.csrf import CheckedForm
from creditdesk.web.dashboard import confirm
from creditdesk.web.portal.routes import Customer, invoice_page

router = APIRouter(prefix="/portal", include_in_schema=False)
FORM = "apply"  # the refusal's form on the invoice page
FIELDS = ("credit_memo_id", "amount")
T = TypeVar("T")


def _url(invoice_id: str) -> str:
    return f"/portal/invoices/{invoice_id}"


def _attempt(request: Request, db: DB, who: PortalCustomer, invoice_id: str, form: FormData,
             run: Callable[[str, str], T], then: Callable[[T], Response]) -> Response:
    """``run`` (memo id, amount) for a customer who may apply credit, then ``then`` of what
    it gave; a refusal is the invoice page again with the words next to the form."""
    typed = forms.values(form, *FIELDS)
    portal_credit.check_allowed(db, who=who)
    try:
        result = run(typed["credit_memo_id"], typed["amount"])
    except errors.DomainError as exc:
        return confirm.in_place_of_page(request, invoice_page(
            request, db, who, invoice_id, forms.refusal(FORM, exc, typed)))
    return then(result)


@router.post("/invoices/{invoice_id}/apply-credit/preview")
def apply_preview(request: Request, db: DB, who: Customer, invoice_id: str,
                  form: CheckedForm) -> Response:
    typed = forms.values(form, *FIELDS)

    def confirmation(p: preview.Preview) -> Response:
        assert p.invoice is not None and p.memo_before is not None
        assert p.invoice_before is not None
        sent_to = None
        if p.credit_memo.read_only:
            # Y11: synced credit is sent to its system; the figures here stay the system's
            # until it accepts, so the effect shown is what accepting it will do
            sent_to = source_name(p.credit_memo.source)
            amount = Money.parse_positive(typed["amount"], p.credit_memo.currency)
            after = {"balance": p.invoice_before.balance_due - amount,
                     "left": p.memo_before.remaining_amount - amount}
        else:
            amount = p.credit_memo.applied_amount - p.memo_before.applied_amount
            after = {"balance": p.invoice.balance_due, "left": p.credit_memo.remaining_amount}
        return templating.render(request, "portal/apply_credit_confirm.html", {
            "who": who, "credit_visible": True, "p": p, "amount": amount, "after": after,
            "sent_to": sent_to,
            "fields": {"credit_memo_id": p.credit_memo.id, "amount": amount.to_str()},
            "back": _url(invoice_id), "section": "invoices"},
            block=htmx.wanted_block(request, confirm.TARGET))

    return _attempt(request, db, who, invoice_id, form, lambda memo_id, amount: (
        preview.portal_apply(db, who=who, memo_id=memo_id, invoice_id=invoice_id,
                             amount=amount)), confirmation)


@router.post("/invoices/{invoice_id}/apply-credit")
def apply(request: Request, db: DB, who: Customer, invoice_id: str,
          form: CheckedForm) -> Response:
    def done(a: credit.Applied) -> Response:
        if a.application.write_back is not None:
            system = source_name(a.application.write_back.system)
            sync_jobs.wake(request.app.state)
            templating.flash(request, f"Sent {templating.money(a.application.amount)} of "
                             f"credit memo {a.credit_memo.number} to {system} for invoice "
                             f"{a.invoice.number}. Your balance due shows it once {system} "
                             "has accepted it, usually within a minute.")
        else:
            templating.flash(request, f"Applied {templating.money(a.application.amount)} of "
                             f"credit memo {a.credit_memo.number} to invoice "
                             f"{a.invoice.number}. Balance due now: "
                             f"{templating.money(a.invoice.balance_due)}.")
        return RedirectResponse(_url(invoice_id), status_code=303)

    return _attempt(request, db, who, invoice_id, form, lambda memo_id, amount: (
        portal_credit.apply(db, who=who, invoice_id=invoice_id, memo_id=memo_id,
                            amount=amount)), done)
