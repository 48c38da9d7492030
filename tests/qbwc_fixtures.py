"""CreditDesk served by uvicorn on a real port, for the fake Web Connector to drive ``/qbwc``
over HTTP (QuickBooks Desktop has no API CreditDesk calls: the Web Connector calls in)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from creditdesk.connectors import base
from creditdesk.db.engine import Database
from creditdesk.services.books import qbwc_setup
from creditdesk.web.app import create_app
from creditdesk_devtools.fakes.qbwc_client import FakeWebConnector
from creditdesk_devtools.fakes.qbwc_company import FakeCompany


@dataclass
class Live:
    url: str
    http: httpx.Client

    def connector(self, created: qbwc_setup.Created, company: FakeCompany,
                  password: str | None = None) -> FakeWebConnector:
        return FakeWebConnector(self.http, f"{self.url}/qbwc", created.username,
                                password or created.password, company)


@pytest.fixture
def live(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")
    monkeypatch.setenv("CREDITDESK_PUBLIC_URL", "https://books.example.test")
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "CreditDesk did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    # The Web Connector waits minutes for an answer; a call that lands a page of records
    # on a loaded CI machine (fsyncs behind other work) can take more than a few seconds.
    with httpx.Client(timeout=60) as client:
        yield Live(f"http://127.0.0.1:{port}", client)
    server.should_exit = True
    thread.join(timeout=5)


# --- what the conversation hands the sync engine ---------------------------------------------
@dataclass
class Landed:
    """Every batch the Web Connector conversation handed ``sync.land_page``."""

    batches: list[base.Batch]

    def records(self, kind: type) -> list:  # type: ignore[type-arg]
        return [r for b in self.batches for r in b.records if isinstance(r, kind)]


@pytest.fixture
def landed(monkeypatch: pytest.MonkeyPatch) -> Landed:
    """Records what the conversation lands, and lands it."""
    from creditdesk.services.books import sync

    seen = Landed([])
    real = sync.land_page

    def spy(session, run_id, snap, batch):  # type: ignore[no-untyped-def]
        seen.batches.append(batch)
        real(session, run_id, snap, batch)

    monkeypatch.setattr(sync, "land_page", spy)
    return seen
