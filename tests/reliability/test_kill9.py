"""E2 for real: `creditdesk serve` on PostgreSQL killed with SIGKILL under concurrent keyed
applies, restarted, every unanswered request retried with its key — each key's effect
exactly once, and every retry answered within seconds of the server being back.

The in-process fault-hook tests (tests/api/test_idempotency_crash.py) stop a request at each
named point; this one lets the kernel pick the instant, several times, with requests in
every phase (claiming, locking, writing, committing, answering) when it lands.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.services.access import partners

pytestmark = [pytest.mark.reliability, pytest.mark.postgres_only, pytest.mark.slow]

MEMOS = 6
KEYS_PER_MEMO = 60
THREADS = 8
RETRY_WITHIN = 10.0  # seconds after the restart within which an interrupted key is answered
SERVE_AND_DIE = Path(__file__).with_name("serve_and_die.py")
# Where the server dies after the kernel's own pick: right after the commit (effect and
# answer committed, the client not answered), just before it, and just after the claim.
SELF_KILLS = ("unit.committed", "unit.before_commit", "unit.claimed")
KILLS = 1 + len(SELF_KILLS)
SECRET = "kill9-secret-key"  # the stored answers are sealed with it: the same after restart


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`creditdesk serve` in its own process, started, SIGKILLed and started again."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "CREDITDESK_DATABASE_URL": url,
                    "CREDITDESK_SECRET_KEY": SECRET, "CREDITDESK_SYNC_IN_PROCESS": "0"}
        self.proc: subprocess.Popen | None = None
        self.up = threading.Event()
        self.ups: list[float] = []  # when each start was ready

    def start(self, die_at: str = "-", after: int = 0) -> None:
        """Start serving; with ``die_at`` the server SIGKILLs itself the ``after``+1-th time
        a request passes that fault point."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(SERVE_AND_DIE), die_at, str(after), "serve",
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    self.ups.append(time.monotonic())
                    self.up.set()
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("the server did not start:\n" + self.log.read_text()[-3000:])

    def died(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is None:
            return False
        self.up.clear()
        assert self.proc.returncode == -signal.SIGKILL, self.log.read_text()[-3000:]
        return True

    def kill(self) -> None:
        assert self.proc is not None
        self.up.clear()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Key:
    key: str
    memo_id: str
    invoice_id: str
    amount: str
    answer: dict | None = None
    replayed: bool = False
    transport_errors: int = 0
    last_error_at: float = 0.0
    answered_at: float = 0.0
    statuses: list[int] = field(default_factory=list)


def _send(client: httpx.Client, server: Server, k: Key, answered: Counter,
          lock: threading.Lock) -> None:
    """Send ``k`` until it has a final answer, retrying with the same key through kills."""
    while True:
        server.up.wait(60)
        try:
            r = client.post(f"{server.base}/api/v1/credit-memos/{k.memo_id}/applications",
                            json={"invoice_id": k.invoice_id, "amount": k.amount},
                            headers={"Idempotency-Key": k.key})
        except httpx.TransportError:
            k.transport_errors += 1  # killed before it answered: retry with the key
            k.last_error_at = time.monotonic()
            time.sleep(0.05)
            continue
        k.statuses.append(r.status_code)
        if r.status_code in (409, 503) and r.headers["content-type"].startswith(
                "application/problem+json") and r.json()["code"] in (
                "idempotency_key_in_progress", "unavailable"):
            time.sleep(0.1)
            continue
        assert r.status_code == 201, (k.key, r.status_code, r.text)
        k.answer = r.json()
        k.answered_at = time.monotonic()
        k.replayed = r.headers.get("idempotent-replayed") == "true"
        with lock:
            answered["n"] += 1
        return


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_e2_kill_9_under_load_each_key_takes_effect_exactly_once(db, tmp_path):
    partner = partners.create_partner(db, name="Kill Nine MSP", admin_email="k9@msp.test",
                                      admin_password="correct horse")
    server = Server(db.url.render_as_string(hide_password=False), tmp_path / "serve.log")
    server.start()
    try:
        auth = {"Authorization": f"Bearer {partner.api_key}"}
        keys = _seed(server, auth)
        answered: Counter = Counter()
        lock = threading.Lock()
        todo = list(keys)
        todo_lock = threading.Lock()

        def worker() -> None:
            with httpx.Client(headers=auth, timeout=30) as client:
                while True:
                    with todo_lock:
                        if not todo:
                            return
                        k = todo.pop()
                    _send(client, server, k, answered, lock)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
        for t in threads:
            t.start()
        total = len(keys)
        while answered["n"] < total * 0.15:  # first the kernel picks the instant
            time.sleep(0.005)
        server.kill()
        for point in SELF_KILLS:  # then the server dies at a chosen fault point
            server.start(die_at=point, after=20)
            while not server.died():
                assert answered["n"] < total, f"the load ended before {point} was passed"
                time.sleep(0.005)
        server.start()
        for t in threads:
            t.join(120)
            assert not t.is_alive(), "a client never got its answer"
    finally:
        server.stop()

    interrupted = [k for k in keys if k.transport_errors]
    print(f"\nkill -9: {len(interrupted)} requests interrupted, "
          f"{sum(k.replayed for k in interrupted)} of them committed before the kill "
          f"(their retry replayed), statuses {Counter(s for k in keys for s in k.statuses)}")
    assert len({k.key for k in interrupted}) >= KILLS, "too few requests were in flight"
    for k in interrupted:  # answered within seconds of the server being back, not minutes
        back = min(t for t in server.ups if t > k.last_error_at)
        assert k.answered_at - back < RETRY_WITHIN, (k.key, k.statuses)
    assert any(k.replayed for k in interrupted), "no kill landed after a commit"
    _check_exactly_once(db, keys)


def _seed(server: Server, auth: dict) -> list[Key]:
    keys: list[Key] = []
    with httpx.Client(base_url=f"{server.base}/api/v1", headers=auth, timeout=30) as c:
        cid = c.post("/customers", json={"name": "Initech"}).json()["id"]
        for m in range(MEMOS):
            inv = c.post("/invoices", json={"customer_id": cid, "lines": [
                {"description": "Services", "quantity": 1, "unit_price": "5000.00"}]}).json()
            assert c.post(f"/invoices/{inv['id']}/issue").status_code == 200
            memo = c.post("/credit-memos", json={"customer_id": cid, "reason": "goodwill",
                                                 "amount": "5000.00"}).json()
            assert c.post(f"/credit-memos/{memo['id']}/issue").status_code == 200
            for j in range(1, KEYS_PER_MEMO + 1):  # distinct amounts: each effect is known
                keys.append(Key(f"k9-{m}-{j}", memo["id"], inv["id"], f"{j}.{m:02d}"))
    return keys


def _check_exactly_once(db, keys: list[Key]) -> None:
    with db.read() as session:
        rows = session.execute(select(models.CreditApplication.id,
                                      models.CreditApplication.credit_memo_id,
                                      models.CreditApplication.amount_minor)).all()
        memos = {m.id: m for m in session.scalars(select(models.CreditMemo))}
    by_id = {r.id: r for r in rows}
    assert len(rows) == len(keys), f"{len(rows)} applications for {len(keys)} keys"
    for k in keys:
        app = by_id[k.answer["application"]["id"]]  # the answer names the one effect
        assert app.credit_memo_id == k.memo_id
        assert app.amount_minor == int(Decimal(k.amount) * 100)
    for memo_id in {k.memo_id for k in keys}:
        expected = sum(int(Decimal(k.amount) * 100) for k in keys if k.memo_id == memo_id)
        assert memos[memo_id].applied_minor == expected
