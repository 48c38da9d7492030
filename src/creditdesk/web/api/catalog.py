"""Products, variants and inventory activity."""

from __future__ import annotations

from creditdesk.services.accounting import ledger
from creditdesk.services.common.pagination import Page
from creditdesk.services.invoicing import catalog
from creditdesk.web.api import responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, Cursor, Filter, Limit
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["catalog"], route_class=DecimalJSONRoute)


@router.post("/products", status_code=201, response_model=responses.ProductOut)
def create_product(body: schemas.ProductIn, db: DB,
                   actor: CurrentActor) -> catalog.ProductView:
    return catalog.create_product(
        db, actor=actor, name=body.name, currency=body.currency,
        variants=[catalog.VariantInput(v.sku, v.name, v.price, v.stock_on_hand)
                  for v in body.variants])


@router.get("/variants/{variant_id}", response_model=responses.VariantOut)
def get_variant(variant_id: str, db: DB, actor: CurrentActor) -> catalog.VariantView:
    return catalog.get_variant(db, actor=actor, variant_id=variant_id)


@router.get("/inventory-activities", response_model=responses.ActivityPage)
def list_activities(db: DB, actor: CurrentActor, variant_id: Filter = None,
                    source_id: Filter = None, limit: Limit = 50,
                    cursor: Cursor = None) -> Page[ledger.ActivityView]:
    return ledger.list_activities(db, actor=actor, variant_id=variant_id, source_id=source_id,
                                  limit=limit, cursor=cursor)
