"""Sage Intacct: XML Web Services (sender credentials + company user), sessions from
getAPISession, customer credit memos read as AR adjustments (ARADJUSTMENT) and invoices as AR
invoices (ARINVOICE, Y9) changed since WHENMODIFIED with readByQuery/readMore, and once a day a
listing of every held record's RECORDNO to find hard deletes (accounting-apis.md section 3).
Applications of credit are written back as ARPYMTs (``intacct_writes``, Y11-Y13)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from creditdesk.connectors import http
from creditdesk.connectors import intacct_invoices as inv
from creditdesk.connectors import intacct_tax as tax
from creditdesk.connectors import intacct_writes as writes
from creditdesk.connectors import intacct_xml as ix
from creditdesk.connectors.base import (
    CHANGED,
    DELETED,
    TARGET_BATCH,
    Batch,
    ConnectorError,
    CreditWrite,
    Deleted,
    DeletedInvoice,
    NeedsReconnection,
    Reconciliation,
    Record,
    Refused,
    RemoteApplication,
    RemoteInvoice,
    RemoteMemo,
    Targets,
    Transient,
    Written,
    exact_minor,
    invoice_key,
    split_targets,
)
from creditdesk.connectors.intacct_records import (
    NAME,
    STAMP,
    parse_adjustment,
    stamp,
    with_lines,
)

PROVIDER = "sage_intacct"
DEFAULT_ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"
OBJECT = "ARADJUSTMENT"
FIELDS = ["RECORDNO", "RECORDID", "DOCNUMBER", "CUSTOMERID", "CUSTOMERNAME", "WHENCREATED",
          "TOTALENTERED", "TOTALDUE", "TRX_TOTALENTERED", "TRX_TOTALDUE", "CURRENCY",
          "BASECURR", "STATE", "WHENMODIFIED"]
PAGE_SIZE = 1000  # readByQuery allows 1..1000
LINE_OBJECT = "ARADJUSTMENTITEM"  # AR adjustment lines; RECORDKEY is the adjustment's RECORDNO
LINE_FIELDS = ["RECORDNO", "RECORDKEY", "LINE_NO", "ENTRYDESCRIPTION", "AMOUNT", "TRX_AMOUNT"]
LINE_PAGE_SIZE = 2000  # query allows 1..2000
# Y14: an AR payment's details; ADJUSTMENTKEY names the credit memo a detail applies
APPLICATION_OBJECT = "ARPYMTDETAIL"
APPLICATION_FIELDS = ["RECORDNO", "PAYMENTKEY", "RECORDKEY", "ADJUSTMENTKEY",
                      "TRX_ADJUSTMENTAMOUNT", "STATE"]
THROTTLE_HINTS = ("try again later", "rate limit", "too many")  # [S] tap-intacct
# A hard delete leaves no trace in readByQuery: this often, a run lists every RECORDNO.
RECONCILE_EVERY = timedelta(hours=24)
VERIFY_BATCH = 100  # RECORDNOs per confirming ``query`` (RECORDNO IN ...)


@dataclass(frozen=True)
class Kind:
    """One kind of record read: credit memos (AR adjustments) or invoices (AR invoices)."""

    what: str
    obj: str
    fields: list[str]
    line_obj: str
    line_fields: list[str]
    since_key: str  # the cursor's WHENMODIFIED for this kind
    seen_key: str  # the newest WHENMODIFIED seen by a pass not yet finished
    parse: Callable[[dict[str, str], str], Record | None]
    with_lines: Callable[[Any, list[dict[str, str]]], Any]
    record_type: type[RemoteMemo] | type[RemoteInvoice]
    gone: Callable[[str], Record]
    key: Callable[[str], str] = dc_field(default=str)  # its key in targets and ``known``
    tax_obj: str = tax.MEMO_OBJECT  # T5: its tax entries


MEMOS = Kind("adjustment", OBJECT, FIELDS, LINE_OBJECT, LINE_FIELDS, "since", "seen_max",
             parse_adjustment, with_lines, RemoteMemo, Deleted)
INVOICES = Kind("invoice", inv.OBJECT, inv.FIELDS, inv.LINE_OBJECT, inv.LINE_FIELDS,
                "invoices_since", "invoices_seen_max", inv.parse_invoice, inv.with_lines,
                RemoteInvoice, DeletedInvoice, invoice_key, tax.INVOICE_OBJECT)


def default_endpoint() -> str:
    return os.environ.get("CREDITDESK_INTACCT_ENDPOINT") or DEFAULT_ENDPOINT


@dataclass(frozen=True)
class Credentials:
    """What the partner enters: the Web Services sender and a company user."""

    sender_id: str
    sender_password: str
    company_id: str
    user_id: str
    user_password: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        missing = [k for k in cls.__dataclass_fields__
                   if not isinstance(data.get(k), str) or not data[k].strip()]
        if missing:
            raise Refused(f"{NAME} needs {', '.join(missing)} to connect")
        return cls(**{k: str(data[k]).strip() for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _throttled(errors: list[ix.Error]) -> bool:
    return any(h in e.text().lower() for e in errors for h in THROTTLE_HINTS)


class SageIntacct:
    """Reads one company. A session is opened on first use and re-opened once when it expires;
    credentials never change here, so there is nothing to save back."""

    provider = PROVIDER

    def __init__(self, client: httpx.Client, credentials: Credentials, *,
                 endpoint: str | None = None, retry: http.Retry | None = None,
                 page_size: int = PAGE_SIZE, default_currency: str = "USD",
                 reconcile_every: timedelta = RECONCILE_EVERY,
                 payment_account: writes.PaymentAccount | None = None) -> None:
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{PAGE_SIZE}")
        self.client, self.credentials = client, credentials
        self.endpoint = endpoint or default_endpoint()
        self.retry = retry or http.Retry()
        self.page_size, self.default_currency = page_size, default_currency
        self.reconcile_every = reconcile_every
        self.payment_account = payment_account or writes.PaymentAccount()
        self.session_id: str | None = None
        self.session_url = self.endpoint
        self.tax_unreadable: set[str] = set()  # T5: tax-entry objects this company lacks

    # transport ---------------------------------------------------------------
    def _exchange(self, url: str, auth: Any, function: Any,
                  write_key: str | None = None) -> ix.Response:
        """POST one function, retrying Intacct's "try again later" answers with back-off (a
        throttled function did not run). ``write_key``: a write, sent with that function
        control id and ``uniqueid`` true, and never resent after a timeout."""
        c = self.credentials
        for attempt in range(self.retry.attempts):
            if write_key is None:
                body = ix.request(c.sender_id, c.sender_password, auth, function)
                response = http.send(self.client, self.retry, "POST", url, what=NAME,
                                     content=body, headers={"Content-Type": "application/xml"})
            else:
                body = ix.request(c.sender_id, c.sender_password, auth, function,
                                  function_controlid=write_key, unique=True)
                response = writes.send_once(self.client, self.retry, url, body)
            try:
                parsed = ix.parse(response.content)
            except ix.MalformedResponse as exc:
                if response.status_code in (401, 403):
                    raise NeedsReconnection(f"{NAME} refused access (HTTP "
                                            f"{response.status_code}); reconnect") from None
                if write_key is not None:  # a proxy's page, or a cut answer: not known
                    raise Transient(f"{NAME} answered the write with {exc}; whether it was "
                                    "made is not known yet") from None
                raise ConnectorError(f"{NAME} answered HTTP {response.status_code} with "
                                     f"{exc}") from None
            if not _throttled(parsed.all_errors()):
                return parsed
            last = ix.describe(parsed.all_errors())
            if attempt + 1 < self.retry.attempts:
                self.retry.sleep(self.retry.delay(attempt, None))
        raise Transient(f"{NAME} is throttling requests ({last}); gave up after "
                        f"{self.retry.attempts} attempts, will retry later")

    def _trusted(self, endpoint: str) -> str:
        """getAPISession names the endpoint to use; follow it only to Intacct itself (or to the
        configured host), so a session id is never sent anywhere else."""
        want, got = urlsplit(self.endpoint), urlsplit(endpoint)
        if got.hostname and ((got.hostname == want.hostname and got.scheme == want.scheme) or
                             (got.scheme == "https" and got.hostname.endswith(".intacct.com"))):
            return endpoint
        return self.endpoint

    def open_session(self) -> dict[str, str]:
        """getAPISession with the company login: the session id and the endpoint to use."""
        c = self.credentials
        parsed = self._exchange(self.endpoint, ix.login(c.user_id, c.company_id,
                                                        c.user_password), ix.get_api_session())
        if not parsed.control_ok:
            raise NeedsReconnection(f"{NAME} refused the Web Services sender {c.sender_id!r} "
                                    f"({ix.describe(parsed.control_errors)}); check the sender "
                                    "ID and password and that the company authorizes it")
        if not parsed.auth_ok:
            raise NeedsReconnection(f"{NAME} refused the sign-in of user {c.user_id!r} at "
                                    f"company {c.company_id!r} "
                                    f"({ix.describe(parsed.auth_errors)}); update the credentials")
        api = self._data(self._one(parsed)).find("api")
        session_id = (api.findtext("sessionid") or "").strip() if api is not None else ""
        if not session_id:
            raise ConnectorError(f"{NAME} answered getAPISession without a session id")
        self.session_id = session_id
        self.session_url = self._trusted((api.findtext("endpoint") or "").strip())
        return {"company_id": parsed.auth.get("companyid", c.company_id),
                "user_id": parsed.auth.get("userid", c.user_id), "endpoint": self.session_url,
                "session_timeout": parsed.auth.get("sessiontimeout", "")}

    def _one(self, parsed: ix.Response, write: bool = False) -> ix.Result:
        """The one function result; a read refused for want of a permission needs the
        partner (a write's refusal, permission or not, is the caller's to word: Y12)."""
        if len(parsed.results) != 1:
            raise ConnectorError(f"{NAME} answered with {len(parsed.results)} results for one "
                                 "function")
        result = parsed.results[0]
        if not result.ok and not write:
            detail = ix.describe(result.errors)
            if "permission" in detail.lower():
                raise NeedsReconnection(f"{NAME} user {self.credentials.user_id!r} may not "
                                        f"{result.function or 'read'} ({detail}); grant the "
                                        "permission, then reconnect")
        return result

    def _run(self, function: Any, write_key: str | None = None) -> ix.Result:
        """One function in the session; an expired session is re-opened once, then retried
        (a refused session ran nothing, so a write may be sent again)."""
        for attempt in (1, 2):
            if self.session_id is None:
                self.open_session()
            parsed = self._exchange(self.session_url, ix.session(self.session_id or ""),
                                    function, write_key)
            if not parsed.control_ok:
                raise NeedsReconnection(f"{NAME} refused the Web Services sender "
                                        f"({ix.describe(parsed.control_errors)}); reconnect")
            if parsed.auth_ok:
                return self._one(parsed, write_key is not None)
            self.session_id = None  # expired or ended: sign in again, once
            if attempt == 2:
                raise NeedsReconnection(f"{NAME} refused a fresh session "
                                        f"({ix.describe(parsed.auth_errors)}); reconnect")
        raise AssertionError("unreachable")

    @staticmethod
    def _data(result: ix.Result) -> Any:
        if not result.ok:
            raise ConnectorError(f"{NAME} {result.function or 'request'} failed: "
                                 f"{ix.describe(result.errors)}")
        if result.data is None:
            raise ConnectorError(f"{NAME} answered {result.function} without <data>")
        return result.data

    # reading -----------------------------------------------------------------
    def fetch(self, cursor: dict[str, Any]) -> Iterator[Batch]:
        """AR adjustments, then AR invoices, changed since the cursor, page by page.

        Each kind keeps its own WHENMODIFIED: ``since``/``seen_max`` for adjustments (the keys
        of cursors stored before invoices were read: such a cursor reads invoices from the
        beginning), ``invoices_since``/``invoices_seen_max`` for invoices. readByQuery has no
        ORDER BY, so a ``since`` only moves at the end of its kind's pass, to the newest
        WHENMODIFIED seen (``>=``: the same second is read again, harmlessly). Mid-pass cursors
        carry only the ``seen`` key: a killed run queries again from ``since`` and re-reads the
        pages it had landed (upserts make that harmless). It never resumes with readMore: the
        result set moves on at every readMore, so a page fetched by a worker that died before
        landing it would be skipped for good.
        """
        state = {k: v for k, v in cursor.items() if v is not None}
        state.pop("result_id", None)  # a cursor saved before readMore was known to lose pages
        yield from self._changed(MEMOS, state)
        yield from self._changed(INVOICES, state)

    def _changed(self, kind: Kind, state: dict[str, Any]) -> Iterator[Batch]:
        """One kind's pass; ``state`` (the cursor being built) is updated as pages go."""
        since = stamp(state.get(kind.since_key))  # re-formatted: never raw text in the query
        query = f"WHENMODIFIED >= '{since.strftime(STAMP)}'" if since else ""
        result = self._run(ix.read_by_query(kind.obj, kind.fields, query, self.page_size))
        seen = stamp(state.get(kind.seen_key))
        while True:
            data = self._data(result)
            records: list[Record] = []
            for element in list(data):
                fields = _fields(element)
                when = stamp(fields.get("WHENMODIFIED"))
                seen = max(seen, when) if seen and when else (seen or when)
                record = kind.parse(fields, self.default_currency)
                if record is not None:
                    records.append(record)
            records = self._with_lines(kind, records)
            remaining, result_id = data.get("numremaining", "0"), data.get("resultId", "")
            if remaining.isdigit() and int(remaining) > 0:
                if not result_id:
                    raise ConnectorError(f"{NAME} reported {remaining} more records without "
                                         "a resultId")
                state[kind.seen_key] = seen.strftime(STAMP) if seen else None
                yield Batch(records, {k: v for k, v in state.items() if v is not None},
                            {"numremaining": int(remaining)})
                result = self._run(ix.read_more(result_id))
                continue
            state.pop(kind.seen_key, None)
            if seen:
                state[kind.since_key] = seen.strftime(STAMP)
            yield Batch(records, {k: v for k, v in state.items() if v is not None},
                        {"numremaining": 0})
            return

    def fetch_targets(self, targets: Targets) -> Iterator[Batch]:
        """Exactly the named adjustments and invoices (``base.invoice_key`` for invoices):
        ``query`` RECORDNO IN (...), ``TARGET_BATCH`` at a time, with their lines. One the
        query does not return, or named as deleted, is ``Deleted``/``DeletedInvoice``; one
        that is no longer a credit memo or an owed invoice (a draft) is left out."""
        memos, invoices = split_targets(targets)
        for kind, wanted in ((MEMOS, memos), (INVOICES, invoices)):
            ids = sorted(wanted, key=_numeric)
            for start in range(0, len(ids), TARGET_BATCH):
                chunk = ids[start:start + TARGET_BATCH]
                found = self._read_ids(kind, [i for i in chunk if wanted[i] != DELETED])
                records: list[Record] = []
                for record_no in chunk:
                    record = found[record_no] if record_no in found else kind.gone(record_no)
                    if record is not None:
                        records.append(record)
                yield Batch(self._with_lines(kind, records), None)

    def _read_ids(self, kind: Kind, record_nos: list[str]) -> dict[str, Record | None]:
        """RECORDNO → its record (None: present but not reported); absent ones are gone."""
        if not record_nos:
            return {}
        data = self._data(self._run(ix.query_in(
            kind.obj, kind.fields, "RECORDNO", record_nos, order_by=["RECORDNO"],
            page_size=LINE_PAGE_SIZE)))
        out: dict[str, Record | None] = {}
        for element in list(data):
            fields = _fields(element)
            if fields.get("RECORDNO") in record_nos:
                out[fields["RECORDNO"]] = kind.parse(fields, self.default_currency)
        return out

    # reconciliation: hard deletes ------------------------------------------------------
    def reconcile_due(self, cursor: dict[str, Any], *, now: datetime,
                      has_memos: bool) -> bool:
        """At most once per ``reconcile_every`` (the cursor's ``reconciled_at``, our clock)."""
        try:
            last = datetime.fromisoformat(str(cursor.get("reconciled_at")))
        except ValueError:
            return True
        return now - (last if last.tzinfo else last.replace(tzinfo=UTC)) >= self.reconcile_every

    def reconcile(self, cursor: dict[str, Any], known: set[str], *, now: datetime,
                  progress: Callable[[], None] = lambda: None) -> Reconciliation:
        """For each kind held (memo ids, and invoices by ``base.invoice_key``): readByQuery
        with only RECORDNO and no filter, then readMore until none remain (all in this call:
        a result set is not resumed across runs), then a ``query`` ``RECORDNO IN (...)`` for
        the held records missing from it: only those it does not return are gone. The
        listing runs before the incremental read, never between its readMores."""
        state = {**cursor, "reconciled_at": now.isoformat()}
        memos, invoices = split_targets(dict.fromkeys(known, CHANGED))
        gone: set[str] = set()
        for kind, held in ((MEMOS, memos), (INVOICES, invoices)):
            if not held:  # nothing of this kind here to void
                continue
            present = self._list_ids(kind, progress)
            missing = sorted(set(held) - present, key=_numeric)
            gone.update(kind.key(i) for i in set(missing) - self._still_present(
                kind, missing, progress))
        return Reconciliation(frozenset(gone), state)

    def _list_ids(self, kind: Kind, progress: Callable[[], None]) -> set[str]:
        ids: set[str] = set()
        result = self._run(ix.read_by_query(kind.obj, ["RECORDNO"], "", self.page_size))
        while True:
            data = self._data(result)
            ids.update(self._record_nos(kind, data))
            progress()
            remaining, result_id = data.get("numremaining", "0"), data.get("resultId", "")
            if not remaining.isdigit():
                raise ConnectorError(f"{NAME} answered a listing without numremaining")
            if int(remaining) == 0:
                return ids
            if not result_id:
                raise ConnectorError(f"{NAME} reported {remaining} more records without a "
                                     "resultId")
            result = self._run(ix.read_more(result_id))

    def _still_present(self, kind: Kind, record_nos: list[str],
                       progress: Callable[[], None]) -> set[str]:
        present: set[str] = set()
        for start in range(0, len(record_nos), VERIFY_BATCH):
            chunk = record_nos[start:start + VERIFY_BATCH]
            data = self._data(self._run(ix.query_in(
                kind.obj, ["RECORDNO"], "RECORDNO", chunk, order_by=["RECORDNO"],
                page_size=LINE_PAGE_SIZE)))
            present.update(self._record_nos(kind, data))
            progress()
        return present

    @staticmethod
    def _record_nos(kind: Kind, data: Any) -> list[str]:
        """The RECORDNOs of a page; a record without one makes the listing unusable."""
        out = []
        for element in list(data):
            record_no = _fields(element).get("RECORDNO", "")
            if not record_no:
                raise ConnectorError(f"{NAME} listed an {kind.what} without a RECORDNO")
            out.append(record_no)
        return out

    def _with_lines(self, kind: Kind, records: list[Record]) -> list[Record]:
        """The page's memos or invoices with their lines, read in bulk: ``query`` on the line
        object with RECORDKEY IN (the page's RECORDNOs), offset-paged. ``query`` keeps no
        result set, so the headers' readByQuery/readMore result stays open. Memos also get
        their applications (``_with_applications``)."""
        heads = {r.external_id: r for r in records if isinstance(r, kind.record_type)}
        if not heads:
            return records
        rows = self._rows_in(kind.line_obj, kind.line_fields, "RECORDKEY", list(heads),
                             ["RECORDKEY", "LINE_NO"])
        out: list[Record] = []
        for record in records:
            if isinstance(record, kind.record_type):
                lines = sorted(rows[record.external_id], key=lambda f: _numeric(f.get("LINE_NO")))
                record = kind.with_lines(record, lines)
            out.append(record)
        out = self._with_tax(kind, out)
        return self._with_applications(out) if kind is MEMOS else out

    def _with_tax(self, kind: Kind, records: list[Record]) -> list[Record]:
        """T5: each record's tax from its tax entries (``intacct_tax``), read in bulk like
        the lines; a record without any keeps None (not reported). A company whose tax-entry
        object can't be queried (no Taxes application) reports none, and the run goes on."""
        heads = [r.external_id for r in records
                 if isinstance(r, kind.record_type) and not r.voided]
        if not heads or kind.tax_obj in self.tax_unreadable:
            return records
        try:
            rows = self._rows_in(kind.tax_obj, tax.FIELDS, "RECORDKEY", heads,
                                 ["RECORDKEY", "RECORDNO"])
        except (NeedsReconnection, Transient):
            raise
        except ConnectorError:
            self.tax_unreadable.add(kind.tax_obj)  # not asked again by this connector
            return records
        out: list[Record] = []
        for record in records:
            if isinstance(record, kind.record_type) and rows.get(record.external_id):
                # entries that don't add up (ValueError): the tax stays unknown, never wrong
                with contextlib.suppress(ValueError):
                    record = replace(record, tax_minor=tax.tax_of(
                        rows[record.external_id], record.currency, record.total_minor,
                        credit=kind is MEMOS))
            out.append(record)
        return out

    def _with_applications(self, records: list[Record]) -> list[Record]:
        """Y14: each memo's credit applied to invoices as Intacct records it — the AR
        payment details (ARPYMTDETAIL) that apply the adjustment (ADJUSTMENTKEY) to an
        invoice (RECORDKEY), reversed ones left out — read in bulk like the lines. The
        record of an application is its AR payment (PAYMENTKEY), as ``write_credit`` names
        it. [U] that credit applied in Intacct's own screens is recorded the same way."""
        heads = [r.external_id for r in records if isinstance(r, RemoteMemo) and not r.voided]
        if not heads:
            return records
        rows = self._rows_in(APPLICATION_OBJECT, APPLICATION_FIELDS, "ADJUSTMENTKEY", heads,
                             ["ADJUSTMENTKEY", "RECORDNO"])
        out: list[Record] = []
        for record in records:
            if isinstance(record, RemoteMemo) and record.external_id in rows:
                try:
                    applied = tuple(
                        RemoteApplication(f["PAYMENTKEY"], f["RECORDKEY"], exact_minor(
                            f.get("TRX_ADJUSTMENTAMOUNT"), record.currency, "amount applied"))
                        for f in rows[record.external_id]
                        if f.get("STATE", "").lower() not in ("reversed", "reversal", "voided")
                        and f.get("PAYMENTKEY") and f.get("RECORDKEY"))
                except ValueError:
                    applied = None  # nothing reconciled from a partial picture
                record = replace(record, applications=applied)
            out.append(record)
        return out

    def _rows_in(self, obj: str, fields: list[str], key_field: str, keys: list[str],
                 order_by: list[str]) -> dict[str, list[dict[str, str]]]:
        """Rows of ``obj`` whose ``key_field`` is one of ``keys``, by key (every key
        present, maybe with none): ``query`` … IN, offset-paged."""
        rows: dict[str, list[dict[str, str]]] = {k: [] for k in keys}
        offset = 0
        while True:
            data = self._data(self._run(ix.query_in(
                obj, fields, key_field, sorted(keys, key=_numeric), order_by=order_by,
                page_size=LINE_PAGE_SIZE, offset=offset)))
            page = list(data)
            for element in page:
                found = _fields(element)
                if found.get(key_field) in rows:
                    rows[found[key_field]].append(found)
            remaining = data.get("numremaining", "0")
            if not (remaining.isdigit() and int(remaining) > 0) or not page:
                return rows
            offset += len(page)

    # write-back (Y11-Y13): see intacct_writes ---------------------------------------------
    def write_credit(self, write: CreditWrite) -> Written:
        return writes.write_credit(self, write)

    def find_credit(self, write: CreditWrite) -> Written | None:
        return writes.find_credit(self, write)

    def remove_credit(self, write: CreditWrite, external_id: str) -> None:
        writes.remove_credit(self, write, external_id)


def _fields(element: Any) -> dict[str, str]:
    """A record element's fields by upper-case name (readByQuery and query differ in case)."""
    return {c.tag.upper(): (c.text or "").strip() for c in element}


def _numeric(text: object) -> tuple[int, str]:
    value = str(text or "")
    return (int(value), value) if value.isdigit() else (1 << 62, value)


def check_credentials(client: httpx.Client, credentials: dict[str, Any] | Credentials, *,
                      endpoint: str | None = None,
                      retry: http.Retry | None = None) -> dict[str, str]:
    """Connect-time check: getAPISession must succeed. Bad credentials → a clear Refused."""
    creds = (credentials if isinstance(credentials, Credentials)
             else Credentials.from_dict(credentials))
    try:
        return SageIntacct(client, creds, endpoint=endpoint, retry=retry).open_session()
    except NeedsReconnection as exc:
        raise Refused(str(exc).replace("; reconnect", "")) from None


def build(client: httpx.Client, settings: object = None, *, tokens: dict[str, Any],
          **options: Any) -> SageIntacct:
    """The connector for a stored integration: ``tokens`` is the sealed credentials dict
    (``Credentials.to_dict()``); ``realm_id``/``region``/``save_tokens`` are not needed."""
    for unused in ("realm_id", "region", "save_tokens"):
        options.pop(unused, None)
    endpoint = getattr(settings, "intacct_endpoint", None) or default_endpoint()
    return SageIntacct(client, Credentials.from_dict(tokens), endpoint=endpoint,
                       payment_account=writes.PaymentAccount.from_tokens(tokens), **options)
