"""Customers and their credit summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from creditdesk.services import customers, portal_links
from creditdesk.web.api import present, responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.portal.links import link_url

router = APIRouter(tags=["customers"], route_class=DecimalJSONRoute)


def customer_out(c: customers.CustomerView) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "email": c.email, "currency": c.currency,
            "external_source": c.external_source, "external_id": c.external_id,
            "created_at": c.created_at}


@router.post("/customers", status_code=201, response_model=responses.CustomerOut)
def create_customer(body: schemas.CustomerIn, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return customer_out(customers.create_customer(
        db, actor=actor, name=body.name, email=body.email, currency=body.currency))


@router.get("/customers", response_model=responses.CustomerPage)
def list_customers(db: DB, actor: CurrentActor, q: Filter = None, limit: Limit = 50,
                   cursor: Cursor = None) -> dict[str, Any]:
    page = customers.list_customers(db, actor=actor, q=q, limit=limit, cursor=cursor)
    return present.page_out(page, customer_out)


@router.get("/customers/{customer_id}", response_model=responses.CustomerOut)
def get_customer(customer_id: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    return customer_out(customers.get_customer(db, actor=actor, customer_id=customer_id))


@router.get("/customers/{customer_id}/credit-summary",
            response_model=responses.CreditSummaryOut)
def credit_summary(customer_id: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    s = customers.credit_summary(db, actor=actor, customer_id=customer_id)
    return {
        "customer_id": s.customer_id,
        "balances": [{"currency": b.currency, "available_credit": b.to_str()} for b in s.balances],
        "memos": [{"id": m.id, "number": m.number, "currency": m.currency,
                   "total": m.total.to_str(), "remaining_amount": m.remaining_amount.to_str(),
                   "status": m.status, "source": m.source} for m in s.memos],
    }


@router.post("/customers/{customer_id}/portal-link", status_code=201,
             response_model=responses.PortalLinkOut)
def portal_link(customer_id: str, request: Request, db: DB,
                actor: CurrentActor) -> dict[str, Any]:
    """A one-time Customer Portal sign-in link for the customer, valid for 7 days."""
    link = portal_links.create_link(db, actor=actor, customer_id=customer_id)
    return {"url": link_url(request, link.token), "expires_at": link.expires_at}
