"""Tax rates and the tax report (T1, T4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from creditdesk.services.common.pagination import Page
from creditdesk.services.invoicing import tax_rates
from creditdesk.services.read_models import tax_report
from creditdesk.web.api import fields, responses, schemas
from creditdesk.web.api.deps import DB, CurrentActor, filter_query
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.reports import CURRENCIES
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["tax"], route_class=DecimalJSONRoute)


@router.post("/tax-rates", status_code=201, response_model=responses.TaxRateOut)
def create_tax_rate(body: schemas.TaxRateIn, db: DB,
                    actor: CurrentActor) -> tax_rates.TaxRateView:
    """T1: a named rate, simple (``rate``) or compound (``components``, whose rates add)."""
    components = ([c.model_dump() for c in body.components]
                  if body.components is not None else None)
    return tax_rates.create_tax_rate(db, actor=actor, name=body.name, rate=body.rate,
                                     components=components)


@router.get("/tax-rates", response_model=responses.Page[responses.TaxRateOut])
def list_tax_rates(db: DB, actor: CurrentActor) -> Page[tax_rates.TaxRateView]:
    """Every rate of the partner, by name (one page)."""
    return Page(tax_rates.list_tax_rates(db, actor=actor), None)


@router.get("/reports/tax", response_model=responses.TaxReportOut,
            response_model_by_alias=True)
def report_tax(db: DB, actor: CurrentActor,
               from_: Annotated[fields.QueryDay, Query(alias="from")],
               to: fields.QueryDay,
               currency: Annotated[str, filter_query(values=CURRENCIES)] = "USD",
               ) -> tax_report.TaxReport:
    """T4: tax charged (invoices) and credited (credit memos) per rate, from ``from`` to
    ``to`` (both included), in one currency (default USD)."""
    return tax_report.tax_report(db, actor=actor, start=from_, end=to, currency=currency)
