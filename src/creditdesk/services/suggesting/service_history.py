"""What the service-issue detector (G5) reads besides a customer's invoices: the partner's
incidents and SLA policies, its variants' names, and what each customer was already credited
for a service issue (a few bulk queries per batch of customers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.domain.suggestions import model, sla
from creditdesk.domain.suggestions import service_issue as rules
from creditdesk.services.suggesting import incidents

REASON = rules.REASON


@dataclass(frozen=True)
class ServiceContext:
    incidents: tuple[sla.Incident, ...] = ()
    policies: tuple[sla.Policy, ...] = ()
    variant_names: dict[str, str] = field(default_factory=dict)
    credited: dict[str, rules.Credited] = field(default_factory=dict)  # by customer id

    def suggest(self, history: model.History) -> list[model.Suggestion]:
        return rules.suggest(history, self.incidents, self.policies,
                             self.credited.get(history.customer_id, rules.Credited()),
                             variant_names=self.variant_names)


def load(session: Session, partner_id: str, customer_ids: Sequence[str]) -> ServiceContext:
    """Nothing at all (two small queries) for a partner without incidents or policies."""
    policies = incidents.load_policies(session, partner_id)
    if not policies:
        return ServiceContext()
    i = models.Incident
    found = tuple(sla.Incident(r.id, r.started_at, r.ended_at, r.description,
                                 frozenset(r.customer_ids), frozenset(r.variant_ids))
                  for r in session.scalars(select(i).where(i.partner_id == partner_id)))
    if not found:
        return ServiceContext()
    v, p = models.Variant, models.Product
    names = {vid: (f"{product} — {name}" if name and name != product else product)
             for vid, product, name in session.execute(
                 select(v.id, p.name, v.name).join(p, p.id == v.product_id)
                 .where(v.partner_id == partner_id))}
    return ServiceContext(found, tuple(policies), names,
                          _credited(session, partner_id, customer_ids))


def _credited(session: Session, partner_id: str,
              customer_ids: Sequence[str]) -> dict[str, rules.Credited]:
    """Per customer: the (variant, month) pairs of accepted service-issue suggestions whose
    memo is not void, and the invoices a hand-made service-issue memo is linked to."""
    sg, memo = models.Suggestion, models.CreditMemo
    line, inv = models.InvoiceLine, models.Invoice
    accepted = session.execute(
        select(sg.customer_id, sg.evidence, sg.credit_memo_id)
        .join(memo, memo.id == sg.credit_memo_id)
        .where(sg.partner_id == partner_id, sg.customer_id.in_(customer_ids),
               sg.reason == REASON, sg.status == "accepted", memo.status != "void")).all()
    line_ids = {lid for _, ev, _ in accepted for lid in (ev or {}).get("line_ids", [])}
    where_line: dict[str, tuple[str, str]] = {}
    if line_ids:
        for lid, vid, day in session.execute(
                select(line.id, line.variant_id, inv.issue_date)
                .join(inv, inv.id == line.invoice_id)
                .where(inv.partner_id == partner_id, line.id.in_(line_ids))):
            if vid is not None and day is not None:
                where_line[lid] = (vid, day.strftime("%Y-%m"))
    months: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for customer_id, ev, _ in accepted:
        for lid in (ev or {}).get("line_ids", []):
            if lid in where_line:
                months[customer_id].add(where_line[lid])
    from_suggestions = select(sg.credit_memo_id).where(
        sg.partner_id == partner_id, sg.credit_memo_id.is_not(None))
    by_hand: dict[str, set[str]] = defaultdict(set)
    for customer_id, invoice_id in session.execute(
            select(memo.customer_id, memo.invoice_id)
            .where(memo.partner_id == partner_id, memo.customer_id.in_(customer_ids),
                   memo.reason == REASON, memo.status != "void",
                   memo.invoice_id.is_not(None), memo.id.not_in(from_suggestions))):
        if invoice_id is not None:
            by_hand[customer_id].add(invoice_id)
    return {c: rules.Credited(frozenset(months.get(c, ())), frozenset(by_hand.get(c, ())))
            for c in set(months) | set(by_hand)}
