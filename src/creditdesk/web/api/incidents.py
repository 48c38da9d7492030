"""Service incidents and SLA policies (G5): what service-issue suggestions are computed from."""

from __future__ import annotations

from pydantic import Field

from creditdesk.domain.suggestions import sla as rules
from creditdesk.services.common.pagination import Page
from creditdesk.services.suggesting import incidents
from creditdesk.web.api import fields, responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Limit
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["incidents"], route_class=DecimalJSONRoute)


class IncidentIn(schemas.In):
    started_at: fields.Timestamp
    ended_at: fields.Timestamp = Field(description="after started_at")
    description: str = fields.text(rules.MAX_DESCRIPTION)
    customer_ids: list[fields.Id] | None = Field(
        default=None, max_length=rules.MAX_IDS,
        description="the customers affected; none or empty: every customer")
    variant_ids: list[fields.Id] | None = Field(
        default=None, max_length=rules.MAX_IDS,
        description="the products (variants) affected; none or empty: every product")


class BandIn(schemas.In):
    below: fields.Percent = Field(description="availability strictly under this percent…")
    credit_percent: fields.Percent = Field(description="…owes this percent of the month's "
                                           "recurring charge")


class PolicyIn(schemas.In):
    variant_id: fields.Id | None = Field(default=None, description="none: the default policy")
    availability_promised: fields.Percent
    bands: list[BandIn] = Field(min_length=1, max_length=rules.MAX_BANDS)


class SlaIn(schemas.In):
    policies: list[PolicyIn] = Field(max_length=rules.MAX_POLICIES)


@router.post("/incidents", status_code=201, response_model=responses.IncidentOut)
def create_incident(body: IncidentIn, db: DB, actor: CurrentActor) -> incidents.IncidentView:
    """G5: record a service incident (no customer or variant ids: it touched everyone)."""
    return incidents.create_incident(db, actor=actor, started_at=body.started_at,
                                     ended_at=body.ended_at, description=body.description,
                                     customer_ids=body.customer_ids,
                                     variant_ids=body.variant_ids)


@router.get("/incidents", response_model=responses.IncidentPage)
def list_incidents(db: DB, actor: CurrentActor, limit: Limit = 50,
                   cursor: Cursor = None) -> Page[incidents.IncidentView]:
    """The partner's incidents, most recently recorded first."""
    return incidents.list_incidents(db, actor=actor, limit=limit, cursor=cursor)


@router.get("/settings/sla", response_model=responses.SlaOut)
def get_sla(db: DB, actor: CurrentActor) -> incidents.SlaSettings:
    """G5: the SLA policies (per variant, and a default without ``variant_id``)."""
    return incidents.get_sla(db, actor=actor)


@router.put("/settings/sla", response_model=responses.SlaOut)
def put_sla(body: SlaIn, db: DB, actor: CurrentActor) -> incidents.SlaSettings:
    """G5: replace the SLA policies; percents are decimal strings ("99.9")."""
    return incidents.replace_sla(db, actor=actor, policies=[p.model_dump() for p in
                                                            body.policies])
