"""Read model of the dashboard's suggestion panels (P1, G2): the open suggestions of a
partner or one customer, with their customer's name and the numbers of the invoices they
concern, most confident first. One snapshot per page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import suggestions as rules
from creditdesk.domain.suggestions import service_issue
from creditdesk.services.common.context import Actor
from creditdesk.services.suggesting.suggestions import SuggestionView, view

# the detectors' reasons and G5's service credits
REASONS = (*rules.REASONS, service_issue.REASON)
LIMIT = 100  # most confident first; the page says how many more there are


@dataclass(frozen=True)
class InvoiceRef:
    id: str
    number: str


@dataclass(frozen=True)
class SuggestionRow:
    s: SuggestionView
    customer_name: str
    invoices: list[InvoiceRef]


@dataclass(frozen=True)
class OpenSuggestions:
    rows: list[SuggestionRow]
    total: int  # open suggestions matching the filters (rows holds at most LIMIT)
    customers: list[tuple[str, str]]  # (id, name) of the partner's customers with any open
    reasons: tuple[str, ...] = REASONS


def open_suggestions(db: Database, *, actor: Actor, customer_id: str | None = None,
                     reason: str | None = None, limit: int = LIMIT) -> OpenSuggestions:
    """Open suggestions, filtered by customer and reason (an unknown reason filters
    nothing out: it is a page filter, not input to refuse)."""
    sg, cu, inv = models.Suggestion, models.Customer, models.Invoice
    where = [sg.partner_id == actor.partner_id, sg.status == "open"]
    if customer_id:
        where.append(sg.customer_id == customer_id)
    if reason in REASONS:
        where.append(sg.reason == reason)
    with db.read() as session:
        total = int(session.scalar(select(func.count()).select_from(sg).where(*where)) or 0)
        found = session.execute(
            select(sg, cu.name).join(cu, cu.id == sg.customer_id).where(*where)
            .order_by(sg.confidence_bp.desc(), sg.id).limit(limit)).all()
        wanted = {i for row, _ in found for i in row.invoice_ids}
        numbers = dict(session.execute(
            select(inv.id, inv.number).where(inv.partner_id == actor.partner_id,
                                             inv.id.in_(wanted))).all()) if wanted else {}
        people = [(cid, name) for cid, name in session.execute(
            select(cu.id, cu.name).where(cu.partner_id == actor.partner_id, cu.id.in_(
                select(sg.customer_id).where(sg.partner_id == actor.partner_id,
                                             sg.status == "open")))
            .order_by(cu.name, cu.id))]
        rows = [SuggestionRow(view(row), name,
                              [InvoiceRef(i, numbers.get(i, i)) for i in row.invoice_ids])
                for row, name in found]
    return OpenSuggestions(rows, total, people)
