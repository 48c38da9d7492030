"""The audit trail (E1): written in the same transaction as the change it records (read
back, in words, by ``read_models.audit_trail``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from creditdesk.db import models
from creditdesk.services.common import dml
from creditdesk.services.common.context import Actor, clock, new_id


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
