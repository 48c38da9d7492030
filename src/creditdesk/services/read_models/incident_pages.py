"""Read model of the dashboard's Incidents and SLA policy pages (G5): the incidents with
the names of the customers and products they touched, the choices the forms offer, and the
policies with their products' names. One snapshot per page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.common.context import Actor
from creditdesk.services.suggesting import incidents

LIMIT = 100  # most recently recorded first; the API pages through the rest
OPTIONS = 500  # customers and products a form lists


@dataclass(frozen=True)
class IncidentRow:
    incident: incidents.IncidentView
    customers: list[str]  # names; empty: everyone
    products: list[str]

    @property
    def hours(self) -> str:
        minutes = int((self.incident.ended_at - self.incident.started_at).total_seconds()) // 60
        return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True)
class PolicyRow:
    policy: incidents.PolicyView
    product: str  # the product's name, or "Default"


@dataclass(frozen=True)
class IncidentsPage:
    rows: list[IncidentRow]
    more: bool
    customers: list[tuple[str, str]]  # (id, name) for the form
    products: list[tuple[str, str]]  # (variant id, "Product — Variant (SKU)")
    policies: list[PolicyRow]


def _labels(session: Session,
            partner_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    cu, v, p = models.Customer, models.Variant, models.Product
    customers = [(cid, name) for cid, name in session.execute(
        select(cu.id, cu.name).where(cu.partner_id == partner_id)
        .order_by(cu.name, cu.id).limit(OPTIONS))]
    products = [(vid, f"{product} — {name} ({sku})") for vid, product, name, sku in
                session.execute(select(v.id, p.name, v.name, v.sku)
                                .join(p, p.id == v.product_id)
                                .where(v.partner_id == partner_id)
                                .order_by(p.name, v.sku).limit(OPTIONS))]
    return customers, products


def incidents_page(db: Database, *, actor: Actor) -> IncidentsPage:
    page = incidents.list_incidents(db, actor=actor, limit=LIMIT)
    sla = incidents.get_sla(db, actor=actor)
    with db.read() as session:
        customers, products = _labels(session, actor.partner_id)
        wanted_c = {c for i in page.data for c in i.customer_ids}
        wanted_v = {v for i in page.data for v in i.variant_ids} | {
            p.variant_id for p in sla.policies if p.variant_id}
        cnames = dict(session.execute(select(models.Customer.id, models.Customer.name).where(
            models.Customer.partner_id == actor.partner_id,
            models.Customer.id.in_(wanted_c))).all()) if wanted_c else {}
        vnames = {vid: f"{product} — {name}" for vid, product, name in session.execute(
            select(models.Variant.id, models.Product.name, models.Variant.name)
            .join(models.Product, models.Product.id == models.Variant.product_id)
            .where(models.Variant.partner_id == actor.partner_id,
                   models.Variant.id.in_(wanted_v)))} if wanted_v else {}
    rows = [IncidentRow(i, [cnames.get(c, c) for c in i.customer_ids],
                        [vnames.get(v, v) for v in i.variant_ids]) for i in page.data]
    policies = [PolicyRow(p, vnames.get(p.variant_id, p.variant_id) if p.variant_id
                          else "Default (every other product)") for p in sla.policies]
    return IncidentsPage(rows, page.next_cursor is not None, customers, products, policies)
