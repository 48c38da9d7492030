"""Customer Portal pages. The session (on the server, E4) holds one customer; every read goes
through ``services.portal`` with it, and credit appears only where that service put it
(P3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.services.access import portal_links
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.credit_memos import portal_credit
from creditdesk.services.documents import memo_documents
from creditdesk.services.read_models import portal
from creditdesk.web import csrf, forms, sessions, templating
from creditdesk.web.api import documents as api_documents
from creditdesk.web.api.deps import DB
from creditdesk.web.portal.session import session_customer

router = APIRouter(prefix="/portal", include_in_schema=False)


SIGNED_OUT = ("To see your invoices, open the sign-in link you were sent by email. Each "
              "link works once: if yours was used already, ask the business that bills you "
              "for a new one.")


def current_customer(request: Request, db: DB) -> PortalCustomer:
    who = session_customer(request, db)
    if who is None:
        raise errors.Unauthenticated(SIGNED_OUT)
    request.state.portal_customer = who
    return who


Customer = Annotated[PortalCustomer, Depends(current_customer)]


def _render(request: Request, db: DB, who: PortalCustomer, name: str, values: dict,
            credit_visible: bool | None = None, status: int = 200) -> Response:
    shown = portal.credit_visible(db, who=who) if credit_visible is None else credit_visible
    return templating.render(request, name, {"who": who, "credit_visible": shown, **values},
                             status=status)


def _link_refused(request: Request, db: Database,
                  exc: portal_links.LinkRefused) -> Response:
    """Why the link can't be used and how to get a new one, under the partner's name when
    the link was real (404, like any link that leads nowhere); a customer still signed in
    is offered the way to their account."""
    return templating.render(request, "portal/error.html",
                             {"title": exc.title, "detail": exc.detail,
                              "partner_name": exc.partner_name,
                              "who": session_customer(request, db)}, status=404)


@router.get("/sign-in/{token}")
def sign_in_page(request: Request, db: DB, token: str) -> Response:
    try:
        who = portal_links.check_link(db, token=token)
    except portal_links.LinkRefused as exc:
        return _link_refused(request, db, exc)
    return templating.render(request, "portal/sign_in.html", {
        "token": token, "name": who.customer_name, "partner_name": who.partner_name})


@router.post("/sign-in/{token}")
def sign_in(request: Request, db: DB, token: str, _f: csrf.CheckedForm) -> Response:
    try:
        who = portal_links.redeem_link(db, token=token)
    except portal_links.LinkRefused as exc:
        return _link_refused(request, db, exc)
    sessions.sign_in(request, partner_id=who.partner_id, customer_id=who.customer_id,
                     data={"name": who.customer_name, "partner": who.partner_name})
    return RedirectResponse("/portal/", status_code=303)


@router.post("/sign-out")
def sign_out(request: Request, db: DB, _f: csrf.CheckedForm) -> Response:
    who = session_customer(request, db)
    sessions.sign_out(request)
    return templating.render(request, "portal/signed_out.html",
                             {"partner_name": who.partner_name if who else None})


@router.get("/")
def overview(request: Request, db: DB, who: Customer) -> Response:
    o = portal.overview(db, who=who)
    return _render(request, db, who, "portal/overview.html", {"o": o},
                   credit_visible=o.available_credit is not None)


@router.get("/invoices")
def invoices(request: Request, db: DB, who: Customer, cursor: str | None = None) -> Response:
    page = portal.list_invoices(db, who=who, limit=50, cursor=cursor or None)
    return _render(request, db, who, "portal/invoices.html", {"page": page})


@router.get("/invoices/{invoice_id}")
def invoice(request: Request, db: DB, who: Customer, invoice_id: str) -> Response:
    return invoice_page(request, db, who, invoice_id)


def invoice_page(request: Request, db: Database, who: PortalCustomer, invoice_id: str,
                 refusal: forms.Refusal | None = None) -> Response:
    """The invoice page; with a refusal (of applying credit, P5), the page again with the
    message next to its form."""
    detail = portal.get_invoice(db, who=who, invoice_id=invoice_id)
    offer = portal_credit.offer(db, who=who, invoice_id=invoice_id)
    return _render(request, db, who, "portal/invoice.html",
                   {"d": detail, "inv": detail.invoice, "offer": offer, "refusal": refusal},
                   credit_visible=detail.credits_applied is not None,
                   status=refusal.status if refusal else 200)


@router.get("/credit-memos/{memo_id}/pdf")
def credit_memo_pdf(db: DB, who: Customer, memo_id: str) -> Response:
    """D1: one of the customer's memos as a PDF, only while its credit is visible (P3)."""
    return api_documents.pdf_response(memo_documents.portal_memo_pdf(
        db, partner_id=who.partner_id, customer_id=who.customer_id, memo_id=memo_id))


@router.get("/credit-memos")
def credit_memos(request: Request, db: DB, who: Customer,
                 cursor: str | None = None) -> Response:
    page = portal.list_credit_memos(db, who=who, limit=50, cursor=cursor or None)
    credit = portal.available_credit(db, who=who)
    return _render(request, db, who, "portal/credit_memos.html",
                   {"page": page, "credit": credit}, credit_visible=True)
