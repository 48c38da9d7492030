"""A fake Xero: OAuth 2.0 (authorize with the scopes asked for, token endpoint with rotating
refresh tokens and the 30-minute grace), the connections endpoint, Organisation, CreditNotes
and Invoices (ACCREC and ACCPAY) with the ``where`` subset CreditDesk uses, ``order``,
``page``/``pageSize``, If-Modified-Since (ISO or RFC 1123), the Invoices filters (IDs,
Statuses…), single reads, credit note Allocations written and deleted (fakes/
xero_allocations.py: refusals, Idempotency-Key replay, the accounting.transactions scope),
the X-*Limit-Remaining headers, 429 over the minute limit, problem and ValidationException
bodies, and faults on demand.

Serve it with ``creditdesk fake xero`` or in tests with uvicorn on a free port. Routes mirror
production: ``/identity/connect/authorize``, ``/connect/token``, ``/connections`` and
``/api.xro/2.0/...``.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import email.utils
import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from creditdesk.connectors.xero_records import msdate, parse_datetime
from creditdesk_devtools.fakes import xero_allocations as allocations
from creditdesk_devtools.fakes.xero_state import FakeXeroState, Org

API = "/api.xro/2.0"
_CLAUSE = re.compile(r'^\s*(?P<field>[\w.]+)\s*(?P<op>==|!=)\s*"(?P<value>[^"]*)"\s*$')


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None
            ) -> JSONResponse:
    return JSONResponse({"Type": None, "Title": title, "Status": status, "Detail": detail},
                        status_code=status, headers=headers)


def invalid(message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ErrorNumber": 10, "Type": "ValidationException",
                         "Message": "A validation exception occurred",
                         "Elements": [{"ValidationErrors": [{"Message": message}]}]},
                        status_code=400, headers=headers)


def throttled(problem_kind: str, retry_after: str, headers: dict[str, str]) -> Response:
    body = ("oauth_problem=rate%20limit%20exceeded&oauth_problem_advice=please%20wait%20"
            "before%20retrying%20the%20xero%20api")
    return Response(body, status_code=429, media_type="text/html", headers={
        **headers, "Retry-After": retry_after, "X-Rate-Limit-Problem": problem_kind})


def _field(raw: dict[str, Any], name: str) -> str:
    value: Any = raw
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return str(value) if value is not None else ""


def _since(header: str) -> datetime:
    try:
        when = email.utils.parsedate_to_datetime(header)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return parse_datetime(header)


def envelope(state: FakeXeroState, key: str, items: list[Any],
             pagination: dict[str, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK",
                           "ProviderName": "CreditDesk (fake Xero client)",
                           "DateTimeUTC": msdate(datetime.now(UTC))}
    if pagination is not None:
        out["pagination"] = pagination
    out[key] = items
    return out


def create_app(state: FakeXeroState) -> FastAPI:
    app = FastAPI(title="Fake Xero")
    app.state.fake = state

    @app.get("/identity/connect/authorize")
    def authorize(request: Request, client_id: str, redirect_uri: str,
                  tenant: str | None = None) -> Response:
        """Consent is automatic for ``tenant`` (comma-separated ids; default:
        ``state.consent_tenants``, else the first organisation)."""
        if client_id != state.client_id:
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        chosen = (tenant.split(",") if tenant
                  else state.consent_tenants or [next(iter(state.orgs))])
        scope = request.query_params.get("scope", "")
        query = {"code": state.grant(chosen, scope), "scope": scope,
                 "state": request.query_params.get("state", ""),
                 "session_state": uuid.uuid4().hex}
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)

    @app.post("/connect/token")
    async def tokens(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        if auth != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        form = await request.form()
        grant = form.get("grant_type")
        with state.lock:
            if grant == "authorization_code" and form.get("code") in state.codes:
                return JSONResponse(state.issue_tokens(state.codes.pop(str(form["code"]))))
            if grant == "refresh_token":
                event = state.use_refresh(str(form.get("refresh_token") or ""))
                if event is not None:
                    return JSONResponse(state.issue_tokens(event))
        return JSONResponse({"error": "invalid_grant"}, status_code=400)

    def bearer(request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    @app.get("/connections")
    def connections(request: Request) -> Response:
        if state.tenants_of(bearer(request)) is None:
            return problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        with state.lock:
            return JSONResponse(list(state.connections.values()))

    async def guard(request: Request, *, write: bool = False
                    ) -> tuple[Response | None, dict[str, str]]:
        """Faults, token, tenant header, scope and rate limits of an Accounting API request.
        A write's "timeout" fault is left in ``request.state.late`` (the write happens, the
        answer comes too late)."""
        state.requests.append(f"{request.method} {request.url.path}?{request.url.query} "
                              f"If-Modified-Since: {request.headers.get('if-modified-since')}")
        request.state.late = False
        tenant = request.headers.get("xero-tenant-id", "")
        if tenant not in state.orgs:
            return problem(403, "Forbidden", "AuthenticationUnsuccessful"), {}
        injected = state.next_fault()
        over, headers = state.count_call(tenant)
        if injected in ("429", "429_day") or over:
            kind = over or ("day" if injected == "429_day" else "minute")
            wait = state.retry_after if kind == "minute" else "3600"
            return throttled(kind, wait, headers), headers
        if injected in ("500", "503"):
            return problem(int(injected), "An error occurred", "An error occurred in Xero. "
                           "Check the API Status page for details.", headers), headers
        if injected == "timeout" and write:
            request.state.late = True
        elif injected == "timeout":
            await asyncio.sleep(state.timeout_delay)  # the client gives up first
        token = bearer(request)
        if injected == "expired_token":
            with state.lock:
                state.access.pop(token, None)
        if injected == "revoked":
            state.revoke(tenant)
        allowed = state.tenants_of(token)
        if allowed is None:
            return problem(401, "Unauthorized", "TokenExpired: token expired at "
                           f"{datetime.now(UTC):%m/%d/%Y %H:%M:%S}", headers), headers
        if tenant not in allowed:
            return problem(403, "Forbidden", "AuthenticationUnsuccessful", headers), headers
        if write and not state.may_write(token):
            status = state.scope_refusal_status
            return problem(status, "Unauthorized" if status == 401 else "Forbidden",
                           "AuthorizationUnsuccessful", headers), headers
        return None, headers

    async def answer(request: Request, status: int, body: dict[str, Any],
                     headers: dict[str, str]) -> Response:
        """A write's answer, after the write was made; too late under a "timeout" fault."""
        if request.state.late:
            await asyncio.sleep(state.timeout_delay)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.get(f"{API}/Organisation")
    async def organisation(request: Request) -> Response:
        refused, headers = await guard(request)
        if refused:
            return refused
        org = state.orgs[request.headers["xero-tenant-id"]]
        return JSONResponse(envelope(state, "Organisations", [{
            "OrganisationID": org.tenant_id, "Name": org.name, "LegalName": org.name,
            "CountryCode": org.country, "BaseCurrency": "USD" if org.country == "US" else "GBP",
            "OrganisationStatus": "ACTIVE", "OrganisationType": "COMPANY", "Version": org.country,
            "IsDemoCompany": False, "PaysTax": True, "Timezone": "EASTERNSTANDARDTIME"}]),
            headers=headers)

    @app.get(f"{API}/{{collection}}/{{record_id}}")
    async def one(collection: str, record_id: str, request: Request) -> Response:
        if collection not in COLLECTIONS:
            return problem(404, "Not Found", "The resource you're looking for cannot be found")
        refused, headers = await guard(request)
        if refused:
            return refused
        org = state.orgs[request.headers["xero-tenant-id"]]
        raw = COLLECTIONS[collection].rows(org).get(record_id)
        if raw is None:
            return problem(404, "Not Found", "The resource you're looking for cannot be found",
                           headers)
        return JSONResponse(envelope(state, collection, [raw]), headers=headers)

    @app.get(f"{API}/{{collection}}")
    async def listing(collection: str, request: Request) -> Response:
        if collection not in COLLECTIONS:
            return problem(404, "Not Found", "The resource you're looking for cannot be found")
        refused, headers = await guard(request)
        if refused:
            return refused
        return list_rows(state, COLLECTIONS[collection], request, headers)

    @app.put(f"{API}/CreditNotes/{{note_id}}/Allocations")
    async def put_allocation(note_id: str, request: Request) -> Response:
        refused, headers = await guard(request, write=True)
        if refused:
            return refused
        try:
            body = json.loads(await request.body(), parse_float=Decimal)
        except ValueError:
            return invalid("The request body is not JSON", headers)
        status, out = allocations.allocate(state, request.headers["xero-tenant-id"], note_id,
                                           body, request.headers.get("idempotency-key"))
        return await answer(request, status, out, headers)

    @app.delete(f"{API}/CreditNotes/{{note_id}}/Allocations/{{allocation_id}}")
    async def delete_allocation(note_id: str, allocation_id: str, request: Request
                                ) -> Response:
        refused, headers = await guard(request, write=True)
        if refused:
            return refused
        status, out = allocations.deallocate(state, request.headers["xero-tenant-id"],
                                             note_id, allocation_id)
        return await answer(request, status, out, headers)

    return app


_parsed = functools.lru_cache(maxsize=1 << 18)(parse_datetime)


def _when(value: Any) -> datetime:
    """A record's timestamp, parsed once per distinct text."""
    return _parsed(value) if isinstance(value, str) else parse_datetime(value)


Clauses = tuple[tuple[str, str, bool], ...]  # (field, value, equal) of a ``where``
OrderKeys = dict[str, Callable[[dict[str, Any]], Any]]  # sort keys of ``order``


@dataclass(frozen=True)
class Collection:
    """A listed collection of the Accounting API: its id field, the fields ``where`` may
    name, its ``order`` keys and the comma-separated filter parameters it takes."""

    name: str
    id_key: str
    fields: frozenset[str]
    order_keys: OrderKeys
    rows: Callable[[Org], dict[str, dict[str, Any]]]
    lists: dict[str, str] = field(default_factory=dict)  # parameter → field, e.g. IDs


_COMMON: OrderKeys = {"UpdatedDateUTC": lambda r: _when(r["UpdatedDateUTC"]),
                      "Date": lambda r: _when(r["Date"])}
COLLECTIONS = {
    "CreditNotes": Collection(
        "CreditNotes", "CreditNoteID",
        frozenset({"Type", "Status", "Contact.ContactID", "CreditNoteNumber", "CurrencyCode"}),
        {**_COMMON, "CreditNoteNumber": lambda r: r["CreditNoteNumber"]}, lambda o: o.notes),
    # GET /Invoices: where, order, page/pageSize, If-Modified-Since, and the explicit
    # filters IDs, InvoiceNumbers, ContactIDs, Statuses (the spec's parameters).
    "Invoices": Collection(
        "Invoices", "InvoiceID",
        frozenset({"Type", "Status", "Contact.ContactID", "InvoiceNumber", "CurrencyCode"}),
        {**_COMMON, "InvoiceNumber": lambda r: r["InvoiceNumber"],
         "DueDate": lambda r: _when(r["DueDate"])}, lambda o: o.invoices,
        {"IDs": "InvoiceID", "InvoiceNumbers": "InvoiceNumber",
         "ContactIDs": "Contact.ContactID", "Statuses": "Status"}),
}


def _where(rows: list[dict[str, Any]], clauses: Clauses) -> list[dict[str, Any]]:
    for name, value, equal in clauses:
        rows = [r for r in rows if (_field(r, name) == value) == equal]
    return rows


def _sort(kind: Collection, rows: list[dict[str, Any]], order: str, descending: bool) -> None:
    key = kind.order_keys[order]
    rows.sort(key=lambda r: (key(r), r[kind.id_key]), reverse=descending)


def _modified_since(rows: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    return [r for r in rows if _when(r["UpdatedDateUTC"]) > since]


def _matching(state: FakeXeroState, kind: Collection, tenant: str, clauses: Clauses,
              order: str, descending: bool, since: datetime | None) -> list[dict[str, Any]]:
    """The records matching ``where`` and If-Modified-Since, sorted by ``order``: the rows of
    filtering then sorting all of them, which every request did (O(all records) a page).
    The filtered, sorted listing is kept per version of the organisation's records, so
    paging through 100,000 notes costs a page's work a page; If-Modified-Since is then a
    bisection (``UpdatedDateUTC ASC``, the connector's order) or a scan of the listing."""
    cache_key = (kind.name, clauses, order, descending)
    with state.lock:
        org = state.orgs[tenant]
        version = org.version
        found = org.listings.get(cache_key)
        rows = (None if found is not None and found[0] == version
                else list(kind.rows(org).values()))
    if rows is None:
        listing, stamps = found[1], found[2]
    else:
        listing = _where(rows, clauses)
        try:
            _sort(kind, listing, order, descending)
        except (KeyError, TypeError, ValueError):
            # A record without a sortable key: answer exactly as without the cache, sorting
            # only the records changed since (which fails only if one of those is such).
            listing = _where(rows, clauses)
            if since is not None:
                listing = _modified_since(listing, since)
            _sort(kind, listing, order, descending)
            return listing
        stamps = None
        if order == "UpdatedDateUTC" and not descending:
            stamps = [_when(r["UpdatedDateUTC"]) for r in listing]
        with state.lock:
            if org.version == version:
                if any(v[0] != version for v in org.listings.values()):
                    org.listings.clear()
                org.listings[cache_key] = (version, listing, stamps)
    if since is None:
        return listing
    if stamps is not None:  # ascending by UpdatedDateUTC: the changed records are a suffix
        return listing[bisect.bisect_right(stamps, since):]
    return _modified_since(listing, since)


def list_rows(state: FakeXeroState, kind: Collection, request: Request,
              headers: dict[str, str]) -> Response:
    q = request.query_params
    clauses = []
    for clause in re.split(r"&&|\s+AND\s+", q.get("where") or "") if q.get("where") else []:
        match = _CLAUSE.match(clause)
        if not match or match["field"] not in kind.fields:
            return invalid(f"Unsupported where clause {clause.strip()[:80]!r}", headers)
        clauses.append((match["field"], match["value"], match["op"] == "=="))
    since = None
    since_header = request.headers.get("if-modified-since")
    if since_header:
        try:
            since = _since(since_header)
        except ValueError:
            return invalid(f"Invalid If-Modified-Since {since_header[:40]!r}", headers)
    order = (q.get("order") or "UpdatedDateUTC ASC").split()
    if order[0] not in kind.order_keys:
        return invalid(f"Unsupported order {' '.join(order)[:60]!r}", headers)
    rows = _matching(state, kind, request.headers["xero-tenant-id"], tuple(clauses), order[0],
                     len(order) > 1 and order[1].upper() == "DESC", since)
    for param, name in kind.lists.items():
        if q.get(param):
            wanted = {v.strip() for v in q[param].split(",") if v.strip()}
            rows = [r for r in rows if _field(r, name) in wanted]
    if "page" not in q:
        return JSONResponse(envelope(state, kind.name,
                                     [{**r, "LineItems": []} for r in rows]), headers=headers)
    try:
        page, size = int(q["page"]), int(q.get("pageSize") or 100)
    except ValueError:
        return invalid("page and pageSize must be whole numbers", headers)
    if page < 1 or not 1 <= size <= 1000:
        return invalid("page must be 1 or more and pageSize between 1 and 1000", headers)
    chunk = rows[(page - 1) * size:page * size]
    pagination = {"page": page, "pageSize": size, "pageCount": -(-len(rows) // size),
                  "itemCount": len(rows)}
    return JSONResponse(envelope(state, kind.name, chunk, pagination), headers=headers)
