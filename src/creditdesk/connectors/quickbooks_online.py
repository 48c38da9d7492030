"""QuickBooks Online: OAuth 2.0, CompanyInfo country check, CreditMemo and Invoice queries
paged by MetaData.LastUpdatedTime, CDC for deletions, a full id listing when CDC can't reach
back to the last run (accounting-apis.md section 1; docs/research/issue13-qbo-xero.md for
invoices), and applications of credit written back as $0 Payments (quickbooks_online_writes)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from creditdesk.connectors import base, http, oauth
from creditdesk.connectors import quickbooks_online_writes as writes
from creditdesk.connectors.base import (
    BadRecord,
    Batch,
    ConnectorError,
    Deleted,
    DeletedInvoice,
    NeedsReconnection,
    ReconcileNeeded,
    Reconciliation,
    Record,
    Refused,
    RemoteApplication,
    RemoteMemo,
    Targets,
    TokenSaver,
)
from creditdesk.connectors.quickbooks_online_records import (
    fault_code,
    fault_message,
    fault_text,
    parse_invoice,
    parse_lines,
    parse_memo,
    payment_applications,
)
from creditdesk.connectors.settings import ProviderSettings

__all__ = ["QuickBooksOnline", "parse_invoice", "parse_lines", "parse_memo",
           "webhook_targets"]

PROVIDER = "quickbooks_online"
ENTITY = "CreditMemo"
INVOICE = "Invoice"
# entity → (single-read path, parser, its deleted record): what a query, a CDC block or a
# read by id of each kind of record becomes
KINDS: dict[str, tuple[str, Callable[[Any, str], Record], Callable[[str], Record]]] = {
    ENTITY: ("creditmemo", parse_memo, Deleted),
    INVOICE: ("invoice", parse_invoice, DeletedInvoice),
}
INVOICES = "invoices"  # the cursor's sub-cursor of the invoice pages ({since, skip})
OBJECT_NOT_FOUND = "610"  # the Fault code of a read of a deleted (or never existing) entity
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
NAME = writes.NAME
SCOPE = "com.intuit.quickbooks.accounting"
PAGE_SIZE = 1000  # MAXRESULTS may be at most 1000
OVERLAP = timedelta(seconds=5)
# CDC answers at most 30 days back (Intuit's CDC page); a day's margin for clock skew and
# for however Intuit counts the 30 days. An older checkpoint means a full id listing.
CDC_REACH = timedelta(days=29)
CDC_MAX = 1000  # objects in one CDC answer: "at most 1,000 objects per response" [C]
VERIFY_BATCH = 100  # ids per "WHERE Id IN (...)" confirmation query
CUSTOMER_BATCH = 100  # customers per "WHERE CustomerRef IN (...)" Payment query (Y14)
COUNTRIES = {"US": "us", "USA": "us", "UNITED STATES": "us",
             "CA": "ca", "CAN": "ca", "CANADA": "ca"}
HOME_CURRENCY = {"us": "USD", "ca": "CAD"}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _cdc_too_old(body: Any) -> bool:
    """QBO's refusal of a changedSince beyond CDC's reach: "Operation cdc with changedSince
    date … which is older than fixed days is not supported." [S: a user report; the HTTP
    status and Fault code are U, so only the words are matched]."""
    return "older than" in fault_text(body).lower()


def _when(text: object) -> datetime | None:
    """An ISO time as QBO writes it (with an offset; a naive one is taken as UTC)."""
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def exchange_code(client: httpx.Client, settings: ProviderSettings, code: str,
                  retry: http.Retry | None = None) -> dict[str, Any]:
    return oauth.exchange_code(client, retry or http.Retry(), settings.qbo_token_url,
                               client_id=settings.qbo_client_id,
                               client_secret=settings.qbo_client_secret, code=code,
                               redirect_uri=settings.redirect_uri, what=NAME)


def authorize_url(settings: ProviderSettings, state: str) -> str:
    return oauth.authorize_url(settings.qbo_auth_url, client_id=settings.qbo_client_id,
                               redirect_uri=settings.redirect_uri, scope=SCOPE, state=state)


def region_of(country: object) -> str:
    """Y1: US and Canadian companies only; anything else is refused with a clear message."""
    region = COUNTRIES.get(str(country or "").strip().upper())
    if region is None:
        where = (f"outside the United States and Canada (country code {country})"
                 if country else "in a country QuickBooks Online didn't say")
        raise Refused(f"This QuickBooks Online company is registered {where}; CreditDesk syncs "
                      "QuickBooks Online companies in the United States and Canada only.")
    return region


class QuickBooksOnline(writes.PaymentWrites):
    """Reads one company (realm) and writes applications of credit to it (``base.
    CreditWriter``, in ``PaymentWrites``). Refreshes the access token when it expires and
    saves the rotated tokens through ``save_tokens`` before using them."""

    provider = PROVIDER

    def __init__(self, client: httpx.Client, settings: ProviderSettings, *, realm_id: str,
                 tokens: dict[str, Any], save_tokens: TokenSaver, region: str = "us",
                 retry: http.Retry | None = None, page_size: int = PAGE_SIZE) -> None:
        self.client, self.settings, self.realm_id = client, settings, realm_id
        self.tokens, self.save_tokens = dict(tokens), save_tokens
        self.retry = retry or http.Retry()
        self.page_size = page_size
        self.default_currency = HOME_CURRENCY.get(region, "USD")

    # auth ------------------------------------------------------------------
    def _refresh(self) -> None:
        if not self.tokens.get("refresh_token"):
            raise NeedsReconnection(f"{NAME} has no refresh token; reconnect the integration")
        self.tokens = oauth.refresh(
            self.client, self.retry, self.settings.qbo_token_url,
            client_id=self.settings.qbo_client_id, client_secret=self.settings.qbo_client_secret,
            refresh_token=self.tokens["refresh_token"], what=NAME)
        self.save_tokens(self.tokens)  # rotated: the old refresh token may be dead already

    def _request(self, method: str, path: str, params: dict[str, str], *,
                 content: bytes | None = None, write: bool = False) -> httpx.Response:
        """One call to the company's API with a live access token; a 401 refreshes it and
        tries once more (a 401 made nothing), a second 401 or a 403 is NeedsReconnection.
        A read retries throttling, 5xx and timeouts (``http.send``); a ``write`` retries
        only answers that came back, never a timeout (``http.send_write``)."""
        if float(self.tokens.get("access_expires_at", 0)) <= time.time() + 60:
            self._refresh()
        url = f"{self.settings.qbo_api_base.rstrip('/')}/company/{self.realm_id}/{path}"
        params = {**params, "minorversion": str(self.settings.qbo_minor_version)}
        send = http.send_write if write else http.send
        for attempt in (1, 2):
            headers = {"Accept": "application/json",
                       "Authorization": f"Bearer {self.tokens['access_token']}"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            response = send(self.client, self.retry, method, url, what=NAME, params=params,
                            headers=headers, content=content)
            if response.status_code == 401 and attempt == 1:
                self._refresh()  # expired early or revoked: refresh tells which
                continue
            if response.status_code in (401, 403):
                detail = fault_message(_json_or_none(response)) or f"HTTP {response.status_code}"
                raise NeedsReconnection(f"{NAME} refused access ({detail}); reconnect the "
                                        "integration")
            return response
        raise AssertionError("unreachable")

    def _get(self, path: str, params: dict[str, str], *, missing_ok: bool = False,
             too_old_ok: bool = False) -> Any:
        """GET one resource of the company; with ``missing_ok`` an "Object Not Found" answer
        (HTTP 400 with Fault code 610, or a 404) is None instead of an error, with
        ``too_old_ok`` so is CDC's refusal of a changedSince beyond its reach."""
        response = self._request("GET", path, params)
        if missing_ok and response.status_code == 404:
            return None
        body = http.json_exact(response, NAME)
        if missing_ok and response.status_code == 400 and fault_code(body) == OBJECT_NOT_FOUND:
            return None
        if too_old_ok and response.status_code != 200 and _cdc_too_old(body):
            return None
        if response.status_code != 200:
            raise ConnectorError(f"{NAME} answered HTTP {response.status_code}: "
                                 f"{fault_message(body) or 'no detail'}")
        return body

    def company_info(self) -> dict[str, Any]:
        body = self._get(f"companyinfo/{self.realm_id}", {})
        info = body.get("CompanyInfo") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            raise ConnectorError(f"{NAME} answered CompanyInfo without a company")
        return info

    # reading ---------------------------------------------------------------
    def fetch(self, cursor: dict[str, Any]) -> Iterator[Batch]:
        """CDC tombstones of memos and invoices since the last run first, then CreditMemo
        pages, then Invoice pages, each by last update (when CDC can't reach back that far,
        the engine has ``reconcile`` first; when its answer holds its maximum of 1,000
        objects, some deletions may be missing from it, so ``ReconcileNeeded`` has the
        engine list every id before reading again).

        Cursor: ``since`` (a LastUpdatedTime as QBO wrote it) and ``skip`` (records already
        read at exactly ``since``) of the memo pages, ``invoices`` the same two for the
        invoice pages, and ``cdc_since`` (server time of the previous CDC call). A cursor
        stored before invoices were read has no ``invoices``: they are read from the start.
        """
        state = dict(cursor)
        if state.get("cdc_since"):
            body = self._get("cdc", {"entities": f"{ENTITY},{INVOICE}",
                                     "changedSince": state["cdc_since"]}, too_old_ok=True)
            if body is None:  # beyond CDC's reach after all (clock skew): list every id
                raise ReconcileNeeded(f"{NAME}'s change feed no longer reaches back to "
                                      f"{state['cdc_since']}")
            changes = _cdc_records(body, self.default_currency)
            if len(changes) >= CDC_MAX:  # maybe cut short: deletions past the cap unseen
                raise ReconcileNeeded(f"{NAME}'s change feed answered its maximum of "
                                      f"{CDC_MAX:,} changes since {state['cdc_since']}")
            tombstones: list[Record] = [r for r in changes
                                        if isinstance(r, Deleted | DeletedInvoice)]
            state["cdc_since"] = body.get("time") or state["cdc_since"]
            yield Batch(tombstones, dict(state))
        yield from self._pages(state, ENTITY)
        yield from self._pages(state, INVOICE)

    def _pages(self, state: dict[str, Any], entity: str) -> Iterator[Batch]:
        """``SELECT * FROM <entity>`` pages from the entity's place in ``state`` (the memos'
        at the top, the invoices' under ``INVOICES``), moving it page by page. An invoice
        page that reads nothing and moves nothing is not yielded (a company without
        invoices costs the engine no transaction for them)."""
        place = state if entity == ENTITY else dict(state.get(INVOICES) or {})
        parse = KINDS[entity][1]
        while True:
            before = _position(place)
            where = (f"WHERE MetaData.LastUpdatedTime >= '{place['since']}' "
                     if place.get("since") else "")
            query = (f"SELECT * FROM {entity} {where}ORDERBY MetaData.LastUpdatedTime "
                     f"STARTPOSITION {int(place.get('skip', 0)) + 1} MAXRESULTS {self.page_size}")
            body = self._get("query", {"query": query})
            state.setdefault("cdc_since", body.get("time"))
            raw = (body.get("QueryResponse") or {}).get(entity) or []
            if not isinstance(raw, list):
                raise ConnectorError(f"{NAME} answered a query with a malformed QueryResponse")
            _advance(place, raw)
            last = len(raw) < self.page_size
            if last:
                _rewind(place)
            if entity != ENTITY:
                if not raw and _position(place) == before:
                    return
                state[INVOICES] = dict(place)
            records = [parse(r, self.default_currency) for r in raw]
            if entity == ENTITY:
                records = self._with_applications(records)
            yield Batch(records, dict(state))
            if last:
                return

    def _with_applications(self, records: list[Record]) -> list[Record]:
        """Y14: each memo's credit applied to invoices as QuickBooks records it, in the
        Payments that link the memo. A memo with all its credit left has none (nothing
        to read); the others' customers' Payments are read, ``CUSTOMER_BATCH`` customers a
        query [U: ``CustomerRef IN`` — ``CustomerRef =`` is what SDKs use]. Payments can't
        be filtered by the memo they link, and a CreditMemo doesn't list them."""
        memos = [r for r in records if isinstance(r, RemoteMemo) and not r.voided]
        used = {m.external_id for m in memos if m.remaining_minor < m.total_minor}
        customers = sorted({m.customer_external_id for m in memos if m.external_id in used})
        try:
            found = payment_applications(self._payments_of(customers), used,
                                         self.default_currency)
            known: dict[str, tuple[RemoteApplication, ...] | None] = {
                m.external_id: tuple(found.get(m.external_id, ())) for m in memos}
        except (ValueError, TypeError):
            known = {}  # nothing reconciled from a partial picture
        return [replace(r, applications=known.get(r.external_id))
                if isinstance(r, RemoteMemo) else r for r in records]

    def _payments_of(self, customers: list[str]) -> list[Any]:
        """Every Payment of ``customers``, a query per ``CUSTOMER_BATCH`` of them."""
        out: list[Any] = []
        valid = [c for c in customers if _ID.match(c)]
        for at in range(0, len(valid), CUSTOMER_BATCH):
            listed = ", ".join(f"'{c}'" for c in valid[at:at + CUSTOMER_BATCH])
            for page in self.payment_pages(f"CustomerRef IN ({listed})", "MetaData.CreateTime"):
                out += page
        return out

    # reconciliation: deletions CDC can no longer report -------------------------------
    def reconcile_due(self, cursor: dict[str, Any], *, now: datetime,
                      has_memos: bool) -> bool:
        """CDC can't answer for the time since the last run: its checkpoint is older than CDC
        reaches (a connection idle for weeks: disconnected, revoked and reconnected, paused),
        or there is none while memos are held here (a new connection over memos an earlier
        one synced)."""
        since = _when(cursor.get("cdc_since")) if cursor.get("cdc_since") else None
        if since is None:
            return has_memos
        return now - since > CDC_REACH

    def reconcile(self, cursor: dict[str, Any], known: set[str], *, now: datetime,
                  progress: Callable[[], None] = lambda: None) -> Reconciliation:
        """List the id of every credit memo in the company (all pages, in this call), and of
        every invoice when ``known`` holds invoices (``base.invoice_key``), then confirm which
        of ``known`` are really gone with ``WHERE Id IN (...)`` queries: a record missed by a
        listing that shifted under a concurrent deletion is found and kept. Gone invoices
        are returned as their keys. CDC restarts from the first listing's start (server
        time): a deletion after it is CDC's, one before it is missing from the listing."""
        state = {k: v for k, v in cursor.items() if k != "cdc_since"}
        if not known:  # nothing here to void: the read restarts CDC from its first page
            return Reconciliation(frozenset(), state)
        memos, invoices = base.split_targets(dict.fromkeys(known, base.CHANGED))
        gone: set[str] = set()
        started: str | None = None
        for entity, ids, key in ((ENTITY, set(memos), str),
                                 (INVOICE, set(invoices), base.invoice_key)):
            if not ids:
                continue
            present, first = self._list_ids(entity, now, progress)
            started = started or first
            missing = sorted(ids - present)
            gone.update(key(i) for i in set(missing) - self._still_present(
                entity, missing, progress))
        return Reconciliation(frozenset(gone), {**state, "cdc_since": started})

    def _list_ids(self, entity: str, now: datetime, progress: Callable[[], None]
                  ) -> tuple[set[str], str]:
        """``SELECT Id FROM <entity>`` paged by STARTPOSITION/MAXRESULTS, oldest first (a
        record's CreateTime never changes, so an edit moves nothing); the server time of the
        first page. Any unreadable page raises: a partial listing must void nothing."""
        ids: set[str] = set()
        started: str | None = None
        position = 1
        while True:
            body = self._get("query", {"query": (
                f"SELECT Id FROM {entity} ORDERBY MetaData.CreateTime "
                f"STARTPOSITION {position} MAXRESULTS {self.page_size}")})
            started = started or (body.get("time") if isinstance(body, dict) else None)
            raw = self._ids(body, entity)
            if raw and ids.issuperset(raw):  # STARTPOSITION ignored: never loop forever
                raise ConnectorError(f"{NAME} answered position {position} of an id listing "
                                     "with ids it had listed already")
            ids.update(raw)
            progress()
            if len(raw) < self.page_size:
                return ids, started or (now - timedelta(minutes=10)).isoformat()
            position += len(raw)

    def _still_present(self, entity: str, ids: list[str], progress: Callable[[], None]
                       ) -> set[str]:
        """Which of ``ids`` the company still has, ``VERIFY_BATCH`` at a time. An id that
        can't be put in a query is kept: nothing is voided unchecked."""
        present = {i for i in ids if not _ID.match(i)}
        checkable = [i for i in ids if _ID.match(i)]
        for start in range(0, len(checkable), VERIFY_BATCH):
            chunk = checkable[start:start + VERIFY_BATCH]
            listed = ", ".join(f"'{i}'" for i in chunk)
            body = self._get("query", {"query": f"SELECT Id FROM {entity} WHERE Id IN "
                                                f"({listed}) MAXRESULTS {VERIFY_BATCH}"})
            present.update(self._ids(body, entity))
            progress()
        return present

    @staticmethod
    def _ids(body: Any, entity: str = ENTITY) -> list[str]:
        """The ids of a query answer; anything unexpected raises (an answer that can't be
        read is never taken for an empty one)."""
        response = body.get("QueryResponse") if isinstance(body, dict) else None
        raw = response.get(entity, []) if isinstance(response, dict) else None
        if not isinstance(raw, list) or not all(
                isinstance(r, dict) and isinstance(r.get("Id"), str) and r["Id"] for r in raw):
            raise ConnectorError(f"{NAME} answered an id listing with a malformed "
                                 "QueryResponse")
        return [r["Id"] for r in raw]

    def _read(self, entity: str, ext: str) -> Record:
        """``GET /<entity>/{id}``: the record, or its deleted record when QuickBooks no
        longer has it (a deleted transaction answers "Object Not Found", Fault code 610)."""
        path, parse, deleted = KINDS[entity]
        if not _ID.match(ext):
            return BadRecord(ext[:64], f"{entity} id {ext[:64]!r} is not a QuickBooks id")
        body = self._get(f"{path}/{ext}", {}, missing_ok=True)
        if body is None:
            return deleted(ext)
        raw = body.get(entity) if isinstance(body, dict) else None
        if not isinstance(raw, dict):
            raise ConnectorError(f"{NAME} answered the read of {entity} {ext} without it")
        return parse(raw, self.default_currency)

    def read_memo(self, memo_id: str) -> Record:
        """``GET /creditmemo/{id}``: the memo, or ``Deleted``."""
        return self._read(ENTITY, memo_id)

    def read_invoice(self, invoice_id: str) -> Record:
        """``GET /invoice/{id}``: the invoice, or ``DeletedInvoice``."""
        return self._read(INVOICE, invoice_id)

    def fetch_targets(self, targets: Targets) -> Iterator[Batch]:
        """A webhook's memos and invoices (``base.invoice_key``), each read by id (deletions
        need no read), a batch at a time; the incremental cursor is left alone
        (``Batch.cursor`` None)."""
        memos, invoices = base.split_targets(targets)
        wanted = [(ENTITY, ext, op) for ext, op in memos.items()]
        wanted += [(INVOICE, ext, op) for ext, op in invoices.items()]
        records: list[Record] = []
        for entity, ext, op in wanted:
            records.append(KINDS[entity][2](ext) if op == base.DELETED
                           else self._read(entity, ext))
            if len(records) >= base.TARGET_BATCH:
                yield Batch(self._with_applications(records), None)
                records = []
        if records:
            yield Batch(self._with_applications(records), None)


# webhook entity → how its id is keyed in the targets
_WEBHOOK_KEYS: dict[str, Callable[[str], str]] = {ENTITY: str, INVOICE: base.invoice_key}


def webhook_targets(payload: Any) -> dict[str, Targets]:
    """CreditMemo and Invoice changes by realm, from the classic payload (``eventNotifications
    [].dataChangeEvent.entities[]``: name, id, operation) or the CloudEvents one (a list of
    events: ``type`` qbo.creditmemo.<verb>.v1 or qbo.invoice.<verb>.v1, ``intuitentityid``,
    ``intuitaccountid``); invoices keyed by ``base.invoice_key``. A deletion is DELETED,
    anything else (a void included: read it) CHANGED. Other entities, and ids that are not
    QuickBooks ids, are ignored; a body of another shape is ``base.MalformedWebhook``."""
    out: dict[str, Targets] = {}
    by_lower = {name.lower(): name for name in _WEBHOOK_KEYS}

    def add(realm: object, entity: str, ext: object, deleted: bool) -> None:
        if not isinstance(realm, str | int) or not isinstance(ext, str | int):
            return
        realm, ext = str(realm), str(ext)
        if _ID.match(realm) and _ID.match(ext):
            out[realm] = base.merge_targets(out.get(realm, {}), {
                _WEBHOOK_KEYS[entity](ext): base.DELETED if deleted else base.CHANGED})

    if isinstance(payload, dict):
        notes = base.objects(payload.get("eventNotifications"), "eventNotifications")
        for i, note in enumerate(notes):
            change = note.get("dataChangeEvent", {})
            if not isinstance(change, dict):
                raise base.MalformedWebhook(
                    f"eventNotifications[{i}].dataChangeEvent must be an object")
            where = f"eventNotifications[{i}].dataChangeEvent.entities"
            for entity in base.objects(change.get("entities", []), where):
                name = entity.get("name")
                if isinstance(name, str) and name in _WEBHOOK_KEYS:
                    add(note.get("realmId"), name, entity.get("id"),
                        entity.get("operation") == "Delete")
    elif isinstance(payload, list):
        for i, event in enumerate(base.objects(payload, "the CloudEvents list")):
            kind = event.get("type")
            if not isinstance(kind, str):
                raise base.MalformedWebhook(f"event [{i}] has no type")
            parts = kind.split(".")
            if len(parts) >= 3 and parts[0] == "qbo" and parts[1] in by_lower:
                add(event.get("intuitaccountid"), by_lower[parts[1]],
                    event.get("intuitentityid"), parts[2].startswith("delete"))
    else:
        raise base.MalformedWebhook("the body must be a JSON object with eventNotifications, "
                                    "or a JSON array of CloudEvents")
    return out


def _updated(raw: Any) -> tuple[datetime, str] | None:
    text = raw.get("MetaData", {}).get("LastUpdatedTime") if isinstance(raw, dict) else None
    try:
        return datetime.fromisoformat(str(text)), str(text)
    except ValueError:
        return None


def _position(state: dict[str, Any]) -> tuple[Any, int]:
    return state.get("since"), int(state.get("skip", 0))


def _advance(state: dict[str, Any], raw: list[Any]) -> None:
    """Keyset paging on LastUpdatedTime: a memo changed mid-run moves behind the cursor and is
    read again later rather than shifting positions under us and being skipped."""
    stamps = [s for s in (_updated(r) for r in raw) if s is not None]
    if not stamps:
        state["skip"] = int(state.get("skip", 0)) + len(raw)
        return
    newest = max(stamps)
    since = _updated({"MetaData": {"LastUpdatedTime": state.get("since")}})
    same = sum(1 for s in stamps if s[0] == newest[0])
    if since is not None and since[0] == newest[0]:
        state["skip"] = int(state.get("skip", 0)) + len(raw)
    else:
        state["since"], state["skip"] = newest[1], same


def _rewind(state: dict[str, Any]) -> None:
    """End of a run: start the next one a little before the newest change seen, from its first
    record. LastUpdatedTime has one-second resolution, so a memo changed within the cursor's
    second would otherwise hide among the records skipped; re-reading a few is harmless."""
    since = _updated({"MetaData": {"LastUpdatedTime": state.get("since")}})
    if since is not None:
        state["since"] = (since[0] - OVERLAP).isoformat()
    state["skip"] = 0


def _cdc_records(body: Any, default_currency: str) -> list[Record]:
    """Every CreditMemo and Invoice of a CDC answer (a deleted one as its tombstone)."""
    out: list[Record] = []
    for block in (body.get("CDCResponse") or []) if isinstance(body, dict) else []:
        for entities in block.get("QueryResponse") or []:
            for entity, (_, parse, _) in KINDS.items():
                for raw in (entities or {}).get(entity) or []:
                    out.append(parse(raw, default_currency))
    return out
