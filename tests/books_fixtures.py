"""One face for the four fake books (QuickBooks Online, Xero, Sage Intacct, QuickBooks Desktop
through the Web Connector), so a sync behaviour every system shares is written once and run
against each (tests/services/test_sync_contract.py).

``Books`` is what such a test may do: add, change, void, delete and break memos at the
source, connect, sync, inject faults. Each adapter is a thin layer over the provider's own
fixture (``fake_qbo``, ``fake_xero``, ``fake_intacct``, the live ``/qbwc`` server), which the
provider-specific tests keep using as they are.

The ``books`` fixture runs a test once per system. A system that does not have a behaviour
is skipped with its reason, declared on the test with ``@skip_for(key, reason)``: the skip
shows in the report, it is never silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import httpx
import pytest
from sqlalchemy import select

from creditdesk.connectors import sage_intacct as intacct
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.jobs import sync as sync_jobs
from creditdesk.services.books import integrations, qbwc_setup, sync
from creditdesk.services.common.context import Actor, clock
from creditdesk.web import urls
from creditdesk_devtools.fakes.qbwc_company import FakeCompany
from tests.intacct_fixtures import COMPANY, FakeIntacct
from tests.qbo_fixtures import REALM, FakeQbo
from tests.qbwc_fixtures import Live
from tests.xero_fixtures import TENANT, FakeXero

HOME_NAME, OTHER_NAME = "Harbor Supply Co", "Dock Ltd"
Lines = list[tuple[str, str | None, str | None, str]]


class Books(Protocol):
    """A fake accounting system as the provider-neutral sync tests see it. Amounts are
    positive decimal strings; memo ids are the system's own (``external_id``)."""

    key: str  # the provider, as CreditMemo.source and Integration.provider spell it
    name: str  # as messages and void reasons name it
    home_customer: str  # the system's id of the default customer (HOME_NAME)
    other_customer: str  # the system's id of OTHER_NAME
    bad_field: str  # the field a malformed record's error names
    connect_actions: frozenset[str]  # audit actions connecting records
    sleeps: list[float]  # the back-off the connector's retry slept, in seconds
    line_detail: bool  # whether its lines carry a quantity and a unit price

    def add_memo(self, total: str, remaining: str | None = None, *, number: str | None = None,
                 other_customer: bool = False, lines: Lines | None = None,
                 tax: str | None = None) -> str:
        """A credit memo; ``lines`` as (description, quantity, unit price, amount), default
        one line of the total; ``tax`` the tax in the total as the system reports it (T5)."""
    def apply(self, memo: str, remaining: str) -> None: ...
    def void(self, memo: str) -> None: ...
    def delete(self, memo: str) -> None: ...
    def malform(self, memo: str) -> None: ...
    def deletions_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Let whatever time passes that the next sync sees deletions made since."""

    def connect(self, db: Database, actor: Actor) -> str: ...
    def sync(self, db: Database, integration_id: str, page_size: int | None = None) -> str:
        """One run to its end; returns the run's id."""


class EngineBooks(Books, Protocol):
    """A system CreditDesk calls (not QuickBooks Desktop, whose Web Connector calls in)."""

    revoked_says: str  # in the run's error when access is withdrawn

    def factory(self, page_size: int | None = None) -> sync.ConnectorFactory: ...
    def inject(self, *faults: str) -> None: ...
    def revoke(self) -> None: ...


class ListingBooks(EngineBooks, Protocol):
    """A system whose deletions leave no trace in its changes, found by listing every id."""

    def listing_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Let whatever time passes that the next sync lists every id."""

    def cut_listing(self) -> str:
        """Make the next sync's listing fail after its first page; returns what the run's
        error then says."""


class WebhookBooks(EngineBooks, Protocol):
    """A system whose webhooks name changed memos, for a run that reads just those."""

    webhook_names_deletions: bool  # a deletion event of its own (else a change, read)
    # the request reading how the credit of memos whose credit is used was applied (Y14),
    # when that is not in the memo's own read
    applications_read: str | None

    def clear_requests(self) -> None: ...
    def requests(self) -> list[str]:
        """What the fake was asked since, without query strings."""

    def read_one(self, memo: str) -> str:
        """The request that reads one memo by its id."""


class OAuthBooks(EngineBooks, Protocol):
    """A system signed in to by OAuth, with refresh tokens that rotate."""

    def refresh_tokens(self) -> list[str]: ...


def skip_for(key: str, reason: str) -> pytest.MarkDecorator:
    """Declare that system ``key`` does not share this behaviour, and why."""
    return pytest.mark.books_skip(key, reason)


def xfail_for(key: str, reason: str) -> pytest.MarkDecorator:
    """Declare that system ``key`` should share this behaviour but does not yet (a known
    defect, strict: the test fails once it is fixed, to take the mark off)."""
    return pytest.mark.books_xfail(key, reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "books_skip(key, reason): the system `key` does not "
                                       "share this sync behaviour (tests/books_fixtures.py)")
    config.addinivalue_line("markers", "books_xfail(key, reason): the system `key` should "
                                       "share this behaviour but has a known defect")


def _engine_sync(db: Database, integration_id: str, factory: sync.ConnectorFactory) -> str:
    run_id = sync.request_run(db, integration_id=integration_id, trigger="manual")
    assert sync.claim_next(db) == run_id
    sync.execute(db, run_id, factory)
    return run_id


def later(monkeypatch: pytest.MonkeyPatch, hours: float) -> None:
    """CreditDesk's clock moves ``hours`` on."""
    moved = clock.now() + timedelta(hours=hours)
    monkeypatch.setattr(clock, "now", lambda: moved)


# QuickBooks Online and Xero: OAuth apps CreditDesk calls ------------------------------------
@dataclass
class _OAuthAdapter:
    """What the QuickBooks Online and Xero adapters share: their fakes (``FakeQbo``,
    ``FakeXero``) connect, sync, fault and record requests alike."""

    fake: Any
    page_size: ClassVar[int]

    @property
    def sleeps(self) -> list[float]:
        slept: list[float] = self.fake.sleeps
        return slept

    def connect(self, db: Database, actor: Actor) -> str:
        return str(self.fake.connect(db, actor))

    def sync(self, db: Database, integration_id: str, page_size: int | None = None) -> str:
        return str(self.fake.sync(db, integration_id, page_size or self.page_size))

    def factory(self, page_size: int | None = None) -> sync.ConnectorFactory:
        built: sync.ConnectorFactory = self.fake.factory(page_size or self.page_size)
        return built

    def inject(self, *faults: str) -> None:
        self.fake.state.retry_after = "3"
        self.fake.state.inject(*faults)

    def revoke(self) -> None:
        self.fake.state.inject("revoked")

    def refresh_tokens(self) -> list[str]:
        return list(self.fake.state.refresh)

    def clear_requests(self) -> None:
        self.fake.state.requests.clear()

    def requests(self) -> list[str]:
        return [q.split("?")[0] for q in self.fake.state.requests]


# QuickBooks Online ---------------------------------------------------------------------------
@dataclass
class QboBooks(_OAuthAdapter):
    fake: FakeQbo
    page_size: ClassVar[int] = 1000
    key: ClassVar[str] = "quickbooks_online"
    name: ClassVar[str] = "QuickBooks Online"
    home_customer: ClassVar[str] = "58"
    other_customer: ClassVar[str] = "59"
    bad_field: ClassVar[str] = "TotalAmt"
    line_detail: ClassVar[bool] = True
    revoked_says: ClassVar[str] = "reconnect"
    connect_actions: ClassVar[frozenset[str]] = frozenset({"integration.create",
                                                           "integration.connect"})

    def add_memo(self, total: str, remaining: str | None = None, *, number: str | None = None,
                 other_customer: bool = False, lines: Lines | None = None,
                 tax: str | None = None) -> str:
        extra: dict[str, Any] = {"customer_id": self.other_customer,
                                 "customer_name": OTHER_NAME} if other_customer else {}
        memo = self.fake.state.add_memo(REALM, total=total, remaining=remaining,
                                        doc_number=number, lines=lines, **extra)
        if tax is not None:  # T5: TxnTaxDetail.TotalTax, inside TotalAmt
            self.fake.state.update_memo(REALM, memo, TxnTaxDetail={"TotalTax": tax})
        return memo

    def apply(self, memo: str, remaining: str) -> None:
        self.fake.state.apply_credit(REALM, memo, remaining)

    def void(self, memo: str) -> None:
        self.fake.state.void_memo(REALM, memo)

    def delete(self, memo: str) -> None:
        self.fake.state.delete_memo(REALM, memo)

    def malform(self, memo: str) -> None:
        self.fake.state.malform(REALM, memo)

    def deletions_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Change data capture reports deletions at once."""

    webhook_names_deletions: ClassVar[bool] = True
    applications_read: ClassVar[str | None] = f"GET /v3/company/{REALM}/query"  # Payments

    def read_one(self, memo: str) -> str:
        return f"GET /v3/company/{REALM}/creditmemo/{memo}"

    def listing_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The connection idles 40 days: change data capture no longer reaches back (30)."""
        self.fake.state.travel(days=40)
        later(monkeypatch, 40 * 24)

    def cut_listing(self) -> str:
        self.fake.state.inject_after(1, *["500"] * 4)  # the second page of ids, past retries
        return "HTTP 500"


# Xero ----------------------------------------------------------------------------------------
@dataclass
class XeroBooks(_OAuthAdapter):
    fake: FakeXero
    page_size: ClassVar[int] = 100
    key: ClassVar[str] = "xero"
    name: ClassVar[str] = "Xero"
    home_customer: ClassVar[str] = "a1f0c2d4-1111-4222-8333-944455556666"
    other_customer: ClassVar[str] = "b2e1d3c5-2222-4333-8444-a55566667777"
    bad_field: ClassVar[str] = "Total"
    line_detail: ClassVar[bool] = True
    revoked_says: ClassVar[str] = "reconnect"
    connect_actions: ClassVar[frozenset[str]] = frozenset({"integration.create",
                                                           "integration.connect"})

    def add_memo(self, total: str, remaining: str | None = None, *, number: str | None = None,
                 other_customer: bool = False, lines: Lines | None = None,
                 tax: str | None = None) -> str:
        extra: dict[str, Any] = {"contact_id": self.other_customer,
                                 "contact_name": OTHER_NAME} if other_customer else {}
        note = self.fake.state.add_credit_note(TENANT, total=total, number=number,
                                               lines=lines, **extra)
        if tax is not None:  # T5: TotalTax, with Total = SubTotal + TotalTax
            self.fake.state.update_note(TENANT, note, TotalTax=tax,
                                        SubTotal=str(Decimal(total) - Decimal(tax)))
        if remaining is not None:  # credit used as Xero records it: allocated to an invoice
            self.apply(note, remaining)
        return note

    def apply(self, memo: str, remaining: str) -> None:
        raw = self.fake.state.orgs[TENANT].notes[memo]
        used = Decimal(str(raw["RemainingCredit"])) - Decimal(remaining)
        if used:
            self.fake.state.allocate(TENANT, memo, str(used))

    def void(self, memo: str) -> None:
        self.fake.state.void(TENANT, memo)

    def delete(self, memo: str) -> None:
        # As a soft-deleted note reads (the fake's own ``delete`` allows drafts only, as Xero)
        self.fake.state.update_note(TENANT, memo, Status="DELETED")

    def malform(self, memo: str) -> None:
        self.fake.state.malform(TENANT, memo)

    def deletions_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A deleted note is still listed, as DELETED: seen at once."""

    webhook_names_deletions: ClassVar[bool] = False  # a deleted note is an UPDATE
    applications_read: ClassVar[str | None] = None  # a note carries its Allocations

    def read_one(self, memo: str) -> str:
        return f"GET /api.xro/2.0/CreditNotes/{memo}"


# Sage Intacct --------------------------------------------------------------------------------
@dataclass
class IntacctBooks:
    fake: FakeIntacct
    # The connection check is no fault test: it gets the time a loaded machine may need.
    patient: httpx.Client
    key: ClassVar[str] = intacct.PROVIDER
    name: ClassVar[str] = "Sage Intacct"
    home_customer: ClassVar[str] = "C-0058"
    other_customer: ClassVar[str] = "C-0059"
    bad_field: ClassVar[str] = "TRX_TOTALENTERED"
    line_detail: ClassVar[bool] = False
    revoked_says: ClassVar[str] = "Sign-in information is incorrect"
    connect_actions: ClassVar[frozenset[str]] = frozenset({"integration.connect"})

    @property
    def sleeps(self) -> list[float]:
        return self.fake.sleeps

    def add_memo(self, total: str, remaining: str | None = None, *, number: str | None = None,
                 other_customer: bool = False, lines: Lines | None = None,
                 tax: str | None = None) -> str:
        # Intacct signs a credit negative (an AR adjustment below zero); its lines carry
        # only a description and an amount
        extra: dict[str, Any] = {"customer_id": self.other_customer,
                                 "customer_name": OTHER_NAME} if other_customer else {}
        if lines is not None:
            extra["lines"] = [(text, str(-Decimal(amount))) for text, _, _, amount in lines]
        if tax is not None:  # T5: a tax entry of its line (a VAT company), signed as a credit
            extra["tax"] = [("G1 Goods and Services Tax", str(-Decimal(tax)))]
        due = None if remaining is None else str(-Decimal(remaining))
        return self.fake.state.add_adjustment(COMPANY, total=str(-Decimal(total)), due=due,
                                              record_id=number, **extra)

    def apply(self, memo: str, remaining: str) -> None:
        self.fake.state.tick(2)  # WHENMODIFIED is to the second: after the last read
        self.fake.state.apply_credit(COMPANY, memo, str(-Decimal(remaining)))

    def void(self, memo: str) -> None:
        self.fake.state.tick(2)
        self.fake.state.reverse(COMPANY, memo)  # Intacct's void: a reversal

    def delete(self, memo: str) -> None:
        self.fake.state.delete_adjustment(COMPANY, memo)  # a hard delete, no trace

    def malform(self, memo: str) -> None:
        self.fake.state.malform(COMPANY, memo)

    def deletions_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Hard deletes are found by listing every record, once a day: a day passes."""
        later(monkeypatch, 24)

    def connect(self, db: Database, actor: Actor) -> str:
        return integrations.connect(db, actor=actor, settings=urls.provider_settings(),
                                    client=self.patient, provider=self.key,
                                    fields=self.fake.credentials().to_dict()).id

    def sync(self, db: Database, integration_id: str, page_size: int | None = None) -> str:
        return _engine_sync(db, integration_id, self.factory(page_size))

    def factory(self, page_size: int | None = None) -> sync.ConnectorFactory:
        return sync_jobs.connector_factory(self.fake.client, retry=self.fake.retry(),
                                           page_size=page_size or 2)

    def inject(self, *faults: str) -> None:
        self.fake.state.retry_after = "3"
        self.fake.state.inject(*faults)

    def revoke(self) -> None:
        self.fake.state.companies[COMPANY].users["api_user"] = "rotated-by-the-admin"

    def listing_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every record is listed once a day: a day and an hour pass."""
        later(monkeypatch, 25)

    def cut_listing(self) -> str:
        # sign-in, the first page of ids, then readMore fails past the retries
        self.fake.state.inject_after(2, *["503"] * 4)
        return "503"


# QuickBooks Desktop (the Web Connector) -------------------------------------------------------
@dataclass
class DesktopBooks:
    live: Live
    company: FakeCompany = field(default_factory=FakeCompany)
    created: dict[str, qbwc_setup.Created] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)  # nothing retries: the PC calls again
    key: ClassVar[str] = "quickbooks_desktop"
    name: ClassVar[str] = "QuickBooks Desktop"
    home_customer: ClassVar[str] = "80000058-1700000000"
    other_customer: ClassVar[str] = "80000059-1700000000"
    bad_field: ClassVar[str] = "TotalAmount"
    line_detail: ClassVar[bool] = True
    connect_actions: ClassVar[frozenset[str]] = frozenset({"integration.create",
                                                           "integration.connect"})

    def add_memo(self, total: str, remaining: str | None = None, *, number: str | None = None,
                 other_customer: bool = False, lines: Lines | None = None,
                 tax: str | None = None) -> str:
        extra: dict[str, Any] = {"customer_id": self.other_customer,
                                 "customer_name": OTHER_NAME} if other_customer else {}
        if tax is not None:
            extra["tax"] = tax  # T5: SalesTaxTotal, inside TotalAmount
        return self.company.add_memo(total, remaining, ref=number, lines=lines, **extra)

    def apply(self, memo: str, remaining: str) -> None:
        self.company.apply(memo, remaining)

    def void(self, memo: str) -> None:
        self.company.void(memo)

    def delete(self, memo: str) -> None:
        self.company.delete(memo)

    def malform(self, memo: str) -> None:
        m = self.company.memos[memo]
        m.raw = (f"<CreditMemoRet><TxnID>{memo}</TxnID><CustomerRef><ListID>1-1</ListID>"
                 "</CustomerRef><TotalAmount>12.3.4</TotalAmount><CreditRemaining>1"
                 "</CreditRemaining></CreditMemoRet>")

    def deletions_due(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """QuickBooks lists deleted transactions (TxnDeletedQuery): seen at once."""

    def connect(self, db: Database, actor: Actor) -> str:
        made = qbwc_setup.create(db, actor=actor)
        self.created[made.integration.id] = made
        return made.integration.id

    def sync(self, db: Database, integration_id: str, page_size: int | None = None) -> str:
        """One Web Connector update (``page_size`` is CreditDesk's to choose: ignored)."""
        out = self.live.connector(self.created[integration_id], self.company).run()
        assert out.auth[1:] != ["nvu"], out.log
        with db.read() as s:
            return s.scalars(select(models.SyncRun.id).where(
                models.SyncRun.integration_id == integration_id)
                .order_by(models.SyncRun.queued_at.desc(), models.SyncRun.id.desc())
                .limit(1)).one()


# the fixtures --------------------------------------------------------------------------------
@pytest.fixture
def books_quickbooks_online(fake_qbo: FakeQbo) -> QboBooks:
    return QboBooks(fake_qbo)


@pytest.fixture
def books_xero(fake_xero: FakeXero) -> XeroBooks:
    return XeroBooks(fake_xero)


@pytest.fixture
def books_sage_intacct(fake_intacct: FakeIntacct, monkeypatch: pytest.MonkeyPatch
                       ) -> Iterator[IntacctBooks]:
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key-for-integrations")
    with httpx.Client(timeout=30) as patient:
        yield IntacctBooks(fake_intacct, patient)


@pytest.fixture
def books_quickbooks_desktop(live: Live) -> DesktopBooks:
    return DesktopBooks(live)


SYSTEMS = {"qbo": "quickbooks_online", "xero": "xero", "intacct": "sage_intacct",
           "qbd": "quickbooks_desktop"}


@pytest.fixture(params=list(SYSTEMS.values()), ids=list(SYSTEMS))
def books(request: pytest.FixtureRequest) -> Books:
    """Each of the four fake systems in turn, unless the test declares it skipped (or
    expected to fail)."""
    for mark in request.node.iter_markers("books_skip"):
        key, reason = mark.args
        assert key in SYSTEMS.values(), f"unknown system {key!r}"
        if key == request.param:
            pytest.skip(f"{key}: {reason}")
    for mark in request.node.iter_markers("books_xfail"):
        key, reason = mark.args
        assert key in SYSTEMS.values(), f"unknown system {key!r}"
        if key == request.param:
            request.applymarker(pytest.mark.xfail(reason=f"{key}: {reason}", strict=True))
    return request.getfixturevalue(f"books_{request.param}")


WEB_CONNECTOR = ("the Web Connector on the partner's PC calls CreditDesk: no HTTP call of "
                 "CreditDesk's to fail, retry or resume (its faults and killed conversations: "
                 "tests/api/test_qbwc.py)")
