"""Xero (US organisations only): OAuth 2.0 with rotating refresh tokens, tenant discovery
through the connections endpoint, the Organisation country check, and ACCRECCREDIT credit
notes read incrementally with If-Modified-Since and page=N (accounting-apis.md section 2)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from creditdesk.connectors import base, http, oauth, xero_invoices, xero_writes
from creditdesk.connectors import xero_records as records
from creditdesk.connectors.base import (
    Batch,
    ConnectorError,
    CreditWrite,
    Deleted,
    DeletedInvoice,
    NeedsReconnection,
    Record,
    Refused,
    Targets,
    TokenSaver,
    Written,
)
from creditdesk.connectors.settings import ProviderSettings

PROVIDER = "xero"
NAME = "Xero"
# accounting.transactions: read and write (Y11 writes Allocations); a connection made when
# only accounting.transactions.read was asked for reads on, and must reconnect to write.
SCOPE = "offline_access accounting.transactions accounting.settings.read"
PAGE_SIZE = 100  # Xero's page size for ?page=N
Sender = Callable[..., httpx.Response]  # (method, url, **httpx request arguments)
TICK = timedelta(milliseconds=1)
OVERLAP = timedelta(seconds=5)


def authorize_url(settings: ProviderSettings, state: str) -> str:
    return oauth.authorize_url(settings.xero_auth_url, client_id=settings.xero_client_id,
                               redirect_uri=settings.redirect_uri, scope=SCOPE, state=state)


def exchange_code(client: httpx.Client, settings: ProviderSettings, code: str,
                  retry: http.Retry | None = None) -> dict[str, Any]:
    return oauth.exchange_code(client, retry or http.Retry(), settings.xero_token_url,
                               client_id=settings.xero_client_id,
                               client_secret=settings.xero_client_secret, code=code,
                               redirect_uri=settings.redirect_uri, what=NAME)


def auth_event_id(access_token: str) -> str | None:
    """The ``authentication_event_id`` claim of Xero's JWT access token (not verified: it
    only picks which connection this authorization created)."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    value = claims.get("authentication_event_id") if isinstance(claims, dict) else None
    return str(value) if value else None


def pick_tenant(connections: Any, access_token: str) -> dict[str, Any]:
    """The organisation just authorised: the connection of this auth event, else the most
    recently updated organisation connection."""
    orgs = [c for c in connections if isinstance(c, dict) and c.get("tenantId")
            and c.get("tenantType", "ORGANISATION") == "ORGANISATION"] \
        if isinstance(connections, list) else []
    if not orgs:
        raise ConnectorError(f"{NAME} reported no connected organisation")
    event = auth_event_id(access_token)
    mine = [c for c in orgs if event and c.get("authEventId") == event]
    return (mine or sorted(orgs, key=lambda c: str(c.get("updatedDateUtc") or "")))[-1]


def check_country(organisation: dict[str, Any]) -> str:
    """Y1: US organisations only; anything else is refused with a clear message."""
    country = str(organisation.get("CountryCode") or "").strip().upper()
    if country != "US":
        where = f"outside the United States (country code {country})" if country else \
            "in a country Xero didn't say"
        raise Refused(f"This Xero organisation is registered {where}; CreditDesk syncs Xero "
                      "organisations in the United States only.")
    return "us"


class Xero:
    """Reads one organisation (tenant) and writes Allocations back to it (Y11-Y13).
    Refreshes the access token when it expires and saves the rotated tokens through
    ``save_tokens`` before using them."""

    provider = PROVIDER

    def __init__(self, client: httpx.Client, settings: ProviderSettings, *, tenant_id: str,
                 tokens: dict[str, Any], save_tokens: TokenSaver,
                 retry: http.Retry | None = None, page_size: int = PAGE_SIZE) -> None:
        self.client, self.settings, self.tenant_id = client, settings, tenant_id
        self.tokens, self.save_tokens = dict(tokens), save_tokens
        self.retry = retry or http.Retry()
        self.page_size = page_size

    # auth ------------------------------------------------------------------
    def _refresh(self) -> None:
        if not self.tokens.get("refresh_token"):
            raise NeedsReconnection(f"{NAME} has no refresh token; reconnect the integration")
        self.tokens = oauth.refresh(
            self.client, self.retry, self.settings.xero_token_url,
            client_id=self.settings.xero_client_id,
            client_secret=self.settings.xero_client_secret,
            refresh_token=self.tokens["refresh_token"], what=NAME)
        self.save_tokens(self.tokens)  # rotated: the old refresh token dies after 30 min

    def send(self, method: str, url: str, *, params: dict[str, str] | None = None,
             headers: dict[str, str] | None = None, content: bytes | None = None,
             tenant: bool = True, sender: Sender | None = None) -> httpx.Response:
        """One API request with the token and tenant header, answered for the caller to
        judge. A 401 refreshes the token and sends again once (nothing was accepted).
        ``sender`` sends it (default: ``http.send``, which also retries timeouts)."""
        if float(self.tokens.get("access_expires_at", 0)) <= time.time() + 60:
            self._refresh()
        sender = sender or self._retrying
        for attempt in (1, 2):
            sent = {"Accept": "application/json",
                    "Authorization": f"Bearer {self.tokens['access_token']}", **(headers or {})}
            if tenant:
                sent["xero-tenant-id"] = self.tenant_id
            response = sender(method, url, params=params, headers=sent, content=content)
            if response.status_code == 401 and attempt == 1:
                self._refresh()  # expired early or revoked: refresh tells which
                continue
            return response
        raise AssertionError("unreachable")

    def _retrying(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return http.send(self.client, self.retry, method, url, what=NAME, give_up=records.give_up,
                         **kwargs)

    def _get(self, url: str, params: dict[str, str] | None = None, *,
             headers: dict[str, str] | None = None, tenant: bool = True,
             missing_ok: bool = False) -> Any:
        """GET with the tenant header; with ``missing_ok`` a 404 is None instead of an error."""
        response = self.send("GET", url, params=params, headers=headers, tenant=tenant)
        if response.status_code in (401, 403):
            raise NeedsReconnection(f"{NAME} refused access ({records.detail(response)}); "
                                    "reconnect the integration")
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ConnectorError(f"{NAME} answered HTTP {response.status_code}: "
                                 f"{records.detail(response)}")
        return http.json_exact(response, NAME)

    def url(self, path: str) -> str:
        """The Accounting API address of ``path`` ("CreditNotes/…")."""
        return f"{self.settings.xero_api_base.rstrip('/')}/{path}"

    def connections(self) -> Any:
        return self._get(self.settings.xero_connections_url, tenant=False)

    def organisation(self) -> dict[str, Any]:
        body = self._get(f"{self.settings.xero_api_base.rstrip('/')}/Organisation")
        orgs = body.get("Organisations") if isinstance(body, dict) else None
        if not isinstance(orgs, list) or not orgs or not isinstance(orgs[0], dict):
            raise ConnectorError(f"{NAME} answered Organisation without an organisation")
        return orgs[0]

    # reading ---------------------------------------------------------------
    def fetch(self, cursor: dict[str, Any]) -> Iterator[Batch]:
        """Customer credit notes, then customer invoices (Y9), changed since the cursor,
        oldest change first.

        Cursor: ``since`` (ISO UTC, sent as If-Modified-Since) and ``page`` for the credit
        notes, the same two under ``invoices`` for the invoices (a cursor stored before
        invoices were read has none: they are then read from the beginning). Paging is
        keyset on UpdatedDateUTC: after each page ``since`` moves to just before its newest
        change and the page number restarts at 1, so a record changed mid-run moves behind
        the cursor rather than shifting positions under us; ``page`` only grows while a
        whole page shares one timestamp. Re-reading a record is harmless (upserts).
        """
        notes = {"since": cursor.get("since"), "page": int(cursor.get("page") or 1)}
        saved = cursor.get("invoices")
        saved = saved if isinstance(saved, dict) else {}
        invoices = {"since": saved.get("since"), "page": int(saved.get("page") or 1)}

        def position() -> dict[str, Any]:
            return {**notes, "invoices": dict(invoices)}

        for raw in self._pages("CreditNotes", records.NOTES_LISTED, notes):
            parsed = [records.parse_credit_note(r) for r in raw]
            yield Batch([r for r in parsed if r is not None], position())
        for raw in self._pages("Invoices", xero_invoices.LISTED, invoices):
            parsed = [xero_invoices.parse_invoice(r) for r in raw]
            yield Batch([r for r in parsed if r is not None], position())

    def _pages(self, collection: str, where: str, state: dict[str, Any]
               ) -> Iterator[list[Any]]:
        """The raw records of ``collection`` changed since ``state``, a page at a time;
        ``state`` has moved past each page when it is yielded."""
        while True:
            params = {"where": where, "order": "UpdatedDateUTC ASC", "page": str(state["page"])}
            if self.page_size != PAGE_SIZE:
                params["pageSize"] = str(self.page_size)
            headers = {"If-Modified-Since": state["since"]} if state["since"] else {}
            body = self._get(self.url(collection), params, headers=headers)
            raw = body.get(collection) if isinstance(body, dict) else None
            if raw is None:
                raw = []
            if not isinstance(raw, list):
                raise ConnectorError(f"{NAME} answered {collection} with a malformed envelope")
            last = len(raw) < self.page_size
            _advance(state, raw, last)
            yield raw
            if last:
                return

    def read_raw(self, collection: str, record_id: str) -> dict[str, Any] | None:
        """``GET /{collection}/{id}``: the record (with its LineItems), None on a 404."""
        body = self._get(self.url(f"{collection}/{quote(record_id, safe='')}"),
                         missing_ok=True)
        if body is None:
            return None
        raw = body.get(collection) if isinstance(body, dict) else None
        if not isinstance(raw, list) or len(raw) != 1 or not isinstance(raw[0], dict):
            raise ConnectorError(f"{NAME} answered a {collection} read with a malformed "
                                 "envelope")
        return raw[0]

    def read_note(self, note_id: str) -> Record | None:
        """The credit note, ``Deleted`` when Xero answers 404, None for what is not synced
        (a supplier credit, a draft)."""
        raw = self.read_raw("CreditNotes", note_id)
        return Deleted(note_id) if raw is None else records.parse_credit_note(raw)

    def read_invoice(self, invoice_id: str) -> Record | None:
        """The invoice, ``DeletedInvoice`` when Xero answers 404, None for what is not synced
        (a bill, a draft)."""
        raw = self.read_raw("Invoices", invoice_id)
        return DeletedInvoice(invoice_id) if raw is None else xero_invoices.parse_invoice(raw)

    def fetch_targets(self, targets: Targets) -> Iterator[Batch]:
        """A webhook's credit notes and invoices, each read by id, a batch at a time; the
        incremental cursor is left alone (``Batch.cursor`` None). Xero has no delete event
        (a deleted draft was never synced), so every target is read."""
        notes, invoices = base.split_targets(targets)
        reads = [(self.read_note, n) for n in notes] + \
            [(self.read_invoice, i) for i in invoices]
        found: list[Record] = []
        for read, record_id in reads:
            record = read(record_id)
            if record is not None:
                found.append(record)
            if len(found) >= base.TARGET_BATCH:
                yield Batch(found, None)
                found = []
        if found:
            yield Batch(found, None)

    # writing back (Y11-Y13) --------------------------------------------------
    def write_credit(self, write: CreditWrite) -> Written:
        return xero_writes.write_credit(self, write)

    def find_credit(self, write: CreditWrite) -> Written | None:
        return xero_writes.find_credit(self, write)

    def remove_credit(self, write: CreditWrite, external_id: str) -> None:
        xero_writes.remove_credit(self, write, external_id)


def _advance(state: dict[str, Any], raw: list[Any], last: bool) -> None:
    stamps = [s for s in (records.updated_at(r) for r in raw) if s is not None]
    since = records.parse_datetime(state["since"]) if state.get("since") else None
    if last:  # next run: a little before the newest change seen, from its first page
        newest = max(stamps, default=since)
        if newest is not None:
            state["since"] = _iso(newest - OVERLAP)
        state["page"] = 1
        return
    moved = max(stamps) - TICK if stamps else since
    if moved is None or (since is not None and moved <= since):
        state["page"] += 1  # a page of one timestamp (or without any): read the next page
    else:
        state["since"], state["page"] = _iso(moved), 1


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


def connect(client: httpx.Client, settings: ProviderSettings, code: str,
            retry: http.Retry | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OAuth callback's work: code → tokens → the tenant → its Organisation."""
    retry = retry or http.Retry(attempts=3)
    tokens = exchange_code(client, settings, code, retry)
    probe = Xero(client, settings, tenant_id="", tokens=tokens, save_tokens=tokens.update,
                 retry=retry)
    tenant = pick_tenant(probe.connections(), probe.tokens["access_token"])
    conn = Xero(client, settings, tenant_id=str(tenant["tenantId"]), tokens=probe.tokens,
                save_tokens=tokens.update, retry=retry)
    org = conn.organisation()
    return conn.tokens, {**org, "tenantId": str(tenant["tenantId"]),
                         "tenantName": tenant.get("tenantName")}
