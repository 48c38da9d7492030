"""What every connector gives the sync engine, and the errors it may raise.

A connector turns its system's wire format into ``RemoteMemo`` records, a page at a time;
it never touches the database. Its HTTP goes through an injected ``httpx.Client`` (the
seam the fakes plug into) and ``http.send`` (retries with back-off, Retry-After).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol


@dataclass(frozen=True)
class RemoteMemo:
    """One customer credit memo as the accounting system reports it (amounts in minor units)."""

    external_id: str
    number: str
    customer_external_id: str
    customer_name: str
    currency: str
    total_minor: int
    remaining_minor: int
    issue_date: date | None
    voided: bool = False
    customer_email: str | None = None


@dataclass(frozen=True)
class Deleted:
    """A memo deleted at the source: only its id is known."""

    external_id: str


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be read (Y6: recorded and skipped, the rest still land)."""

    external_id: str | None
    message: str


Record = RemoteMemo | Deleted | BadRecord


@dataclass
class Batch:
    """A page of records plus the cursor to store once the page is committed."""

    records: list[Record]
    cursor: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


TokenSaver = Callable[[dict[str, Any]], None]


class Connector(Protocol):
    provider: str

    def fetch(self, cursor: dict[str, Any]) -> Iterator[Batch]:
        """Changed memos since ``cursor``, a batch at a time, oldest change first."""
        ...


class ConnectorError(Exception):
    """The accounting system could not be read; the run fails and is retried later."""


class Transient(ConnectorError):
    """Throttling, 5xx or a timeout that outlasted the retries: try again later."""


class NeedsReconnection(ConnectorError):
    """Access revoked or refresh token expired: the partner must reconnect; never retried."""


class Refused(ConnectorError):
    """The connection can't be made as asked (e.g. an unsupported country)."""
