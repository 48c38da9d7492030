"""The fake QuickBooks Online served over real HTTP (uvicorn on a free port) for tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from creditdesk.connectors import http
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors import settings as provider_settings
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations, sync
from creditdesk.services.common.context import Actor
from creditdesk.web import urls
from creditdesk_devtools.fakes.qbo import create_app
from creditdesk_devtools.fakes.qbo_state import FakeQboState
from tests import local_server

REALM = "9130355"


@dataclass
class FakeQbo:
    state: FakeQboState
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

    def factory(self, page_size: int = 1000) -> sync.ConnectorFactory:
        return sync_jobs.connector_factory(self.client, retry=self.retry(), page_size=page_size)

    def authorize(self, authorize_url: str, realm: str = REALM) -> dict[str, str]:
        """Follow the consent screen: the fake redirects back with code, state and realmId."""
        # The client times out at 0.5 s to make injected timeouts quick; the consent screen
        # is no fault, so it gets the time a loaded machine may need.
        answer = self.client.get(f"{authorize_url}&realm={realm}", timeout=30)
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlparse(answer.headers["location"]).query)
        return {k: v[0] for k, v in query.items()}

    def connector(self, page_size: int = 1000) -> qbo.QuickBooksOnline:
        """A connector to the realm with fresh tokens; the tokens it saves are in ``.saved``."""
        tokens = qbo.exchange_code(self.patient, self.settings, self.state.grant(REALM),
                                   self.retry())
        saved: list[dict] = []
        c = qbo.QuickBooksOnline(self.client, self.settings, realm_id=REALM, tokens=tokens,
                                 save_tokens=saved.append, retry=self.retry(),
                                 page_size=page_size)
        c.saved = saved  # type: ignore[attr-defined]
        return c

    def connect(self, db: Database, actor: Actor, realm: str = REALM) -> str:
        created = integrations.create_integration(db, actor=actor, settings=self.settings,
                                                  provider="quickbooks_online", region="us")
        params = self.authorize(created.authorize_url or "", realm)

        def exchange(code: str, realm_id: str):
            tokens = qbo.exchange_code(self.patient, self.settings, code, self.retry())
            conn = qbo.QuickBooksOnline(self.client, self.settings, realm_id=realm_id,
                                        tokens=tokens, save_tokens=tokens.update)
            return conn.tokens, conn.company_info()

        integrations.complete_oauth(db, state=params["state"], code=params["code"],
                                    realm_id=params["realmId"], exchange=exchange)
        return created.id

    def sync(self, db: Database, integration_id: str, page_size: int = 1000) -> str:
        run_id = sync.request_run(db, integration_id=integration_id, trigger="manual")
        assert sync.claim_next(db) == run_id
        sync.execute(db, run_id, self.factory(page_size))
        return run_id


@pytest.fixture
def fake_qbo(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeQbo]:
    state = FakeQboState(timeout_delay=1.0)
    state.add_company(REALM, "Harbor Books", "US")
    with local_server.serve(create_app(state), "fake QBO") as base:
        for key, value in {"QBO_API_BASE": f"{base}/v3", "QBO_AUTH_URL": f"{base}/connect/oauth2",
                           "QBO_TOKEN_URL": f"{base}/oauth2/v1/tokens/bearer",
                           "QBO_CLIENT_ID": state.client_id,
                           "QBO_CLIENT_SECRET": state.client_secret,
                           "QBO_WEBHOOK_VERIFIER": state.verifier,
                           "PUBLIC_URL": "http://testserver"}.items():
            monkeypatch.setenv(f"CREDITDESK_{key}", value)
        monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")
        with httpx.Client(timeout=0.5) as client, httpx.Client(timeout=30) as patient:
            yield FakeQbo(state, base, client, patient)
