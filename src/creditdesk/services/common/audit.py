"""The audit trail (E1): written in the same transaction as the change it records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.common import dml, pagination
from creditdesk.services.common.context import Actor, clock, new_id
from creditdesk.services.read_models import audit_words


def record(session: Session, actor: Actor, action: str, entity_type: str, entity_id: str,
           data: dict[str, Any] | None = None) -> None:
    session.add(models.AuditEvent(
        id=new_id("evt"), partner_id=actor.partner_id, at=clock.now(), actor=actor.name,
        action=action, entity_type=entity_type, entity_id=entity_id, data=data or {},
    ))


_INSERT = insert(dml.table(models.AuditEvent))


def row(actor: Actor, action: str, entity_type: str, entity_id: str,
        data: dict[str, Any] | None = None, *, at: datetime | None = None) -> dict[str, Any]:
    """An event as the values of an INSERT (one row or many: ``db/bulk.insert_rows``)."""
    return {"id": new_id("evt"), "partner_id": actor.partner_id, "at": at or clock.now(),
            "actor": actor.name, "action": action, "entity_type": entity_type,
            "entity_id": entity_id, "data": data or {}}


def record_on(conn: Connection, actor: Actor, action: str, entity_type: str, entity_id: str,
              data: dict[str, Any] | None = None) -> None:
    """``record`` for a use case written in Core statements (``db/credit_statements.py``)."""
    conn.execute(_INSERT, row(actor, action, entity_type, entity_id, data))


@dataclass(frozen=True)
class AuditEventView:
    id: str
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    data: dict[str, Any]
    summary: str = ""  # the entry in words (audit_words.describe)


def list_events(db: Database, *, actor: Actor, entity_type: str | None = None,
                entity_id: str | None = None, limit: int = 50, cursor: str | None = None,
                currency: str | None = None) -> pagination.Page[AuditEventView]:
    """Newest first, optionally for one entity; each with its summary in words (amounts of
    entries that recorded no currency are shown in ``currency``)."""
    stmt = select(models.AuditEvent).where(models.AuditEvent.partner_id == actor.partner_id)
    if entity_type:
        stmt = stmt.where(models.AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(models.AuditEvent.entity_id == entity_id)
    with db.read() as session:
        return pagination.newest_first(
            session, stmt, models.AuditEvent.id, limit=limit, cursor=cursor,
            view=lambda e: AuditEventView(e.id, e.at, e.actor, e.action, e.entity_type,
                                          e.entity_id, e.data,
                                          audit_words.describe(e.action, e.data, currency)),
        )
