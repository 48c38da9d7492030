"""D2 on the job system: a memo's email, asked for by a request, is sent by a Procrastinate
worker on PostgreSQL (the request's wake defers the task; one waiting at a time) and by the
in-process runner on SQLite, to a real local SMTP server."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest

from creditdesk.db.engine import Database
from creditdesk.jobs import queue
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor
from creditdesk.services.customer_accounts import customers
from creditdesk.services.documents import deliveries, email_settings
from tests import factories
from tests.jobs.test_queue import drain, jobs, wait_for


def _memo_to_send(db: Database, actor: Actor, inbox) -> str:
    email_settings.replace_settings(db, actor=actor, host=inbox.host, port=inbox.port,
                                    security="none", username=None,
                                    from_address="billing@acme.test")
    cid = customers.create_customer(db, actor=actor, name="Globex", email="ap@globex.test").id
    return factories.memo(db, actor, cid, "20.00")


def test_d2_the_email_is_sent_by_a_procrastinate_worker(pg_db: Database, smtp_server) -> None:
    made = partners.create_partner(pg_db, name="Acme MSP", admin_email="admin@acme.test",
                                   admin_password="correct horse")
    pg_actor = partners.authenticate_api_key(pg_db, made.api_key)
    mid = _memo_to_send(pg_db, pg_actor, smtp_server)
    for _ in range(2):
        deliveries.request_send(pg_db, actor=pg_actor, memo_id=mid)
        sync_jobs.wake(SimpleNamespace(db=pg_db))
    waiting = [j for j in jobs(pg_db, queue.EMAIL_TASK) if j["status"] == "todo"]
    assert len(waiting) == 1  # two requests, one job: it sends every due delivery
    drain(pg_db, lambda snap, save: None, ["sync"])  # type: ignore[arg-type, return-value]
    assert [d.status for d in deliveries.list_deliveries(pg_db, actor=pg_actor, memo_id=mid)] \
        == ["sent", "sent"]
    assert len(smtp_server.messages) == 2
    assert {j["status"] for j in jobs(pg_db, queue.EMAIL_TASK)} == {"succeeded"}


def test_d2_the_in_process_runner_sends_emails_on_sqlite(db: Database, actor: Actor,
                                                         smtp_server) -> None:
    if not db.is_sqlite:
        pytest.skip("the in-process runner is the SQLite default")
    mid = _memo_to_send(db, actor, smtp_server)
    runner = sync_jobs.InProcessRunner(db, tick=30.0,
                                       client_factory=lambda: contextlib.nullcontext(None))
    runner.start()
    try:
        d = deliveries.request_send(db, actor=actor, memo_id=mid)
        sync_jobs.wake(SimpleNamespace(db=db, sync_runner=runner))  # no 30 s wait
        wait_for(lambda: deliveries.list_deliveries(db, actor=actor, memo_id=mid)[0].status
                 == "sent", timeout=15)
        assert smtp_server.messages[0]["Message-ID"] == d.message_id
    finally:
        runner.stop()
        sync_jobs.current_runner = None
