"""Customers and their credit summary."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from creditdesk.services.access import portal_links
from creditdesk.services.common.pagination import Page
from creditdesk.services.customer_accounts import customer_sources, customers
from creditdesk.web.api import responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter
from creditdesk.web.portal.links import link_url

router = ApiRouter(tags=["customers"], route_class=DecimalJSONRoute)


@router.post("/customers", status_code=201, response_model=responses.CustomerOut)
def create_customer(body: schemas.CustomerIn, db: DB,
                    actor: CurrentActor) -> customers.CustomerView:
    return customers.create_customer(db, actor=actor, name=body.name, email=body.email,
                                     currency=body.currency)


@router.get("/customers", response_model=responses.CustomerPage)
def list_customers(db: DB, actor: CurrentActor, q: Filter = None, limit: Limit = 50,
                   cursor: Cursor = None) -> Page[customers.CustomerView]:
    return customers.list_customers(db, actor=actor, q=q, limit=limit, cursor=cursor)


@router.get("/customers/{customer_id}", response_model=responses.CustomerOut)
def get_customer(customer_id: str, db: DB, actor: CurrentActor) -> customers.CustomerView:
    return customers.get_customer(db, actor=actor, customer_id=customer_id)


@router.get("/customers/{customer_id}/credit-summary",
            response_model=responses.CreditSummaryOut)
def credit_summary(customer_id: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    s = customers.credit_summary(db, actor=actor, customer_id=customer_id)
    return {
        "customer_id": s.customer_id,
        "balances": [{"currency": b.currency, "available_credit": b} for b in s.balances],
        "memos": s.memos,  # read by SummaryMemoOut
        "refunded": [{"currency": r.currency, "amount": r} for r in s.refunded],  # R3
        "refunds": s.refunds,  # read by SummaryRefundOut
    }


@router.post("/customers/{customer_id}/portal-link", status_code=201,
             response_model=responses.PortalLinkOut)
def portal_link(customer_id: str, request: Request, db: DB,
                actor: CurrentActor) -> dict[str, Any]:
    """A one-time Customer Portal sign-in link for the customer, valid for 7 days."""
    link = portal_links.create_link(db, actor=actor, customer_id=customer_id)
    return {"url": link_url(request, link.token), "expires_at": link.expires_at}


@router.get("/customers/{customer_id}/references", response_model=list[responses.ReferenceOut])
def references(customer_id: str, db: DB,
               actor: CurrentActor) -> list[customers.ReferenceView]:
    """Y10: the customer's records in the connected systems, oldest link first."""
    return customer_sources.list_references(db, actor=actor, customer_id=customer_id)


@router.post("/customers/{customer_id}/merge", response_model=responses.CustomerOut,
             responses={403: {}})
def merge(customer_id: str, body: schemas.MergeIn, db: DB,
          actor: CurrentActor) -> customers.CustomerView:
    """Y10 (admins): ``customer_id`` of the body is merged into this customer, which
    survives with all its memos, invoices and references; customers of different
    currencies are refused."""
    return customer_sources.merge(db, actor=actor, customer_id=customer_id,
                                  merged_customer_id=body.customer_id).customer


@router.delete("/customers/{customer_id}/references/{reference_id}", status_code=204,
               responses={403: {}})
def unlink(customer_id: str, reference_id: str, db: DB, actor: CurrentActor) -> Response:
    """Y10 (admins): the reference moves to a new customer created from it, with the
    synced memos that name it."""
    customer_sources.unlink(db, actor=actor, customer_id=customer_id,
                            reference_id=reference_id)
    return Response(status_code=204)
