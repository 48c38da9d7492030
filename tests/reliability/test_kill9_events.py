"""D5 for real, on PostgreSQL: a change that commits always sends its event.

1. ``creditdesk serve`` SIGKILLs itself right after a keyed apply commits (before it answers
   and before it wakes the delivery job): the event is in the outbox, nothing was sent.
2. ``creditdesk worker`` (Procrastinate) starts: its every-minute sweep finds the pending
   delivery and sends it, signed.
3. The receiver holds the next event's request; the worker is SIGKILLed mid-delivery (the
   delivery leased, its attempt never recorded). Once the lease passes (moved to now here
   rather than waited for), a new worker sends it again: at least once, same event id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from creditdesk.db import models
from creditdesk.domain import webhooks as rules
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.access import partners
from creditdesk.services.common.context import clock
from creditdesk.services.credit_memos import credit
from creditdesk.services.events import endpoints
from tests import factories as f
from tests.events.receiver import Receiver, running
from tests.reliability.test_kill9 import Server

pytestmark = [pytest.mark.reliability, pytest.mark.postgres_only, pytest.mark.slow]

WAIT = 150.0  # the sweep runs each minute


def _worker(url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "CREDITDESK_DATABASE_URL": url,
           "CREDITDESK_SECRET_KEY": "kill9-secret-key", "CREDITDESK_ALLOW_PRIVATE_URLS": "1",
           "CREDITDESK_RETRY_BASE_SECONDS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "creditdesk.cli", "worker"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _until(check, what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"{what}\n" + log.read_text()[-3000:]
        time.sleep(0.2)


def _deliveries(db) -> list[models.WebhookDelivery]:
    with db.read() as s:
        return list(s.scalars(select(models.WebhookDelivery).order_by(models.WebhookDelivery.id)))


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_d5_kill_9_after_commit_still_delivers(db, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "kill9-secret-key")
    monkeypatch.setenv("CREDITDESK_ALLOW_PRIVATE_URLS", "1")
    sync_jobs.install_events()
    url = db.url.render_as_string(hide_password=False)
    held = threading.Event()
    release = threading.Event()
    receiver = Receiver()
    partner = partners.create_partner(db, name="Kill Nine Events", admin_email="k9e@msp.test",
                                      admin_password="correct horse")
    actor = partners.authenticate_api_key(db, partner.api_key)
    with running(receiver) as hook:
        ep = endpoints.create_endpoint(db, actor=actor, url=hook,
                                       events=["credit_memo.applied"])
        cust = f.customer(db, actor)
        inv, memo = f.invoice(db, actor, cust, "100.00"), f.memo(db, actor, cust, "50.00")

        # 1. the server dies right after the commit
        server = Server(url, tmp_path / "serve.log")
        server.env["CREDITDESK_ALLOW_PRIVATE_URLS"] = "1"
        server.start(die_at="unit.committed", after=0)
        try:
            with pytest.raises(httpx.TransportError):
                httpx.post(f"{server.base}/api/v1/credit-memos/{memo}/applications",
                           json={"invoice_id": inv, "amount": "10.00"},
                           headers={"Authorization": f"Bearer {partner.api_key}",
                                    "Idempotency-Key": "k9-event-1"}, timeout=30)
            server.proc.wait(10)
            assert server.died()
        finally:
            server.stop()
        [pending] = _deliveries(db)
        assert pending.status == "pending" and receiver.got == []

        # 2. a worker's sweep sends it
        log = tmp_path / "worker.log"
        worker = _worker(url, log)
        try:
            _until(lambda: len(receiver.got) == 1, "the sweep never sent the event", log)
            got = receiver.got[0]
            assert got.event["type"] == "credit_memo.applied"
            assert got.event["data"]["application"]["amount"] == "10.00"
            assert rules.verify(got.headers["creditdesk-signature"], got.body, ep.secret,
                                now=int(time.time()))
            _until(lambda: _deliveries(db)[0].status == "succeeded", "not recorded", log)

            # 3. the worker dies while a delivery is in flight
            def hold(event_id: str, n: int) -> int:
                if n == 1:
                    held.set()
                    release.wait(60)
                return 200

            receiver.answer = hold
            credit.apply_credit(db, actor=actor, memo_id=memo, invoice_id=inv, amount="5.00")
            assert held.wait(WAIT), log.read_text()[-3000:]
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        release.set()
        second = _deliveries(db)[1]
        assert second.status == "pending" and second.attempts == 1  # claimed, never recorded
        with db.write() as s:  # the lease passes (2 minutes, not waited for here)
            s.execute(update(models.WebhookDelivery).where(
                models.WebhookDelivery.id == second.id).values(next_attempt_at=clock.now()))
        worker = _worker(url, log)
        try:
            _until(lambda: _deliveries(db)[1].status == "succeeded",
                   "the delivery of the killed worker was never sent again", log)
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
    ids = [r.event["id"] for r in receiver.got]
    assert len(ids) == 3 and ids[1] == ids[2]  # sent twice: at least once, one event id
