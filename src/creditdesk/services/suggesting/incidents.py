"""Service incidents and SLA policies (G5): record and list incidents, read and replace the
partner's SLA policies. Each change is one transaction and audited (E1); customer and
variant ids must be the partner's own (another partner's are unknown: 422 naming the field).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import errors, tax
from creditdesk.domain.suggestions import sla as rules
from creditdesk.services.common import audit, pagination
from creditdesk.services.common.context import Actor, clock, new_id

_I = models.Incident
_P = models.SlaPolicy


@dataclass(frozen=True)
class IncidentView:
    id: str
    started_at: datetime
    ended_at: datetime
    description: str
    customer_ids: list[str]
    variant_ids: list[str]
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class BandView:
    below: str  # percents as their exact decimal text ("99.9")
    credit_percent: str


@dataclass(frozen=True)
class PolicyView:
    variant_id: str | None
    availability_promised: str
    bands: list[BandView]


@dataclass(frozen=True)
class SlaSettings:
    policies: list[PolicyView]


def incident_view(row: models.Incident) -> IncidentView:
    return IncidentView(row.id, row.started_at, row.ended_at, row.description,
                        list(row.customer_ids), list(row.variant_ids), row.created_by,
                        row.created_at)


def _ids(value: object, field: str) -> list[str]:
    """A list of ids, each once, in the order given."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise errors.ValidationError.for_field(field, "must be a list of ids")
    out: list[str] = []
    for v in value:
        if v not in out:
            out.append(v)
    return out


def _check_known(session: Session, model: type[models.Customer] | type[models.Variant],
                 partner_id: str, ids: Sequence[str], field: str, kind: str) -> None:
    if not ids:
        return
    found = set(session.scalars(select(model.id).where(model.partner_id == partner_id,
                                                       model.id.in_(ids))))
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise errors.ValidationError.for_field(
            field, f"no {kind} with id {', '.join(unknown[:5])}"
            + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""))


def create_incident(db: Database, *, actor: Actor, started_at: datetime, ended_at: datetime,
                    description: object, customer_ids: object = None,
                    variant_ids: object = None) -> IncidentView:
    """G5: record an incident; no customers or variants: it touched everyone."""
    customers = _ids(customer_ids, "customer_ids")
    variants = _ids(variant_ids, "variant_ids")
    text = rules.check_incident(started_at=started_at, ended_at=ended_at,
                                description=description, customer_ids=customers,
                                variant_ids=variants)
    with db.write() as session:
        return incident_view(create_in(session, actor, started_at, ended_at, text, customers,
                                       variants))


def create_in(session: Session, actor: Actor, started_at: datetime, ended_at: datetime,
              description: str, customers: list[str], variants: list[str]) -> models.Incident:
    """The insert of a checked incident inside the caller's transaction (the CLI's import
    adds many in one)."""
    _check_known(session, models.Customer, actor.partner_id, customers, "customer_ids",
                 "customer")
    _check_known(session, models.Variant, actor.partner_id, variants, "variant_ids",
                 "variant")
    row = _I(id=new_id("inc"), partner_id=actor.partner_id, started_at=started_at,
             ended_at=ended_at, description=description, customer_ids=customers,
             variant_ids=variants, created_by=actor.name, created_at=clock.now())
    session.add(row)
    audit.record(session, actor, "incident.create", "incident", row.id,
                 {"started_at": started_at.isoformat(), "ended_at": ended_at.isoformat(),
                  "description": description, "customer_ids": customers,
                  "variant_ids": variants})
    return row


CSV_COLUMNS = ("started_at", "ended_at", "description", "customer_ids", "variant_ids")


def import_rows(db: Database, *, actor: Actor,
                rows: Sequence[Mapping[str, str | None]]) -> list[IncidentView]:
    """G5: incidents from CSV rows (``CSV_COLUMNS``; id lists separated by ``;``), all or
    nothing: one refused row refuses the file, and the error lists every refused row's
    field as ``row N: field`` (N counts data rows from 1, the header not counted)."""
    problems: list[errors.FieldError] = []
    with db.write() as session:
        if session.get(models.Partner, actor.partner_id) is None:
            raise errors.NotFound(f"No partner with id {actor.partner_id}.")
        made: list[models.Incident] = []
        for n, raw in enumerate(rows, start=1):
            try:
                made.append(_import_one(session, actor, raw))
            except errors.ValidationError as exc:
                problems.extend(errors.FieldError(f"row {n}: {e.field}", e.message)
                                for e in exc.errors)
        if not rows:
            problems.append(errors.FieldError("file", "has no incident rows"))
        if problems:
            raise errors.ValidationError(
                f"{len(problems)} problem(s); nothing was imported.", errors=problems)
        return [incident_view(r) for r in made]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def _import_one(session: Session, actor: Actor,
                raw: Mapping[str, str | None]) -> models.Incident:
    started = rules.parse_time(raw.get("started_at"), "started_at")
    ended = rules.parse_time(raw.get("ended_at"), "ended_at")
    customers, variants = _split(raw.get("customer_ids")), _split(raw.get("variant_ids"))
    text = rules.check_incident(started_at=started, ended_at=ended,
                                description=raw.get("description"), customer_ids=customers,
                                variant_ids=variants)
    # create_in checks the ids before it adds anything: a refused row leaves nothing behind
    return create_in(session, actor, started, ended, text, _ids(customers, "customer_ids"),
                     _ids(variants, "variant_ids"))


def list_incidents(db: Database, *, actor: Actor, limit: int = 50,
                   cursor: str | None = None) -> pagination.Page[IncidentView]:
    """The partner's incidents, most recently recorded first."""
    with db.read() as session:
        return pagination.newest_first(session, select(_I).where(
            _I.partner_id == actor.partner_id), _I.id, limit=limit, cursor=cursor,
            view=incident_view)


def _policy_view(p: rules.Policy) -> PolicyView:
    return PolicyView(p.variant_id, tax.percent_text(p.availability_promised),
                      [BandView(tax.percent_text(b.below), tax.percent_text(b.credit_percent))
                       for b in p.bands])


def load_policies(session: Session, partner_id: str) -> list[rules.Policy]:
    """The partner's policies: the default (no variant) first, then by variant id."""
    rows = session.scalars(select(_P).where(_P.partner_id == partner_id))
    out = [rules.Policy(r.variant_id, r.availability_promised,
                        tuple(rules.Band(b["below"], b["credit_percent"]) for b in r.bands))
           for r in rows]
    out.sort(key=lambda p: (p.variant_id is not None, p.variant_id or ""))
    return out


def get_sla(db: Database, *, actor: Actor) -> SlaSettings:
    with db.read() as session:
        return SlaSettings([_policy_view(p) for p in load_policies(session, actor.partner_id)])


def replace_sla(db: Database, *, actor: Actor, policies: object) -> SlaSettings:
    """G5: the SLA policies as a whole: what is not listed has none."""
    wanted = rules.parse_policies(policies)
    return _save(db, actor, lambda _current: wanted, "policies[{i}].variant_id")


def set_policy(db: Database, *, actor: Actor, variant_id: str | None,
               availability_promised: object, bands: object) -> SlaSettings:
    """One product's policy (``variant_id`` None: the default one) set; the others kept."""
    policy = rules.parse_policy(variant_id, availability_promised, bands)
    return _save(db, actor, lambda current: [p for p in current if p.variant_id != variant_id]
                 + [policy], "variant_id")


def remove_policy(db: Database, *, actor: Actor, variant_id: str | None) -> SlaSettings:
    """One product's policy removed (none there: nothing changes)."""
    return _save(db, actor, lambda current: [p for p in current if p.variant_id != variant_id],
                 "variant_id")


def _save(db: Database, actor: Actor,
          change: Callable[[list[rules.Policy]], list[rules.Policy]],
          variant_field: str) -> SlaSettings:
    now = clock.now()
    with db.write() as session:
        # the partner's row first: two changes at once end one after the other, whole
        session.execute(select(models.Partner.id).where(models.Partner.id == actor.partner_id)
                        .with_for_update(key_share=True))
        current = load_policies(session, actor.partner_id)
        wanted = change(current)
        for i, p in enumerate(wanted):
            if p.variant_id is not None and p not in current:
                _check_known(session, models.Variant, actor.partner_id, [p.variant_id],
                             variant_field.format(i=i), "variant")
        before = [_audit_form(p) for p in current]
        session.execute(delete(_P).where(_P.partner_id == actor.partner_id))
        session.add_all(_P(id=new_id("sla"), partner_id=actor.partner_id,
                           variant_id=p.variant_id,
                           availability_promised=p.availability_promised,
                           bands=[{"below": b.below, "credit_percent": b.credit_percent}
                                  for b in p.bands], updated_at=now) for p in wanted)
        session.flush()
        saved = load_policies(session, actor.partner_id)
        after = [_audit_form(p) for p in saved]
        if before != after:
            audit.record(session, actor, "settings.sla", "partner", actor.partner_id,
                         {"from": before, "to": after})
        return SlaSettings([_policy_view(p) for p in saved])


def _audit_form(p: rules.Policy) -> dict[str, object]:
    v = _policy_view(p)
    return {"variant_id": v.variant_id, "availability_promised": v.availability_promised,
            "bands": [{"below": b.below, "credit_percent": b.credit_percent} for b in v.bands]}
