"""The customer a synced record names (Y5, Y10), whatever the record is (a credit memo, an
invoice): found by its reference (the system's customer id), else linked by the same
billing email and currency, else created. Loaded and locked once per page (``prefetch``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.domain import memo as rules
from creditdesk.services.books.sync_page import Counts
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, new_id
from creditdesk.services.customer_accounts import customer_sources

MAX_NAME = 200


class NamesCustomer(Protocol):
    """A synced record as far as its customer goes (``base.RemoteMemo``,
    ``base.RemoteInvoice``)."""

    @property
    def customer_external_id(self) -> str: ...
    @property
    def customer_name(self) -> str: ...
    @property
    def customer_email(self) -> str | None: ...
    @property
    def currency(self) -> str: ...


def _references(session: Session, partner_id: str, source: rules.Source,
                external_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The system's customer id → (reference id, customer id) of those already known."""
    ref = models.CustomerReference
    return {ext: (ref_id, customer_id) for ext, ref_id, customer_id in session.execute(
        select(ref.external_id, ref.id, ref.customer_id).where(
            ref.partner_id == partner_id, ref.system == source.value,
            ref.external_id.in_(external_ids)))}


def prefetch(session: Session, partner_id: str, source: rules.Source,
             remote: Sequence[NamesCustomer], counts: Counts) -> None:
    """Y10: the page's known references, and for the unknown ones the customers with the
    same billing email and currency (the rule stated on the customer pages); all their
    rows locked in id order, then the references read again under those locks (a merge or
    an unlink that committed meanwhile moved them)."""
    c = models.Customer
    external_ids = sorted({r.customer_external_id for r in remote})
    known = _references(session, partner_id, source, external_ids)
    emails = sorted({r.customer_email.strip().lower() for r in remote
                     if r.customer_email and r.customer_email.strip()
                     and r.customer_external_id not in known})
    candidates: list[tuple[str, str, str]] = []
    if emails:
        candidates = [(id_, email, currency) for id_, email, currency in session.execute(
            select(c.id, func.lower(c.email), c.currency).where(
                c.partner_id == partner_id, func.lower(c.email).in_(emails)))]
    wanted = {customer_id for _, customer_id in known.values()} | {x[0] for x in candidates}
    locked = _lock_customers(session, partner_id, wanted)
    known = _references(session, partner_id, source, external_ids)
    moved = {customer_id for _, customer_id in known.values()} - locked
    if moved:  # rare: taken after the others, out of order (a deadlock fails the page: Y6)
        _lock_customers(session, partner_id, moved)
    for ext, (ref_id, customer_id) in known.items():
        counts.customers[ext], counts.references[ext] = customer_id, ref_id
    for id_, email, currency in sorted(candidates, reverse=True):  # the oldest one wins
        if id_ in locked:
            counts.by_email[(email, currency)] = id_


def _lock_customers(session: Session, partner_id: str, ids: set[str]) -> set[str]:
    """Lock the partner's customers among ``ids`` in id order; the ids still there."""
    if not ids:
        return set()
    c = models.Customer
    return set(session.scalars(select(c.id).where(c.partner_id == partner_id,
                                                  c.id.in_(sorted(ids)))
                               .order_by(c.id).with_for_update()))


def customer(actor: Actor, source: rules.Source, r: NamesCustomer, counts: Counts,
             now: datetime) -> tuple[str, str]:
    """Y5, Y10: the customer holding a reference to the system's customer id; else, for an
    unknown id, the customer with the same billing email and currency
    (``customer_sources.EMAIL_RULE``), else one created from the synced data. Returns the
    customer's id and the reference's."""
    ext = r.customer_external_id
    customer_id = counts.customers.get(ext)
    if customer_id is not None:
        return customer_id, counts.references[ext]
    name = r.customer_name.strip()[:MAX_NAME] or ext
    email = (r.customer_email or "").strip() or None
    key = (email.lower(), r.currency) if email else None
    ref_id, match = new_id("ref"), counts.by_email.get(key) if key else None
    if match is not None:
        customer_id, linked_by = match, "email_rule"
        counts.events.append(audit.row(
            actor, "customer.sync_link", "customer", customer_id,
            {"source": source.value, "external_id": ext, "name": name,
             "rule": customer_sources.EMAIL_RULE}, at=now))
    else:
        customer_id, linked_by = new_id("cus"), "sync"
        counts.new_customers.append({
            "id": customer_id, "partner_id": actor.partner_id, "name": name,
            "email": email, "currency": r.currency, "created_at": now, "updated_at": now})
        if key:
            counts.by_email[key] = customer_id
        counts.events.append(audit.row(
            actor, "customer.sync_create", "customer", customer_id,
            {"source": source.value, "external_id": ext, "name": name}, at=now))
    counts.new_references.append({
        "id": ref_id, "partner_id": actor.partner_id, "customer_id": customer_id,
        "system": source.value, "external_id": ext, "name": name, "email": email,
        "linked_by": linked_by, "linked_at": now})
    counts.customers[ext], counts.references[ext] = customer_id, ref_id
    return customer_id, ref_id
