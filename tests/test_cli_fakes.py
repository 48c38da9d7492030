"""The README's demo with the CLI fakes (issue 13): ``creditdesk fake quickbooks-online``,
``xero`` and ``sage-intacct`` each run as the reader runs them (a process of their own, on a
real port), CreditDesk is pointed at them with what they print, connected and synced: the
synced invoices are there with the system's balances, and credit applied here is written
back to the fake, which keeps it — the read-back sync finds the invoice's new balance there.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk_devtools.fakes import cli_seed
from tests.api.conftest import API, ok

SYSTEMS = {"quickbooks-online": "quickbooks_online", "xero": "xero",
           "sage-intacct": "sage_intacct"}
# The write as the fake's terminal logs it (the README points the reader there).
LOGGED_WRITE = {"quickbooks_online": '"POST /v3/company/9130355/payment?requestid=',
                "xero": '"PUT /api.xro/2.0/CreditNotes/', "sage_intacct": '"POST /ia/xml/'}


@dataclass
class RunningFake:
    """A ``creditdesk fake …`` process: what it printed before serving, then its log (both
    streams, as its terminal shows them)."""

    proc: subprocess.Popen[str]
    printed: dict[str, str]  # the KEY=value pairs of its instructions
    log: list[str] = field(default_factory=list)

    def logged(self, text: str, wait: float = 5.0) -> bool:
        """Whether a line with ``text`` was logged (read by a thread: give it a moment)."""
        deadline = time.monotonic() + wait
        while not any(text in line for line in self.log):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(name: str, *args: str) -> Iterator[RunningFake]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "creditdesk.cli", "fake", name, "--port",
                             str(port), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # as in one terminal
    assert proc.stdout is not None
    fake = RunningFake(proc, {})
    try:
        for line in proc.stdout:  # the instructions come before uvicorn starts
            fake.log.append(line)
            if line.startswith("  "):
                fake.printed.update(pair.split("=", 1) for pair in line.split()
                                    if "=" in pair)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        threading.Thread(target=lambda: fake.log.extend(proc.stdout or ()),
                         daemon=True).start()
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "".join(fake.log)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield fake
    finally:
        proc.terminate()
        proc.wait(10)


def connect(client: TestClient, http: httpx.Client, system: str, fake: RunningFake,
            monkeypatch: pytest.MonkeyPatch) -> dict:
    """Connect as the README says, with the variables and credentials the fake printed."""
    for key, value in fake.printed.items():
        if key.startswith("CREDITDESK_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CREDITDESK_PUBLIC_URL", "http://testserver")
    client.app.state.integration_client = http
    if system == "sage_intacct":
        fields = {k: fake.printed[k] for k in ("sender_id", "sender_password", "company_id",
                                               "user_id", "user_password", "financial_entity")}
        return ok(client.post(f"{API}/integrations", json={"provider": system, **fields}), 201)
    created = ok(client.post(f"{API}/integrations", json={
        "provider": system, **({"region": "us"} if system == "quickbooks_online" else {})}),
        201)
    consent = http.get(created["authorize_url"])  # the fake consents at once
    assert consent.status_code in (302, 303), consent.text
    query = parse_qs(urlparse(consent.headers["location"]).query)
    client.get(f"{API}/integrations/oauth/callback",
               params={k: v[0] for k, v in query.items()}, follow_redirects=False)
    return ok(client.get(f"{API}/integrations/{created['id']}"))


def synced(db: Database, model: type, system: str) -> list:
    with db.read() as s:
        return list(s.scalars(select(model).where(model.source == system)))


@pytest.mark.parametrize("command", list(SYSTEMS))
def test_a_cli_fake_serves_invoices_and_keeps_credit_written_back(
        command: str, client: TestClient, db: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    system = SYSTEMS[command]
    with running(command, "--memos", "3", "--invoices", "4") as fake, \
            httpx.Client(timeout=10) as http:
        assert connect(client, http, system, fake, monkeypatch)["status"] == "connected"
        factory = sync_jobs.connector_factory(http)
        sync_jobs.run_pending(db, factory)
        invoices = synced(db, models.Invoice, system)
        seeds = cli_seed.invoices(4)
        assert sorted(i.total_minor - i.paid_minor - i.credited_minor for i in invoices) == \
            sorted(s.open * 100 for s in seeds)  # the system's balances
        assert len(synced(db, models.CreditMemo, system)) == 3
        # Customer 58's untouched memo (50.00) to its open invoice (400.00, all due)
        memo = next(m for m in synced(db, models.CreditMemo, system)
                    if m.total_minor == 5000)
        invoice = next(i for i in invoices if i.total_minor == 40000)
        assert memo.customer_id == invoice.customer_id
        applied = client.post(f"{API}/credit-memos/{memo.id}/applications",
                              json={"invoice_id": invoice.id, "amount": "30.00"})
        assert applied.status_code == 202, applied.text
        assert sync_jobs.write_back_due(db, factory) == [applied.json()["application"]["id"]]
        sync_jobs.run_pending(db, factory)  # the read-back: the fake's own figures
        listed = ok(client.get(f"{API}/credit-memos/{memo.id}/applications"))["data"]
        assert [(a["status"], a["write_back"]["error"]) for a in listed] == [("applied", None)]
        assert listed[0]["write_back"]["external_id"]
        with db.read() as s:
            runs = s.execute(select(models.SyncRun.trigger, models.SyncRun.status)
                             .order_by(models.SyncRun.queued_at)).all()
        assert [tuple(r) for r in runs][-1] == ("write_back", "succeeded")
        assert fake.logged(LOGGED_WRITE[system]), "".join(fake.log)
        # the read-back landed the fake's figures: it kept the credit
        assert ok(client.get(f"{API}/invoices/{invoice.id}"))["balance_due"] == "370.00"
        assert ok(client.get(f"{API}/credit-memos/{memo.id}"))["remaining_amount"] == "20.00"
