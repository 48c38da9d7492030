"""Customer list and customer page: credit summary per currency with the memos behind it
(S1), invoices, memos, and a Customer Portal sign-in link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from creditdesk.services import customers, pages, portal_links
from creditdesk.web import htmx, templating
from creditdesk.web.api.deps import DB
from creditdesk.web.auth import User
from creditdesk.web.csrf import CheckedForm
from creditdesk.web.portal.links import link_url

router = APIRouter()


@router.get("/customers")
def customer_list(request: Request, db: DB, actor: User, q: str = "",
                  cursor: str | None = None) -> Response:
    page = customers.list_customers(db, actor=actor, q=q or None, limit=50,
                                    cursor=cursor or None)
    return templating.render(request, "dashboard/customers.html", {
        "page": page, "q": q, "cursor": cursor},
        block=htmx.wanted_block(request, "customer-results"))


def _page(request: Request, db: DB, actor, customer_id: str, **extra: object) -> Response:
    p = pages.customer_page(db, actor=actor, customer_id=customer_id)
    return templating.render(request, "dashboard/customer.html", {"p": p, "c": p.customer,
                                                                   **extra})


@router.get("/customers/{customer_id}")
def customer_detail(request: Request, db: DB, actor: User, customer_id: str) -> Response:
    return _page(request, db, actor, customer_id)


@router.post("/customers/{customer_id}/portal-link")
def portal_link(request: Request, db: DB, actor: User, customer_id: str,
                _f: CheckedForm) -> Response:
    link = portal_links.create_link(db, actor=actor, customer_id=customer_id)
    return _page(request, db, actor, customer_id, portal_link=link_url(request, link.token),
                 portal_link_expires=link.expires_at)
