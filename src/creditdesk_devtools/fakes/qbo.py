"""A fake QuickBooks Online server: OAuth (authorize, tokens with rotation), CompanyInfo, the
query language subset CreditDesk uses over CreditMemo, Invoice and Payment (``*``,
``count(*)`` or named fields; one WHERE comparison on Id, MetaData.LastUpdatedTime or
CustomerRef, or ``Id IN (...)`` / ``CustomerRef IN (...)``; ORDERBY LastUpdatedTime or
CreateTime; STARTPOSITION and MAXRESULTS up to 1000), single reads of each (a deleted one
answers HTTP 400 with Fault code 610 "Object Not Found", as QBO does), CDC (refusing a
changedSince more than 30 days back), Payments applying credit memos to invoices,
deduplicated by ``requestid``, and their deletion (qbo_payments.py), Fault envelopes, faults
on demand, and signed webhooks in the classic and the CloudEvents formats (qbo_state.py).

Serve it with ``creditdesk fake quickbooks-online`` or in tests with uvicorn on a free port.
Routes mirror production: ``/connect/oauth2``, ``/oauth2/v1/tokens/bearer`` and ``/v3/...``.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from creditdesk_devtools.fakes import qbo_payments
from creditdesk_devtools.fakes.qbo_state import PACIFIC, FakeQboState, stamp

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<what>\*|count\(\*\)|[\w.]+(?:\s*,\s*[\w.]+)*)\s+FROM\s+(?P<entity>\w+)"
    r"(?:\s+WHERE\s+(?P<field>[\w.]+)\s*(?:(?P<op>>=|<=|=|>|<)\s*'(?P<value>[^']*)'"
    r"|IN\s*\((?P<values>[^)]*)\)))?"
    r"(?:\s+ORDERBY\s+(?P<order>[\w.]+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+STARTPOSITION\s+(?P<start>\d+))?(?:\s+MAXRESULTS\s+(?P<max>\d+))?\s*$",
    re.IGNORECASE)
CDC_REACH = timedelta(days=30)  # CDC "can track changes within the last 30 days"
CDC_MAX = 1000
# entity → its path in a single read (``/v3/company/{realm}/<path>/{id}``)
PATHS = {"creditmemo": "CreditMemo", "invoice": "Invoice", "payment": "Payment"}


def fault(status: int, message: str, code: str, kind: str, detail: str = "",
          headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"Fault": {"Error": [{"Message": message, "Detail": detail or message, "code": code,
                                 "element": ""}], "type": kind},
            "time": stamp(datetime.now(PACIFIC))}
    return JSONResponse(body, status_code=status, headers=headers)


def _ts(raw: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(raw["MetaData"]["LastUpdatedTime"])


def _created(raw: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(raw["MetaData"]["CreateTime"])


def create_app(state: FakeQboState) -> FastAPI:
    app = FastAPI(title="Fake QuickBooks Online")
    app.state.fake = state

    @app.get("/connect/oauth2")
    def authorize(request: Request, redirect_uri: str, realm: str | None = None) -> Response:
        """Consent is automatic: redirect back with a code for ``realm`` (default: first), or
        with ``state.consent_error`` when the consent is set to be declined."""
        if state.consent_error:
            declined = {"error": state.consent_error,
                        "state": request.query_params.get("state", "")}
            return RedirectResponse(f"{redirect_uri}?{urlencode(declined)}", status_code=302)
        realm_id = realm or next(iter(state.companies))
        query = {"code": state.grant(realm_id), "state": request.query_params.get("state", ""),
                 "realmId": realm_id}
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)

    @app.post("/oauth2/v1/tokens/bearer")
    async def tokens(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        if auth != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = form.get("grant_type")
        with state.lock:
            if grant == "authorization_code" and form.get("code") in state.codes:
                return JSONResponse(state.issue_tokens(state.codes.pop(str(form["code"]))))
            if grant == "refresh_token" and form.get("refresh_token") in state.refresh:
                realm_id = state.refresh.pop(str(form["refresh_token"]))  # rotation
                return JSONResponse(state.issue_tokens(realm_id))
        return JSONResponse({"error": "invalid_grant"}, status_code=400)

    async def guard(request: Request, realm_id: str) -> Response | None:
        state.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
        injected = state.next_fault()
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if injected in ("429",):
            return fault(429, "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                         "3001", "SERVICE", headers={"Retry-After": state.retry_after})
        if injected in ("500", "503"):
            return fault(int(injected), "An application error has occurred", "10000",
                         "SystemFault")
        if injected == "timeout" and request.method == "POST":
            request.state.stall = True  # a write: made first, then the answer is lost
        elif injected == "timeout":
            await asyncio.sleep(state.timeout_delay)  # the client gives up first
        if injected == "expired_token":
            state.access.pop(token, None)
        if injected == "revoked":
            state.revoke(realm_id)
        grant = state.access.get(token)
        if grant is None or grant[0] != realm_id or grant[1] <= datetime.now(PACIFIC):
            return fault(401, "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                         "3200", "AUTHENTICATION")
        if realm_id not in state.companies:
            return fault(400, "Invalid Company", "4000", "ValidationFault")
        return None

    @app.get("/v3/company/{realm_id}/companyinfo/{info_id}")
    async def company_info(realm_id: str, info_id: str, request: Request) -> Response:
        refused = await guard(request, realm_id)
        if refused:
            return refused
        company = state.companies[realm_id]
        return JSONResponse({"CompanyInfo": {
            "CompanyName": company.name, "LegalName": company.name, "Country": company.country,
            "Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": False,
            "CompanyAddr": {"Line1": "1 Main St", "Country": company.country}},
            "time": stamp(state.now())})

    @app.api_route("/v3/company/{realm_id}/query", methods=["GET", "POST"])
    async def query(realm_id: str, request: Request) -> Response:
        refused = await guard(request, realm_id)
        if refused:
            return refused
        text = request.query_params.get("query") or (await request.body()).decode()
        return run_query(state, realm_id, text)

    @app.get("/v3/company/{realm_id}/{kind}/{ext}")
    async def read_one(realm_id: str, kind: str, ext: str, request: Request) -> Response:
        refused = await guard(request, realm_id)
        if refused:
            return refused
        entity = PATHS.get(kind)
        if entity is None:
            return fault(400, "Unsupported Operation", "500", "ValidationFault",
                         detail=f"Operation {kind} is not supported.")
        company = state.companies[realm_id]
        raw = company.records(entity).get(ext)
        if raw is None:  # QBO answers a read of a deleted transaction with a 400 fault 610
            gone = any(i == ext for i, _ in company.tombstones(entity))
            return fault(400, "Object Not Found", "610", "ValidationFault", detail=(
                "Object Not Found : Another user has deleted this transaction." if gone else
                "Object Not Found : Something you're trying to use has been made inactive or "
                "is not present."))
        return JSONResponse({entity: raw, "time": stamp(state.now())})

    @app.post("/v3/company/{realm_id}/payment")
    async def payment(realm_id: str, request: Request, requestid: str | None = None,
                      operation: str | None = None) -> Response:
        """Create a Payment (``requestid``: a repeat gets the first answer) or, with
        ``operation=delete``, delete one; a "timeout" fault answers after making it."""
        refused = await guard(request, realm_id)
        if refused:
            return refused
        text = await request.body()
        if operation == "delete":
            status, body = qbo_payments.delete(state, realm_id, text)
        elif operation is None:
            status, body = qbo_payments.create(state, realm_id, text, requestid)
        else:
            return fault(400, "Unsupported Operation", "500", "ValidationFault",
                         detail=f"Operation {operation} is not supported.")
        if getattr(request.state, "stall", False):
            await asyncio.sleep(state.timeout_delay)  # made; the client gives up first
        return Response(body, status_code=status, media_type="application/json")

    @app.get("/v3/company/{realm_id}/cdc")
    async def cdc(realm_id: str, request: Request, entities: str = "",
            changedSince: str = "") -> Response:
        refused = await guard(request, realm_id)
        if refused:
            return refused
        try:
            since = datetime.fromisoformat(changedSince)
        except ValueError:
            return fault(400, "Invalid changedSince", "2030", "ValidationFault")
        if since.tzinfo is None:
            since = since.replace(tzinfo=PACIFIC)
        if since < state.now() - CDC_REACH:
            # The words are QBO's as reported by users [S]; the status and code are [U].
            return fault(400, f"Operation cdc with changedSince date {changedSince} which is "
                              "older than fixed days is not supported.", "4000",
                         "ValidationFault")
        company = state.companies[realm_id]
        # "At most 1,000 objects per response" [C]; which ones QBO keeps is not documented:
        # the fake keeps the oldest changes
        changed: list[tuple[str, dict[str, Any]]] = []
        with state.lock:
            for entity in [e for e in entities.split(",") if e in PATHS.values()]:
                changed += [(entity, m) for m in company.records(entity).values()
                            if _ts(m) >= since]
                changed += [(entity, {"Id": i, "domain": "QBO", "status": "Deleted",
                                      "MetaData": {"LastUpdatedTime": stamp(at)}})
                            for i, at in company.tombstones(entity) if at >= since]
        changed = sorted(changed, key=lambda c: _ts(c[1]))[:CDC_MAX]
        blocks: list[dict[str, Any]] = []
        for entity in dict.fromkeys(e for e, _ in changed):
            records = [m for e, m in changed if e == entity]
            blocks.append({entity: records, "startPosition": 1, "maxResults": len(records)})
        return JSONResponse({"CDCResponse": [{"QueryResponse": blocks or [{}]}],
                             "time": stamp(state.now())})

    return app


def _listing(state: FakeQboState, realm_id: str, entity: str, by_created: bool
             ) -> tuple[list[dict[str, Any]], list[datetime]]:
    """Every record of ``entity`` ascending by (``CreateTime`` or ``LastUpdatedTime``, Id),
    with each one's LastUpdatedTime in the same order: what every query used to build by
    re-parsing and re-sorting all the memos (O(all memos) a page, most of a 100,000-memo
    paging). Kept per version of the company's records, so a page costs a page's work."""
    with state.lock:
        company = state.companies[realm_id]
        records = company.records(entity)
        key = (company.version, len(records), by_created)
        kept = company.listing.get(entity)
        if kept is not None and kept[0] == key:
            return kept[1], kept[2]
        rows = list(records.values())
    stamp_of = _created if by_created else _ts
    rows.sort(key=lambda r: (stamp_of(r), int(r["Id"])))
    updated = [_ts(r) for r in rows]
    with state.lock:
        if (company.version, len(records)) == key[:2]:
            company.listing[entity] = (key, rows, updated)
    return rows, updated


_COMPARE = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "=": lambda a, b: a == b,
            ">": lambda a, b: a > b, "<": lambda a, b: a < b}


def run_query(state: FakeQboState, realm_id: str, text: str) -> Response:
    match = _QUERY.match(text)
    if not match or match["entity"] not in PATHS.values():
        return fault(400, "QueryParserError: Encountered an unsupported query", "4000",
                     "ValidationFault", detail=text[:200])
    by_created = (match["order"] or "").lower() == "metadata.createtime"
    # (stamp, Id) is unique per record, so descending is the ascending listing reversed
    entity = match["entity"]
    rows, updated = _listing(state, realm_id, entity, by_created)
    if match["values"] is not None:  # WHERE Id IN ('1', '2'), or CustomerRef IN (...)
        if match["field"] not in ("Id", "CustomerRef"):
            return fault(400, f"QueryParserError: unsupported property {match['field']}",
                         "4000", "ValidationFault")
        wanted = set(re.findall(r"'([^']*)'", match["values"]))
        rows = [r for r in rows if (r["Id"] if match["field"] == "Id"
                                    else r.get("CustomerRef", {}).get("value")) in wanted]
    elif match["field"]:
        field, op, value = match["field"], match["op"], match["value"]
        compare = _COMPARE[op]
        if field == "MetaData.LastUpdatedTime":
            bound = datetime.fromisoformat(value)
            if not by_created and op in (">=", ">"):  # the changed memos are a suffix
                cut = bisect.bisect_left if op == ">=" else bisect.bisect_right
                rows = rows[cut(updated, bound):]
            else:
                rows = [r for r, at in zip(rows, updated, strict=True) if compare(at, bound)]
        elif field == "Id":
            rows = [r for r in rows if compare(r["Id"], value)]
        elif field == "CustomerRef" and op == "=":
            rows = [r for r in rows if r.get("CustomerRef", {}).get("value") == value]
        else:
            return fault(400, f"QueryParserError: unsupported property {field}", "4000",
                         "ValidationFault")
    if match["what"].lower() == "count(*)":
        return JSONResponse({"QueryResponse": {"totalCount": len(rows)},
                             "time": stamp(state.now())})
    if (match["dir"] or "").upper() == "DESC":
        rows = rows[::-1]
    start = max(1, int(match["start"] or 1))
    limit = min(1000, int(match["max"] or 100))
    page = rows[start - 1:start - 1 + limit]
    if match["what"] != "*":  # named fields: only those come back
        names = [n.strip() for n in match["what"].split(",")]
        page = [{n: r[n] for n in names if n in r} for r in page]
    body: dict[str, Any] = {}
    if page:
        body = {entity: page, "startPosition": start, "maxResults": len(page)}
    return JSONResponse({"QueryResponse": body, "time": stamp(state.now())})
