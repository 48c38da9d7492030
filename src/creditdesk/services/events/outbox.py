"""The event outbox (D5): an event is written by the use case that makes the change, on
the change's own connection, so it commits with it or not at all.

``emit`` writes nothing when no endpoint of the partner wants the type (one indexed read:
the cost every change pays). Otherwise it writes the event, with the objects after the
change rendered as the API answers them, and one pending delivery per subscribed endpoint;
the job system sends them (``services.events.delivery``). Right after the commit the
installed wakers are told (on PostgreSQL: defer the delivery job; in-process: wake the
runner); a lost wake costs only latency, the periodic sweep finds every pending delivery.

The rendering of the API's shapes lives in the web layer (``web.api.event_payloads``),
which installs it here: services never import the web layer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from creditdesk.db import engine, models
from creditdesk.db.engine import Database
from creditdesk.domain import webhooks as rules
from creditdesk.services.common import dml
from creditdesk.services.common.context import clock, new_id

log = logging.getLogger("creditdesk.events")

Renderer = Callable[[str, object], Any]
Waker = Callable[[Database], None]

_renderer: Renderer | None = None
_wakers: list[Waker] = []
# set by emit, read by the commit hook in the same thread (a write and its hook share it)
_emitted: ContextVar[bool] = ContextVar("creditdesk_events_emitted", default=False)

_EP = models.WebhookEndpoint
_INSERT_EVENT = insert(dml.table(models.Event))
_INSERT_DELIVERY = insert(dml.table(models.WebhookDelivery))


def install(*, renderer: Renderer | None = None, waker: Waker | None = None) -> None:
    """Set the renderer of the API's shapes and add a waker (idempotent per function)."""
    global _renderer
    if renderer is not None:
        _renderer = renderer
    if waker is not None and waker not in _wakers:
        _wakers.append(waker)


def render(kind: str, obj: object) -> Any:
    if _renderer is None:
        raise RuntimeError("no event renderer installed (creditdesk.web.api.event_payloads)")
    return _renderer(kind, obj)


def stamp(at: datetime) -> str:
    """A time as the API writes it (ISO 8601, UTC, ``Z``)."""
    return at.isoformat().replace("+00:00", "Z")


def subscribers(conn: Connection, partner_id: str, event_type: str) -> list[str]:
    """The partner's live endpoints that want ``event_type``."""
    rows = conn.execute(select(_EP.id, _EP.events).where(
        _EP.partner_id == partner_id, _EP.deleted_at.is_(None))).all()
    return [r.id for r in rows if rules.wants(r.events, event_type)]


def emit(where: Connection | Session, partner_id: str, event_type: str,
         objects: Mapping[str, object] | Callable[[], Mapping[str, object]], *,
         to: list[str] | None = None) -> str | None:
    """D5: write the event and its deliveries in the caller's transaction; the event id,
    or None when no endpoint wants it. ``objects`` (or a function building them, called
    only when someone subscribes) maps ``credit_memo``, ``invoice`` … to their views.
    ``to``: the subscribers, when the caller looked them up once for many events."""
    assert event_type in rules.TYPES, event_type
    conn = where.connection() if isinstance(where, Session) else where
    endpoint_ids = subscribers(conn, partner_id, event_type) if to is None else to
    if not endpoint_ids:
        return None
    if callable(objects):
        objects = objects()
    now = clock.now()
    event_id = new_id("ev")
    body = json.dumps({"id": event_id, "type": event_type, "created_at": stamp(now),
                       "data": {k: render(k, v) for k, v in objects.items()}},
                      separators=(",", ":"), default=str)
    conn.execute(_INSERT_EVENT, {"id": event_id, "partner_id": partner_id,
                                 "type": event_type, "created_at": now, "body": body})
    conn.execute(_INSERT_DELIVERY, [
        {"id": new_id("dlv"), "partner_id": partner_id, "event_id": event_id,
         "endpoint_id": e, "status": "pending", "attempts": 0, "next_attempt_at": now,
         "give_up_at": now + rules.GIVE_UP_AFTER, "delivered_at": None, "last_error": None}
        for e in endpoint_ids])
    _emitted.set(True)
    return event_id


def mark_emitted() -> None:
    """Ask for a wake after this write commits (a replay makes deliveries due too)."""
    _emitted.set(True)


def _after_commit(db: Database) -> Callable[[], None] | None:
    """The commit hook (``db.engine``): once a write that emitted has committed, wake."""
    if not _emitted.get():
        return None
    _emitted.set(False)
    if not _wakers:
        return None

    def wake() -> None:
        for waker in list(_wakers):
            try:
                waker(db)
            except Exception:  # the periodic sweep delivers it anyway
                log.exception("waking the event delivery failed")
    return wake


engine.add_commit_hook(_after_commit)
