"""Reading back what a sync did, and a connector that dies mid-run: shared by the sync
tests of every provider."""

from __future__ import annotations

from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import sync


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


def synced_customers(db: Database, system: str) -> set[tuple[str, str]]:
    """(the system's customer id, the customer's name) of every reference to ``system``."""
    ref, c = models.CustomerReference, models.Customer
    with db.read() as s:
        return set(s.execute(select(ref.external_id, c.name).join(c, c.id == ref.customer_id)
                             .where(ref.system == system)).all())


def link(db: Database, partner_id: str, customer_id: str, system: str,
         external_id: str) -> None:
    """A reference from ``customer_id`` to the system's customer ``external_id`` (Y10), as
    one an earlier sync or an admin made."""
    from creditdesk.services.common.context import clock, new_id

    with db.write() as s:
        s.add(models.CustomerReference(
            id=new_id("ref"), partner_id=partner_id, customer_id=customer_id, system=system,
            external_id=external_id, name="(linked)", email=None, linked_by="admin",
            linked_at=clock.now()))


def land(db: Database, actor, system: str, records: list) -> None:
    """Land connector records through the sync engine's own code path (one page, one
    transaction), as a run of ``system`` would."""
    from creditdesk.domain import memo as memo_rules
    from creditdesk.services.books import sync_upsert
    from creditdesk.services.common.context import clock

    source = memo_rules.Source(system)
    with db.write() as s:
        counts = sync_upsert.Counts()
        sync_upsert.prefetch(s, actor.partner_id, source, records, counts)
        for record in records:
            sync_upsert.land(actor, source, record, counts, clock.now())
        sync_upsert.flush(s, counts)
