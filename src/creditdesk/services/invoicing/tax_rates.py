"""A partner's tax rates (T1), and the tax of a document's lines with them (T2).

Rates are made and listed, never changed: a document stores each line's tax (and the
rate's name) when the line is saved, so its figures are never recomputed differently later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, selectinload

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors, tax
from creditdesk.domain.lines import Line
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id


@dataclass(frozen=True)
class ComponentView:
    name: str
    rate: str  # percent, exact text


@dataclass(frozen=True)
class TaxRateView:
    id: str
    name: str
    rate: str  # the whole percentage (the components' sum)
    components: list[ComponentView]
    created_at: datetime


def _rate_of(row: models.TaxRate) -> tax.Rate:
    """The domain's rate of a stored one (a simple rate has no component rows)."""
    if not row.components:
        return tax.Rate(row.name, (tax.Component(row.name, row.rate_e4),))
    return tax.Rate(row.name, tuple(tax.Component(c.name, c.rate_e4) for c in row.components))


def _view(row: models.TaxRate) -> TaxRateView:
    return TaxRateView(row.id, row.name, tax.percent_text(row.rate_e4),
                       [ComponentView(c.name, tax.percent_text(c.rate_e4))
                        for c in row.components], row.created_at)


def create_tax_rate(db: Database, *, actor: Actor, name: object, rate: object = None,
                    components: object = None) -> TaxRateView:
    """T1: a named rate, simple (``rate``) or compound (``components``); names are unique
    per partner, whatever their case."""
    parsed = tax.parse_rate(name, rate, components)
    now = clock.now()
    with db.write() as session:
        tr = models.TaxRate
        taken = session.scalar(select(tr.id).where(
            tr.partner_id == actor.partner_id,
            func.lower(tr.name) == parsed.name.lower()))
        if taken is not None:
            raise errors.ValidationError.for_field(
                "name", f"a tax rate named {parsed.name!r} already exists")
        row = models.TaxRate(id=new_id("tax"), partner_id=actor.partner_id, name=parsed.name,
                             rate_e4=parsed.rate, created_at=now)
        session.add(row)
        session.flush()
        if parsed.compound:
            session.add_all(models.TaxRateComponent(tax_rate_id=row.id, position=i,
                                                    name=c.name, rate_e4=c.rate)
                            for i, c in enumerate(parsed.components))
        session.flush()
        session.refresh(row, ["components"])
        audit.record(session, actor, "tax_rate.create", "tax_rate", row.id,
                     {"name": row.name, "rate": tax.percent_text(row.rate_e4),
                      "components": [{"name": c.name, "rate": tax.percent_text(c.rate_e4)}
                                     for c in row.components]})
        return _view(row)


def list_tax_rates(db: Database, *, actor: Actor) -> list[TaxRateView]:
    """The partner's rates, by name."""
    tr = models.TaxRate
    with db.read() as session:
        rows = session.scalars(select(tr).where(tr.partner_id == actor.partner_id)
                               .options(selectinload(tr.components))
                               .order_by(func.lower(tr.name), tr.id)).all()
        return [_view(r) for r in rows]


def rates_for(target: Session | Connection, partner_id: str,
              lines: list[Line]) -> dict[str, tax.Rate]:
    """The rates ``lines`` name, each one of the partner's (another partner's is unknown
    here: 422 naming the line's field)."""
    wanted = {li.tax_rate_id for li in lines if li.tax_rate_id}
    if not wanted:
        return {}
    tr, tc = models.TaxRate, models.TaxRateComponent
    own = {rid: (name, rate_e4) for rid, name, rate_e4 in target.execute(
        select(tr.id, tr.name, tr.rate_e4).where(
            tr.partner_id == partner_id, tr.id.in_(wanted)))}
    parts: dict[str, list[tax.Component]] = {}
    for rate_id, name, rate_e4 in target.execute(
            select(tc.tax_rate_id, tc.name, tc.rate_e4).where(tc.tax_rate_id.in_(list(own)))
            .order_by(tc.tax_rate_id, tc.position)):
        parts.setdefault(rate_id, []).append(tax.Component(name, rate_e4))
    found = {rid: tax.Rate(name, tuple(parts.get(rid) or [tax.Component(name, rate_e4)]))
             for rid, (name, rate_e4) in own.items()}
    problems = [errors.FieldError(f"lines[{i}].tax_rate_id",
                                  f"no tax rate with id {li.tax_rate_id}")
                for i, li in enumerate(lines) if li.tax_rate_id and li.tax_rate_id not in found]
    if problems:
        raise errors.ValidationError("; ".join(f"{p.field}: {p.message}" for p in problems),
                                     errors=problems)
    return found


def parse_inclusive(value: object, default: bool = False) -> bool:
    """T1: whether a document's prices include tax (exclusive unless it says so)."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise errors.ValidationError.for_field("tax_inclusive", "must be true or false")
    return value


@dataclass(frozen=True)
class TaxedLines:
    """A document's lines' figures (T2): each line's (tax, rate name) to store, and the
    document's totals."""

    taxes: list[tuple[int, str | None]]
    totals: tax.DocumentTotals


def taxed(lines: list[Line], figures: list[tax.LineTax],
          rates: dict[str, tax.Rate]) -> TaxedLines:
    """Pairs each line with its computed figures, and sums them (T2)."""
    names = [rates[li.tax_rate_id].name if li.tax_rate_id else None for li in lines]
    return TaxedLines([(f.tax, n) for f, n in zip(figures, names, strict=True)],
                      tax.document_totals([(li.tax_rate_id, f)
                                           for li, f in zip(lines, figures, strict=True)]))


def line_taxes(lines: list[Line], rates: dict[str, tax.Rate], *,
               inclusive: bool) -> TaxedLines:
    """T2 for lines that credit nothing (an invoice's; a memo's own)."""
    figures = [tax.line_tax(li.amount.minor, rates.get(li.tax_rate_id or ""),
                            inclusive=inclusive) for li in lines]
    return taxed(lines, figures, rates)
