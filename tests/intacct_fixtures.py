"""The fake Sage Intacct gateway served over real HTTP (uvicorn on a free port) for tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from creditdesk.connectors import http, intacct_writes
from creditdesk.connectors import sage_intacct as intacct
from creditdesk_devtools.fakes.intacct import PATH, create_app
from creditdesk_devtools.fakes.intacct_state import FakeIntacctState
from tests import local_server

COMPANY = "HARBOR-CO"
USER = "api_user"
USER_PASSWORD = "api-user-pw"
BANK = intacct_writes.PaymentAccount(financial_entity="BOA")  # where write-backs post


@dataclass
class FakeIntacct:
    state: FakeIntacctState
    endpoint: str
    client: httpx.Client
    sleeps: list[float] = field(default_factory=list)

    def credentials(self, **changes: str) -> intacct.Credentials:
        values = {"sender_id": self.state.sender_id,
                  "sender_password": self.state.sender_password,
                  "company_id": COMPANY, "user_id": USER, "user_password": USER_PASSWORD}
        return intacct.Credentials(**{**values, **changes})

    def retry(self) -> http.Retry:
        return http.Retry(attempts=4, base=0.01, sleep=self.sleeps.append)

    def connector(self, page_size: int = 1000, *,
                  account: intacct_writes.PaymentAccount = BANK,
                  **changes: str) -> intacct.SageIntacct:
        return intacct.SageIntacct(self.client, self.credentials(**changes),
                                   endpoint=self.endpoint, retry=self.retry(),
                                   page_size=page_size, payment_account=account)


@pytest.fixture
def fake_intacct(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIntacct]:
    state = FakeIntacctState(timeout_delay=1.0)
    state.add_company(COMPANY, USER, USER_PASSWORD)
    with local_server.serve(create_app(state), "fake Intacct") as base:
        endpoint = f"{base}{PATH}"
        monkeypatch.setenv("CREDITDESK_INTACCT_ENDPOINT", endpoint)
        with httpx.Client(timeout=0.5) as client:
            yield FakeIntacct(state, endpoint, client)
