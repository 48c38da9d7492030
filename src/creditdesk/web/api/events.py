"""Outbound webhooks (D4, D5): endpoints, events with their deliveries, replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import Response

from creditdesk.domain import webhooks as rules
from creditdesk.services.common.pagination import Page
from creditdesk.services.events import endpoints, event_log
from creditdesk.web.api import responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Limit, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["events"], route_class=DecimalJSONRoute)


@router.post("/webhook-endpoints", status_code=201,
             response_model=responses.WebhookEndpointCreatedOut)
def create_endpoint(body: schemas.WebhookEndpointIn, db: DB,
                    actor: CurrentActor) -> endpoints.EndpointCreated:
    """D4: register a receiver; the answer holds its signing secret, shown this once."""
    return endpoints.create_endpoint(db, actor=actor, url=body.url, events=body.events)


@router.get("/webhook-endpoints", response_model=responses.WebhookEndpointPage)
def list_endpoints(db: DB, actor: CurrentActor) -> Page[endpoints.EndpointView]:
    return Page(endpoints.list_endpoints(db, actor=actor), None)


@router.get("/webhook-endpoints/{endpoint_id}", response_model=responses.WebhookEndpointOut)
def get_endpoint(endpoint_id: str, db: DB, actor: CurrentActor) -> endpoints.EndpointView:
    return endpoints.get_endpoint(db, actor=actor, endpoint_id=endpoint_id)


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, db: DB, actor: CurrentActor) -> Response:
    """Stop sending to it; its pending deliveries are cancelled."""
    endpoints.delete_endpoint(db, actor=actor, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret",
             response_model=responses.SecretRotatedOut)
def rotate_secret(endpoint_id: str, db: DB, actor: CurrentActor) -> endpoints.SecretRotated:
    """D4: a new secret, shown once; the old one signs too for 24 hours."""
    return endpoints.rotate_secret(db, actor=actor, endpoint_id=endpoint_id)


@router.get("/events", response_model=responses.EventPage)
def list_events(db: DB, actor: CurrentActor, limit: Limit = 50, cursor: Cursor = None,
                type: Annotated[str | None, filter_query(values=list(rules.TYPES))] = None,
                ) -> Page[event_log.EventView]:
    """D4, D5: the events sent to the partner's endpoints, newest first, with their
    deliveries and attempts."""
    return event_log.list_events(db, actor=actor, limit=limit, cursor=cursor, event_type=type)


@router.get("/events/{event_id}", response_model=responses.EventOut)
def get_event(event_id: str, db: DB, actor: CurrentActor) -> event_log.EventView:
    return event_log.get_event(db, actor=actor, event_id=event_id)


@router.post("/events/{event_id}/redeliver", response_model=responses.EventOut)
def redeliver(event_id: str, db: DB, actor: CurrentActor) -> event_log.EventView:
    """D4 replay: send the event again to each of its live endpoints (same id and body)."""
    return event_log.redeliver(db, actor=actor, event_id=event_id)

