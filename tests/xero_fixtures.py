"""The fake Xero served over real HTTP (uvicorn on a free port) for tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from creditdesk.connectors import http, registry, xero
from creditdesk.connectors import settings as provider_settings
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations, sync
from creditdesk.services.common.context import Actor
from creditdesk.web import urls
from creditdesk_devtools.fakes.xero import create_app
from creditdesk_devtools.fakes.xero_state import WRITE_SCOPE, FakeXeroState
from tests import local_server

TENANT = "f6f1b2c3-0000-4000-8000-00000000abcd"


@dataclass
class FakeXero:
    state: FakeXeroState
    base_url: str
    client: httpx.Client
    # The authorization code is single-use: a retry after a client-side timeout can only get
    # invalid_grant, so the one exchange a connect makes gets the time a loaded machine needs.
    patient: httpx.Client
    sleeps: list[float] = field(default_factory=list)

    @property
    def settings(self) -> provider_settings.ProviderSettings:
        return urls.provider_settings()

    def retry(self) -> http.Retry:
        return http.Retry(attempts=4, base=0.01, sleep=self.sleeps.append)

    def factory(self, page_size: int = 100) -> sync.ConnectorFactory:
        return sync_jobs.connector_factory(self.client, retry=self.retry(), page_size=page_size)

    def connector(self, page_size: int = 100, scope: str = WRITE_SCOPE) -> xero.Xero:
        """A connector on a fresh grant of ``scope``; ``saved`` lists the tokens it saved."""
        tokens = xero.exchange_code(self.patient, self.settings,
                                    self.state.grant([TENANT], scope), self.retry())
        saved: list[dict[str, Any]] = []
        c = xero.Xero(self.client, self.settings, tenant_id=TENANT, tokens=tokens,
                      save_tokens=saved.append, retry=self.retry(), page_size=page_size)
        c.saved = saved  # type: ignore[attr-defined]
        return c

    def authorize(self, authorize_url: str, tenant: str = TENANT) -> dict[str, str]:
        """Follow the consent screen: the fake redirects back with code and state."""
        answer = self.client.get(f"{authorize_url}&tenant={tenant}", timeout=30)  # not a fault
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlparse(answer.headers["location"]).query)
        return {k: v[0] for k, v in query.items()}

    def connect(self, db: Database, actor: Actor, tenant: str = TENANT) -> str:
        created = integrations.create_integration(db, actor=actor, settings=self.settings,
                                                  provider="xero")
        params = self.authorize(created.authorize_url or "", tenant)
        spec = registry.get("xero")
        assert spec is not None
        integrations.complete_oauth(db, state=params["state"], code=params["code"],
                                    exchange=spec.connect(self.patient, self.settings,
                                                          self.retry()))
        return created.id

    def sync(self, db: Database, integration_id: str, page_size: int = 100) -> str:
        run_id = sync.request_run(db, integration_id=integration_id, trigger="manual")
        assert sync.claim_next(db) == run_id
        sync.execute(db, run_id, self.factory(page_size))
        return run_id


@pytest.fixture
def fake_xero(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeXero]:
    state = FakeXeroState(timeout_delay=1.0)
    state.add_org(TENANT, "Harbor Books", "US")
    with local_server.serve(create_app(state), "fake Xero") as base:
        for key, value in {"XERO_API_BASE": f"{base}/api.xro/2.0",
                           "XERO_AUTH_URL": f"{base}/identity/connect/authorize",
                           "XERO_TOKEN_URL": f"{base}/connect/token",
                           "XERO_CONNECTIONS_URL": f"{base}/connections",
                           "XERO_CLIENT_ID": state.client_id,
                           "XERO_CLIENT_SECRET": state.client_secret,
                           "XERO_WEBHOOK_KEY": state.webhook_key,
                           "PUBLIC_URL": "http://testserver"}.items():
            monkeypatch.setenv(f"CREDITDESK_{key}", value)
        monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")
        with httpx.Client(timeout=0.5) as client, httpx.Client(timeout=30) as patient:
            yield FakeXero(state, base, client, patient)
