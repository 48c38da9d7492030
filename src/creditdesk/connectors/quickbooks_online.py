"""QuickBooks Online: OAuth 2.0, CompanyInfo country check, CreditMemo query paged by
MetaData.LastUpdatedTime, CDC for deletions, and a full id listing when CDC can't reach back
to the last run (accounting-apis.md section 1)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from creditdesk.connectors import base, http, oauth
from creditdesk.connectors.base import (
    BadRecord,
    Batch,
    ConnectorError,
    Deleted,
    NeedsReconnection,
    ReconcileNeeded,
    Reconciliation,
    Record,
    Refused,
    RemoteLine,
    RemoteMemo,
    Targets,
    TokenSaver,
)
from creditdesk.connectors.settings import ProviderSettings
from creditdesk.domain import money

PROVIDER = "quickbooks_online"
ENTITY = "CreditMemo"
OBJECT_NOT_FOUND = "610"  # the Fault code of a read of a deleted (or never existing) entity
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
NAME = "QuickBooks Online"
SCOPE = "com.intuit.quickbooks.accounting"
PAGE_SIZE = 1000  # MAXRESULTS may be at most 1000
OVERLAP = timedelta(seconds=5)
# CDC answers at most 30 days back (Intuit's CDC page); a day's margin for clock skew and
# for however Intuit counts the 30 days. An older checkpoint means a full id listing.
CDC_REACH = timedelta(days=29)
CDC_MAX = 1000  # objects in one CDC answer: "at most 1,000 objects per response" [C]
VERIFY_BATCH = 100  # ids per "WHERE Id IN (...)" confirmation query
COUNTRIES = {"US": "us", "USA": "us", "UNITED STATES": "us",
             "CA": "ca", "CAN": "ca", "CANADA": "ca"}
HOME_CURRENCY = {"us": "USD", "ca": "CAD"}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _fault(body: Any) -> str:
    """The first error message of a Fault envelope (either case: real responses use both)."""
    if isinstance(body, dict):
        fault = body.get("Fault") or body.get("fault") or {}
        errors = (fault.get("Error") or fault.get("error") or []) if isinstance(fault, dict) else []
        if errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("Message") or first.get("message") or "")
    return ""


def _fault_text(body: Any) -> str:
    """Message and Detail of every error of a Fault envelope, for matching."""
    if not isinstance(body, dict):
        return ""
    fault = body.get("Fault") or body.get("fault") or {}
    errors = (fault.get("Error") or fault.get("error") or []) if isinstance(fault, dict) else []
    return " ".join(str(e.get(k) or "") for e in errors if isinstance(e, dict)
                    for k in ("Message", "message", "Detail", "detail"))


def _cdc_too_old(body: Any) -> bool:
    """QBO's refusal of a changedSince beyond CDC's reach: "Operation cdc with changedSince
    date … which is older than fixed days is not supported." [S: a user report; the HTTP
    status and Fault code are U, so only the words are matched]."""
    return "older than" in _fault_text(body).lower()


def _when(text: object) -> datetime | None:
    """An ISO time as QBO writes it (with an offset; a naive one is taken as UTC)."""
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _fault_code(body: Any) -> str:
    if isinstance(body, dict):
        fault = body.get("Fault") or body.get("fault") or {}
        errors = (fault.get("Error") or fault.get("error") or []) if isinstance(fault, dict) else []
        if errors and isinstance(errors[0], dict):
            return str(errors[0].get("code") or "")
    return ""


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


class QuickBooksOnline:
    """Reads one company (realm). Refreshes the access token when it expires and saves the
    rotated tokens through ``save_tokens`` before using them."""

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

    def _get(self, path: str, params: dict[str, str], *, missing_ok: bool = False,
             too_old_ok: bool = False) -> Any:
        """GET one resource of the company; with ``missing_ok`` an "Object Not Found" answer
        (HTTP 400 with Fault code 610, or a 404) is None instead of an error, with
        ``too_old_ok`` so is CDC's refusal of a changedSince beyond its reach."""
        if float(self.tokens.get("access_expires_at", 0)) <= time.time() + 60:
            self._refresh()
        url = f"{self.settings.qbo_api_base.rstrip('/')}/company/{self.realm_id}/{path}"
        params = {**params, "minorversion": str(self.settings.qbo_minor_version)}
        for attempt in (1, 2):
            response = http.send(self.client, self.retry, "GET", url, what=NAME, params=params,
                                 headers={"Accept": "application/json",
                                          "Authorization": f"Bearer {self.tokens['access_token']}"})
            if response.status_code == 401 and attempt == 1:
                self._refresh()  # expired early or revoked: refresh tells which
                continue
            if response.status_code in (401, 403):
                detail = _fault(_json_or_none(response)) or f"HTTP {response.status_code}"
                raise NeedsReconnection(f"{NAME} refused access ({detail}); reconnect the "
                                        "integration")
            if missing_ok and response.status_code == 404:
                return None
            body = http.json_exact(response, NAME)
            if (missing_ok and response.status_code == 400
                    and _fault_code(body) == OBJECT_NOT_FOUND):
                return None
            if too_old_ok and response.status_code != 200 and _cdc_too_old(body):
                return None
            if response.status_code != 200:
                raise ConnectorError(f"{NAME} answered HTTP {response.status_code}: "
                                     f"{_fault(body) or 'no detail'}")
            return body
        raise AssertionError("unreachable")

    def company_info(self) -> dict[str, Any]:
        body = self._get(f"companyinfo/{self.realm_id}", {})
        info = body.get("CompanyInfo") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            raise ConnectorError(f"{NAME} answered CompanyInfo without a company")
        return info

    # reading ---------------------------------------------------------------
    def fetch(self, cursor: dict[str, Any]) -> Iterator[Batch]:
        """CDC tombstones since the last run first, then CreditMemo pages by last update
        (when CDC can't reach back that far, the engine has ``reconcile`` first; when its
        answer holds its maximum of 1,000 objects, some deletions may be missing from it, so
        ``ReconcileNeeded`` has the engine list every id before reading again).

        Cursor: ``since`` (a LastUpdatedTime as QBO wrote it), ``skip`` (records already read
        at exactly ``since``) and ``cdc_since`` (server time of the previous CDC call).
        """
        state = dict(cursor)
        if state.get("cdc_since"):
            body = self._get("cdc", {"entities": "CreditMemo",
                                     "changedSince": state["cdc_since"]}, too_old_ok=True)
            if body is None:  # beyond CDC's reach after all (clock skew): list every id
                raise ReconcileNeeded(f"{NAME}'s change feed no longer reaches back to "
                                      f"{state['cdc_since']}")
            changes = _cdc_records(body)
            if len(changes) >= CDC_MAX:  # maybe cut short: deletions past the cap unseen
                raise ReconcileNeeded(f"{NAME}'s change feed answered its maximum of "
                                      f"{CDC_MAX:,} changes since {state['cdc_since']}")
            tombstones = [r for r in changes if isinstance(r, Deleted)]
            state["cdc_since"] = body.get("time") or state["cdc_since"]
            yield Batch(tombstones, dict(state))
        while True:
            where = (f"WHERE MetaData.LastUpdatedTime >= '{state['since']}' "
                     if state.get("since") else "")
            query = (f"SELECT * FROM CreditMemo {where}ORDERBY MetaData.LastUpdatedTime "
                     f"STARTPOSITION {int(state.get('skip', 0)) + 1} MAXRESULTS {self.page_size}")
            body = self._get("query", {"query": query})
            state.setdefault("cdc_since", body.get("time"))
            raw = (body.get("QueryResponse") or {}).get("CreditMemo") or []
            if not isinstance(raw, list):
                raise ConnectorError(f"{NAME} answered a query with a malformed QueryResponse")
            _advance(state, raw)
            last = len(raw) < self.page_size
            if last:
                _rewind(state)
            yield Batch([parse_memo(r, self.default_currency) for r in raw], dict(state))
            if last:
                return

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
        """List the id of every credit memo in the company (all pages, in this call), then
        confirm which of ``known`` are really gone with ``WHERE Id IN (...)`` queries: a memo
        missed by a listing that shifted under a concurrent deletion is found and kept. CDC
        restarts from the listing's start (server time): a deletion after it is CDC's, one
        before it is missing from the listing."""
        state = {k: v for k, v in cursor.items() if k != "cdc_since"}
        if not known:  # nothing here to void: the read restarts CDC from its first page
            return Reconciliation(frozenset(), state)
        present, started = self._list_ids(now, progress)
        missing = sorted(known - present)
        gone = frozenset(missing) - self._still_present(missing, progress)
        return Reconciliation(gone, {**state, "cdc_since": started})

    def _list_ids(self, now: datetime, progress: Callable[[], None]) -> tuple[set[str], str]:
        """``SELECT Id FROM CreditMemo`` paged by STARTPOSITION/MAXRESULTS, oldest first (a
        memo's CreateTime never changes, so an edit moves nothing); the server time of the
        first page. Any unreadable page raises: a partial listing must void nothing."""
        ids: set[str] = set()
        started: str | None = None
        position = 1
        while True:
            body = self._get("query", {"query": (
                f"SELECT Id FROM CreditMemo ORDERBY MetaData.CreateTime "
                f"STARTPOSITION {position} MAXRESULTS {self.page_size}")})
            started = started or (body.get("time") if isinstance(body, dict) else None)
            raw = self._ids(body)
            if raw and ids.issuperset(raw):  # STARTPOSITION ignored: never loop forever
                raise ConnectorError(f"{NAME} answered position {position} of an id listing "
                                     "with ids it had listed already")
            ids.update(raw)
            progress()
            if len(raw) < self.page_size:
                return ids, started or (now - timedelta(minutes=10)).isoformat()
            position += len(raw)

    def _still_present(self, ids: list[str], progress: Callable[[], None]) -> set[str]:
        """Which of ``ids`` the company still has, ``VERIFY_BATCH`` at a time. An id that
        can't be put in a query is kept: nothing is voided unchecked."""
        present = {i for i in ids if not _ID.match(i)}
        checkable = [i for i in ids if _ID.match(i)]
        for start in range(0, len(checkable), VERIFY_BATCH):
            chunk = checkable[start:start + VERIFY_BATCH]
            listed = ", ".join(f"'{i}'" for i in chunk)
            body = self._get("query", {"query": f"SELECT Id FROM CreditMemo WHERE Id IN "
                                                f"({listed}) MAXRESULTS {VERIFY_BATCH}"})
            present.update(self._ids(body))
            progress()
        return present

    @staticmethod
    def _ids(body: Any) -> list[str]:
        """The ids of a query answer; anything unexpected raises (an answer that can't be
        read is never taken for an empty one)."""
        response = body.get("QueryResponse") if isinstance(body, dict) else None
        raw = response.get(ENTITY, []) if isinstance(response, dict) else None
        if not isinstance(raw, list) or not all(
                isinstance(r, dict) and isinstance(r.get("Id"), str) and r["Id"] for r in raw):
            raise ConnectorError(f"{NAME} answered an id listing with a malformed "
                                 "QueryResponse")
        return [r["Id"] for r in raw]

    def read_memo(self, memo_id: str) -> Record:
        """``GET /creditmemo/{id}``: the memo, or ``Deleted`` when QuickBooks no longer has it
        (a deleted transaction answers "Object Not Found", Fault code 610)."""
        body = self._get(f"creditmemo/{memo_id}", {}, missing_ok=True)
        if body is None:
            return Deleted(memo_id)
        raw = body.get(ENTITY) if isinstance(body, dict) else None
        if not isinstance(raw, dict):
            raise ConnectorError(f"{NAME} answered a CreditMemo read without a CreditMemo")
        return parse_memo(raw, self.default_currency)

    def fetch_targets(self, targets: Targets) -> Iterator[Batch]:
        """A webhook's memos, each read by id (deletions need no read), a batch at a time;
        the incremental cursor is left alone (``Batch.cursor`` None)."""
        records: list[Record] = []
        for memo_id, op in targets.items():
            records.append(Deleted(memo_id) if op == base.DELETED else self.read_memo(memo_id))
            if len(records) >= base.TARGET_BATCH:
                yield Batch(records, None)
                records = []
        if records:
            yield Batch(records, None)


def webhook_targets(payload: Any) -> dict[str, Targets]:
    """CreditMemo changes by realm, from the classic payload (``eventNotifications[]
    .dataChangeEvent.entities[]``: name, id, operation) or the CloudEvents one (a list of
    events: ``type`` qbo.creditmemo.<verb>.v1, ``intuitentityid``, ``intuitaccountid``).
    Other entities, and ids that are not QuickBooks ids, are ignored; a body of another
    shape is ``base.MalformedWebhook``."""
    out: dict[str, Targets] = {}

    def add(realm: object, memo_id: object, deleted: bool) -> None:
        if not isinstance(realm, str | int) or not isinstance(memo_id, str | int):
            return
        realm, memo_id = str(realm), str(memo_id)
        if _ID.match(realm) and _ID.match(memo_id):
            out[realm] = base.merge_targets(out.get(realm, {}), {
                memo_id: base.DELETED if deleted else base.CHANGED})

    if isinstance(payload, dict):
        notes = base.objects(payload.get("eventNotifications"), "eventNotifications")
        for i, note in enumerate(notes):
            change = note.get("dataChangeEvent", {})
            if not isinstance(change, dict):
                raise base.MalformedWebhook(
                    f"eventNotifications[{i}].dataChangeEvent must be an object")
            where = f"eventNotifications[{i}].dataChangeEvent.entities"
            for entity in base.objects(change.get("entities", []), where):
                if entity.get("name") == ENTITY:
                    add(note.get("realmId"), entity.get("id"), entity.get("operation") == "Delete")
    elif isinstance(payload, list):
        for i, event in enumerate(base.objects(payload, "the CloudEvents list")):
            kind = event.get("type")
            if not isinstance(kind, str):
                raise base.MalformedWebhook(f"event [{i}] has no type")
            parts = kind.split(".")
            if len(parts) >= 3 and parts[0] == "qbo" and parts[1] == ENTITY.lower():
                add(event.get("intuitaccountid"), event.get("intuitentityid"),
                    parts[2].startswith("delete"))
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


def _cdc_records(body: Any) -> list[Record]:
    out: list[Record] = []
    for block in (body.get("CDCResponse") or []) if isinstance(body, dict) else []:
        for entity in block.get("QueryResponse") or []:
            for raw in (entity or {}).get("CreditMemo") or []:
                out.append(parse_memo(raw, "USD"))
    return out


def _sales_lines(raw_lines: list[Any]) -> list[dict[str, Any]]:
    """The SalesItemLineDetail lines, those inside a bundle (GroupLineDetail) included;
    subtotal, discount and description-only lines are not memo lines here."""
    out: list[dict[str, Any]] = []
    for line in raw_lines:
        if not isinstance(line, dict):
            raise ValueError("a Line that is not an object")
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            out.append(line)
        elif kind == "GroupLineDetail":
            inner = (line.get("GroupLineDetail") or {}).get("Line") or []
            if not isinstance(inner, list):
                raise ValueError("a GroupLineDetail whose Line is not a list")
            out.extend(_sales_lines(inner))
    return out


def parse_lines(raw: dict[str, Any], currency: str) -> tuple[RemoteLine, ...] | None:
    """Line[] → lines (None when the answer carries no Line at all). Amounts exact (M1)."""
    if "Line" not in raw:
        return None
    raw_lines = raw["Line"]
    if not isinstance(raw_lines, list):
        raise ValueError("Line is not a list")
    lines = []
    for n, line in enumerate(_sales_lines(raw_lines), start=1):
        detail = line.get("SalesItemLineDetail") or {}
        if not isinstance(detail, dict):
            raise ValueError(f"line {n}: SalesItemLineDetail is not an object")
        item = detail.get("ItemRef") if isinstance(detail.get("ItemRef"), dict) else {}
        qty = detail.get("Qty")
        lines.append(RemoteLine(
            description=base.clip(line.get("Description") or item.get("name")),
            quantity=base.quantity_text(qty) if qty is not None else None,
            unit_price_minor=base.unit_price(detail.get("UnitPrice"), currency),
            amount_minor=base.exact_minor(line.get("Amount"), currency, f"line {n} Amount")))
        if len(lines) > base.MAX_LINES:
            raise ValueError(f"more than {base.MAX_LINES} lines")
    return tuple(lines)


def _with_lines(memo: RemoteMemo, raw: dict[str, Any]) -> RemoteMemo:
    try:
        return replace(memo, lines=parse_lines(raw, memo.currency))
    except (ValueError, TypeError, AttributeError) as exc:
        return replace(memo, line_problem=f"CreditMemo {memo.external_id} lines: {exc}")


def parse_memo(raw: Any, default_currency: str) -> Record:
    """One CreditMemo JSON object → RemoteMemo, Deleted, or BadRecord saying what was wrong."""
    ext = raw.get("Id") if isinstance(raw, dict) else None
    if not isinstance(ext, str) or not ext:
        return BadRecord(None, "a CreditMemo without an Id")
    if raw.get("status") == "Deleted":
        return Deleted(ext)
    try:
        currency = money.check_currency((raw.get("CurrencyRef") or {}).get("value")
                                        or default_currency)
        total = base.exact_minor(raw.get("TotalAmt"), currency, "TotalAmt")
        remaining_key = "RemainingCredit" if "RemainingCredit" in raw else "Balance"
        remaining = base.exact_minor(raw.get(remaining_key), currency, remaining_key)
        if total < 0 or not 0 <= remaining <= total:
            raise ValueError(f"remaining credit {remaining} outside 0..total {total}")
        customer = raw.get("CustomerRef") or {}
        if not isinstance(customer, dict) or not customer.get("value"):
            raise ValueError("CustomerRef is missing")
        txn_date = date.fromisoformat(raw["TxnDate"]) if raw.get("TxnDate") else None
        note = str(raw.get("PrivateNote") or "")
        # [S/U] A voided memo keeps its record with zero amounts and "Voided" in PrivateNote.
        voided = raw.get("status") == "Voided" or (total == 0 and note.lower().startswith("void"))
        memo = RemoteMemo(
            external_id=ext, number=str(raw.get("DocNumber") or ext),
            customer_external_id=str(customer["value"]),
            customer_name=str(customer.get("name") or f"QuickBooks customer {customer['value']}"),
            currency=currency, total_minor=total, remaining_minor=remaining,
            issue_date=txn_date, voided=voided,
            customer_email=((raw.get("BillEmail") or {}).get("Address") or None))
    except (ValueError, TypeError, AttributeError, money.MoneyError) as exc:
        return BadRecord(ext, f"CreditMemo {ext}: {exc}")
    return _with_lines(memo, raw)
