"""What every connector gives the sync engine, and the errors it may raise.

A connector turns its system's wire format into ``RemoteMemo`` and ``RemoteInvoice``
records (Y9), a page at a time; it never touches the database. A connector that writes
applications of synced credit back (Y11-Y13) also implements ``CreditWriter``. Its HTTP
goes through an injected ``httpx.Client`` (the seam the fakes plug into) and ``http.send``
(retries with back-off, Retry-After).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from creditdesk.domain import currencies, money

MAX_LINES = 500  # per memo; more is a malformed record, not a credit memo
MAX_DESCRIPTION = 2000
_QUANTITY = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,10})?|\.[0-9]{1,10})", re.ASCII)


@dataclass(frozen=True)
class RemoteLine:
    """One line of a synced memo as the system reports it (Y3: read-only here).

    ``quantity`` is the system's quantity as exact decimal text ("2", "1.5"), None when it
    reports none; ``unit_price_minor`` is None when it reports none or one finer than the
    currency's minor unit (the amount is always exact); ``amount_minor`` may be zero or
    negative, as the system has it.
    """

    description: str
    quantity: str | None
    unit_price_minor: int | None
    amount_minor: int


@dataclass(frozen=True)
class RemoteApplication:
    """Credit of a memo applied to an invoice in the system (Y14), as the system records
    it: the record that did it (a Payment, an Allocation, an ARPYMT, a ReceivePayment), the
    invoice and the amount."""

    record_id: str
    invoice_external_id: str
    amount_minor: int


@dataclass(frozen=True)
class RemoteMemo:
    """One customer credit memo as the accounting system reports it (amounts in minor units).

    ``lines`` None: the answer carried no lines (keep what is stored); a tuple, even empty,
    replaces them. ``refunded_minor``: the part of the used credit (total - remaining) the
    system records as refunded to the customer rather than applied to invoices (Y4; only
    systems that report refunds on the memo set it). ``line_problem``: the lines could not
    be read (the memo still lands, its stored lines are kept and the run records it).
    ``applications``: every application of the memo's credit the system records (Y14),
    None when the answer doesn't say.
    """

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
    lines: tuple[RemoteLine, ...] | None = None
    line_problem: str | None = None
    refunded_minor: int = 0
    applications: tuple[RemoteApplication, ...] | None = None
    # T5: the system's tax on the memo, included in total_minor; None: it reported none
    tax_minor: int | None = 0


@dataclass(frozen=True)
class RemoteInvoice:
    """One customer invoice as the accounting system reports it (Y9; minor units).

    ``balance_minor`` is the balance due the system reports (what is still owed after its
    payments and credits); status follows from it (balance = total → open, 0 < balance <
    total → partially paid, 0 → paid). ``tax_minor`` is the system's tax on the invoice
    (T5), included in ``total_minor``. ``lines`` and ``line_problem`` as for ``RemoteMemo``.
    A system's draft (not yet approved) invoices are not reported: they are not owed yet.
    """

    external_id: str
    number: str
    customer_external_id: str
    customer_name: str
    currency: str
    total_minor: int
    balance_minor: int
    issue_date: date | None
    due_date: date | None = None
    tax_minor: int | None = 0  # None: the system reported no tax figure (T5)
    voided: bool = False
    customer_email: str | None = None
    lines: tuple[RemoteLine, ...] | None = None
    line_problem: str | None = None


@dataclass(frozen=True)
class Deleted:
    """A memo deleted at the source: only its id is known."""

    external_id: str


@dataclass(frozen=True)
class DeletedInvoice:
    """An invoice deleted at the source: only its id is known."""

    external_id: str


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be read (Y6: recorded and skipped, the rest still land)."""

    external_id: str | None
    message: str


Record = RemoteMemo | Deleted | RemoteInvoice | DeletedInvoice | BadRecord


@dataclass
class Batch:
    """A page of records plus the cursor to store once the page is committed (None: a
    targeted read, which leaves the incremental cursor where it is)."""

    records: list[Record]
    cursor: dict[str, Any] | None
    meta: dict[str, Any] = field(default_factory=dict)


TokenSaver = Callable[[dict[str, Any]], None]

# A targeted sync (a webhook named the records): key → CHANGED (read it) or DELETED (the
# system said it is gone: no read needed). A memo's key is its external id (as stored by
# earlier versions); an invoice's is ``invoice_key(external_id)``: a system may number its
# memos and invoices from separate sequences, so the two kinds' ids can be equal.
Targets = dict[str, str]
CHANGED, DELETED = "changed", "deleted"
INVOICE_PREFIX = "invoice:"


def invoice_key(external_id: str) -> str:
    """The targets key of an invoice (``split_targets`` reads it back)."""
    return INVOICE_PREFIX + external_id


def split_targets(targets: Targets) -> tuple[Targets, Targets]:
    """(memos, invoices) of a targets mapping, each keyed by the system's id."""
    memos = {k: v for k, v in targets.items() if not k.startswith(INVOICE_PREFIX)}
    invoices = {k[len(INVOICE_PREFIX):]: v for k, v in targets.items()
                if k.startswith(INVOICE_PREFIX)}
    return memos, invoices
TARGET_BATCH = 50  # memos read one by one, landed this many to a transaction


class Connector(Protocol):
    provider: str

    def fetch(self, cursor: dict[str, Any]) -> Iterator[Batch]:
        """Changed memos since ``cursor``, a batch at a time, oldest change first."""
        ...


class TargetedConnector(Connector, Protocol):
    def fetch_targets(self, targets: Targets) -> Iterator[Batch]:
        """Exactly the named records (memos by id, invoices by ``invoice_key``), each read
        by its id; one that is gone → ``Deleted`` / ``DeletedInvoice``."""
        ...


@dataclass(frozen=True)
class CreditWrite:
    """One application of synced credit to write to the system, or to remove there (Y11).

    ``request_key`` is the application's idempotency key (QuickBooks Online's requestid,
    Xero's Idempotency-Key, Sage Intacct's control id): the same for every attempt of one
    write, so a system that remembers it answers a repeat with the first outcome.
    ``application_id`` is also written into the record's memo/reference field where the
    system has one, so that ``find_credit`` can recognise an earlier attempt (Y12).
    """

    application_id: str
    request_key: str
    memo_external_id: str
    invoice_external_id: str
    customer_external_id: str
    currency: str
    amount_minor: int
    on: date
    # The system's records already accounted for here (other applications of this memo):
    # never taken for this write's, where the system's record can't carry the application
    # id (a Xero Allocation has no such field).
    known_external_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Written:
    """What the system made for a ``CreditWrite``: the id of its record (the Payment, the
    Allocation, the ARPYMT, the ReceivePayment), and the memo and invoice as the system
    reports them afterwards when the connector read them (None: not read; the engine reads
    them with ``fetch_targets``)."""

    external_id: str
    memo: RemoteMemo | None = None
    invoice: RemoteInvoice | None = None


@runtime_checkable
class CreditWriter(Protocol):
    """A system that takes applications of synced credit (Y11-Y13).

    ``write_credit`` sends the write once (a 429 or 5xx answered before anything was
    accepted may be retried inside, as every read is; a timeout may not). It raises
    ``WriteRefused`` with the system's words when the system refused it (nothing was
    made), and ``Transient`` when the outcome is unknown (a timeout, a lost answer): the
    engine then calls ``find_credit`` before any new attempt (Y12).

    ``find_credit`` reads the system for a record an earlier attempt of this write made
    (by the application id written into it, or the request key), None when there is none.

    ``remove_credit`` deletes (or reverses, where the system never deletes) the record
    ``external_id`` that ``write_credit`` made; ``CannotRemove`` when the system does not
    allow it, saying where to undo it (Y13). Removing a record already gone is not an error.
    """

    provider: str

    def write_credit(self, write: CreditWrite) -> Written:
        ...

    def find_credit(self, write: CreditWrite) -> Written | None:
        ...

    def remove_credit(self, write: CreditWrite, external_id: str) -> None:
        ...


@dataclass(frozen=True)
class Reconciliation:
    """The outcome of a full listing: the memos asked about that the system no longer has
    (each confirmed gone), and the cursor to store once they have landed as deleted."""

    gone: frozenset[str]
    cursor: dict[str, Any]


class ReconcilingConnector(Connector, Protocol):
    """A system whose incremental read can miss deletions (a hard delete leaves no trace, a
    change feed only reaches so far back): now and then a run lists every memo id instead.

    The engine asks ``reconcile_due`` before the incremental read and, when it is, hands
    ``reconcile`` the ids of the memos it holds that are not void. ``reconcile`` reads the
    complete listing in that one call (a partial listing raises: nothing is voided), and
    returns only ids it confirmed gone; it never touches the database.
    """

    def reconcile_due(self, cursor: dict[str, Any], *, now: datetime,
                      has_memos: bool) -> bool:
        ...

    def reconcile(self, cursor: dict[str, Any], known: set[str], *, now: datetime,
                  progress: Callable[[], None] = ...) -> Reconciliation:
        """``progress`` is called after each page read (the engine keeps the run alive)."""
        ...


def merge_targets(into: Targets, more: Targets) -> Targets:
    """Union of two target sets; a deletion wins (a deleted transaction never comes back)."""
    out = dict(into)
    for ext, op in more.items():
        out[ext] = DELETED if DELETED in (op, out.get(ext)) else CHANGED
    return out


def _decimal_text(value: object, what: str) -> str:
    """JSON numbers arrive as int or Decimal (never float: the connectors parse with
    ``parse_float=Decimal``), XML and Intacct values as text."""
    if isinstance(value, bool | float):
        raise ValueError(f"{what} must be an exact decimal, not a binary float")
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else "NaN"
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not _QUANTITY.fullmatch(text):
        raise ValueError(f"{what} {text[:20]!r} is not a decimal number")
    return text


def quantity_text(value: object) -> str:
    """A reported quantity as exact, normalised decimal text ("1.50" → "1.5", 2 → "2")."""
    text = _decimal_text(value, "quantity")
    if not _QUANTITY.fullmatch(text):
        raise ValueError(f"quantity {text[:20]!r} is not a decimal number")
    number = Decimal(text)
    return "0" if number == 0 else format(number.normalize(), "f")


def exact_minor(value: object, currency: str, what: str) -> int:
    """An exact amount the system reports, in minor units (a memo's total or remaining credit,
    a line's amount); missing, or more digits than the currency has (M1) → ValueError."""
    if value is None or value == "":
        raise ValueError(f"{what} is missing")
    try:
        return money.parse_minor(value, currency)
    except money.MoneyError as exc:
        raise ValueError(f"{what} {exc}") from None


def unit_price(value: object, currency: str) -> int | None:
    """A unit price in minor units; None when absent or finer than the minor unit (QuickBooks
    keeps rates like 33.33333: the line amount, not the rate, is what is exact)."""
    if value is None or value == "":
        return None
    text = _decimal_text(value, "unit price")
    if not _QUANTITY.fullmatch(text):
        raise ValueError(f"unit price {text[:20]!r} is not a decimal number")
    exact = Decimal(text)
    if exact != 0 and exact.normalize().as_tuple().exponent < -currencies.minor_digits(currency):
        return None  # never rounded (M1): left out rather than shown wrong
    try:
        return money.parse_minor(exact, currency)
    except money.MoneyError as exc:
        raise ValueError(f"unit price {exc}") from None


def clip(text: object) -> str:
    return str(text or "").strip()[:MAX_DESCRIPTION]


class MalformedWebhook(ValueError):
    """A signed webhook body that is not its system's notification format (E3: answered
    with a 4xx, nothing queued); the message says what was wrong."""


def objects(value: object, where: str) -> list[dict[str, Any]]:
    """``value`` when it is a list of JSON objects; else MalformedWebhook naming ``where``."""
    if not isinstance(value, list):
        raise MalformedWebhook(f"{where} must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise MalformedWebhook(f"{where}[{i}] must be an object")
    return value


class ConnectorError(Exception):
    """The accounting system could not be read; the run fails and is retried later."""


class Transient(ConnectorError):
    """Throttling, 5xx or a timeout that outlasted the retries: try again later."""


class NeedsReconnection(ConnectorError):
    """Access revoked or refresh token expired: the partner must reconnect; never retried."""


class ReconcileNeeded(ConnectorError):
    """The incremental read can't account for every deletion since the cursor (QuickBooks
    Online refused a change-feed checkpoint older than it reaches): the run must list every
    memo id first, then read again. Unhandled, it fails the run like any connector error."""


class Refused(ConnectorError):
    """The connection can't be made as asked (e.g. an unsupported country)."""


class WriteRefused(ConnectorError):
    """The system refused a write-back (a closed period, the invoice paid meanwhile, a
    missing permission): nothing was made there; the message is the system's own words."""


class CannotRemove(ConnectorError):
    """The system does not let CreditDesk remove what it wrote; the message says where in
    the system to undo it (Y13)."""
