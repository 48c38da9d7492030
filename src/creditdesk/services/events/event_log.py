"""D4, D5: a partner's events with their deliveries and attempts (``GET /events``, the
dashboard's Webhooks page), and replay (``POST /events/{id}/redeliver``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from creditdesk.db import locks, models
from creditdesk.db.engine import Database
from creditdesk.domain import errors
from creditdesk.domain import webhooks as rules
from creditdesk.services.common import audit, pagination
from creditdesk.services.common.context import Actor, clock, require_admin
from creditdesk.services.events import outbox

ATTEMPTS_SHOWN = 20
KEPT_FOR = timedelta(days=30)  # as Stripe keeps events; a delivery gives up after three days
PURGE_BATCH = 5_000
_E, _D, _A = models.Event, models.WebhookDelivery, models.WebhookAttempt


@dataclass(frozen=True)
class AttemptView:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None


@dataclass(frozen=True)
class DeliveryView:
    id: str
    endpoint_id: str
    url: str
    status: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    attempts: list[AttemptView]  # newest first, the last ATTEMPTS_SHOWN


@dataclass(frozen=True)
class EventView:
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
    deliveries: list[DeliveryView]


def _views(session: Session, rows: list[models.Event]) -> list[EventView]:
    if not rows:
        return []
    deliveries = session.execute(select(_D, models.WebhookEndpoint.url).join(
        models.WebhookEndpoint, models.WebhookEndpoint.id == _D.endpoint_id).where(
        _D.event_id.in_([r.id for r in rows])).order_by(_D.id)).all()
    attempts: dict[str, list[AttemptView]] = {}
    if deliveries:
        for a in session.scalars(select(_A).where(
                _A.delivery_id.in_([d.id for d, _ in deliveries])).order_by(_A.at.desc())):
            shown = attempts.setdefault(a.delivery_id, [])
            if len(shown) < ATTEMPTS_SHOWN:
                shown.append(AttemptView(a.at, a.status_code, a.error, a.duration_ms,
                                         a.response_excerpt))
    by_event: dict[str, list[DeliveryView]] = {}
    for d, url in deliveries:
        by_event.setdefault(d.event_id, []).append(DeliveryView(
            d.id, d.endpoint_id, url, d.status,
            d.next_attempt_at if d.status == "pending" else None, d.delivered_at,
            d.last_error, attempts.get(d.id, [])))
    return [EventView(r.id, r.type, r.created_at, json.loads(r.body)["data"],
                      by_event.get(r.id, [])) for r in rows]


def list_events(db: Database, *, actor: Actor, limit: int = 50, cursor: str | None = None,
                event_type: str | None = None) -> pagination.Page[EventView]:
    """The partner's events, newest first, each with its deliveries."""
    if event_type is not None and event_type not in rules.TYPES:
        raise errors.ValidationError.for_field("type", f"Unknown event type {event_type!r}.")
    stmt = select(_E).where(_E.partner_id == actor.partner_id)
    if event_type is not None:
        stmt = stmt.where(_E.type == event_type)
    with db.read() as session:
        return pagination.newest_first(session, stmt, _E.id, limit=limit, cursor=cursor,
                                       views=lambda rows: _views(session, rows))


def get_event(db: Database, *, actor: Actor, event_id: str) -> EventView:
    with db.read() as session:
        row = locks.get_scoped(session, _E, actor.partner_id, event_id, label="event")
        return _views(session, [row])[0]


def redeliver(db: Database, *, actor: Actor, event_id: str) -> EventView:
    """D4 replay: every delivery of the event to a live endpoint is sent again now, with a
    fresh three days (the same body and event id: receivers deduplicate on it)."""
    require_admin(actor, "replay events")
    now = clock.now()
    with db.write() as session:
        row = locks.get_scoped(session, _E, actor.partner_id, event_id, label="event")
        live = select(models.WebhookEndpoint.id).where(
            models.WebhookEndpoint.partner_id == actor.partner_id,
            models.WebhookEndpoint.deleted_at.is_(None))
        session.execute(update(_D).where(_D.event_id == row.id, _D.endpoint_id.in_(live))
                        .values(status="pending", attempts=0, next_attempt_at=now,
                                give_up_at=now + rules.GIVE_UP_AFTER, delivered_at=None))
        audit.record(session, actor, "event.redeliver", "event", row.id, {"type": row.type})
        outbox.mark_emitted()
        return _views(session, [row])[0]


def purge_old(db: Database) -> int:
    """Delete events older than ``KEPT_FOR`` with nothing still pending, their deliveries and
    attempts with them (the scheduled housekeeping, at most ``PURGE_BATCH`` a run); how many
    events went. A pending delivery keeps its event, however old (a replay made it due)."""
    pending = exists().where(_D.event_id == _E.id, _D.status == "pending")
    with db.write() as session:
        ids = list(session.scalars(select(_E.id).where(
            _E.created_at < clock.now() - KEPT_FOR, ~pending).limit(PURGE_BATCH)))
        if not ids:
            return 0
        # deliveries and their attempts go with it: ON DELETE CASCADE (0023)
        session.execute(delete(_E).where(_E.id.in_(ids)))
        return len(ids)
