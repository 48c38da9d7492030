"""Reading back what a sync did, and a connector that dies mid-run: shared by the sync
tests of every provider."""

from __future__ import annotations

from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services import sync


def synced_memos(db: Database, source: str) -> dict[str, models.CreditMemo]:
    """The memos synced from ``source``, by their external id."""
    with db.read() as s:
        rows = s.scalars(select(models.CreditMemo).where(
            models.CreditMemo.source == source)).all()
        return {r.external_id: r for r in rows}


def run(db: Database, run_id: str) -> models.SyncRun:
    with db.read() as s:
        return s.get_one(models.SyncRun, run_id)


def integration(db: Database, integration_id: str) -> models.Integration:
    with db.read() as s:
        return s.get_one(models.Integration, integration_id)


class Killed(BaseException):
    """The worker process dying: not an Exception, so nothing in the engine catches it."""


def dying_after_first_page(build: sync.ConnectorFactory) -> sync.ConnectorFactory:
    """A connector factory whose connectors die once their first page has been handed over
    (and so committed by the engine)."""

    def factory(snap, save):
        connector = build(snap, save)

        def fetch(cursor):
            for n, batch in enumerate(connector.fetch(cursor)):
                if n == 1:
                    raise Killed
                yield batch
        return type("Dying", (), {"provider": connector.provider, "fetch": staticmethod(fetch)})()

    return factory
