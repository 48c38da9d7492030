"""A fake Sage Intacct XML gateway: ``POST /ia/xml/xmlgw.phtml`` speaking dtd 3.0 envelopes.

Checks the Web Services sender (control failure), the company login or session id
(authentication failure), answers getAPISession (with an ``endpoint`` pointing back here),
readByQuery on ARADJUSTMENT, ARINVOICE and ARPYMT (``WHENMODIFIED`` comparisons or no filter,
the listed fields, page size 1..1000, a stored result set) and readMore, ``query`` on those
and their lines/details (select, ``in``/``equalto``/``and``/``or`` filters, orderby, pagesize
1..2000 and offset; no result set kept), ``delete`` of AR adjustments and invoices (a hard
delete), ``create`` of an ARPYMT and ``reverse_arpayment`` (``intacct_payments``), and fails
functions with errorno/description2 as Intacct does. With ``uniqueid`` true (the protocol's
default) a function whose control id already ran to completion is refused, nothing done.
Faults on demand: see ``FakeIntacctState.inject``; a ``timeout`` is answered late, after the
request was carried out (a write made, its answer lost). Serve it in tests with uvicorn on a
free port, or from the CLI (``fakes/intacct_cli.py``).
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from fastapi import FastAPI, Request
from fastapi.responses import Response

from creditdesk_devtools.fakes.intacct_payments import Refusal, create_payment, reverse_payment
from creditdesk_devtools.fakes.intacct_state import STAMP, FakeIntacctState

PATH = "/ia/xml/xmlgw.phtml"
_CONDITION = re.compile(r"^\s*(?P<field>WHENMODIFIED)\s*(?P<op>>=|<=|=|>|<)\s*'(?P<value>[^']*)'"
                        r"\s*$", re.IGNORECASE)
_COMPARE = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "=": lambda a, b: a == b,
            ">": lambda a, b: a > b, "<": lambda a, b: a < b}
ErrorTuple = tuple[str, str, str, str]  # errorno, description, description2, correction
READABLE = ("ARADJUSTMENT", "ARINVOICE", "ARPYMT")  # readByQuery
DUPLICATE = "XL03000014"  # [U] the errorno; the words are as a public client's specs quote


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def _errors(parent: ET.Element, errors: list[ErrorTuple]) -> None:
    block = _sub(parent, "errormessage")
    for errorno, description, description2, correction in errors:
        error = _sub(block, "error")
        for tag, text in (("errorno", errorno), ("description", description),
                          ("description2", description2), ("correction", correction)):
            _sub(error, tag, text)


def _xml(root: ET.Element, status: int = 200) -> Response:
    return Response(ET.tostring(root, encoding="utf-8", xml_declaration=True), status,
                    media_type="text/xml")


def _response(state: FakeIntacctState, control: ET.Element | None, ok: bool) -> ET.Element:
    root = ET.Element("response")
    block = _sub(root, "control")
    _sub(block, "status", "success" if ok else "failure")
    for tag in ("senderid", "controlid", "uniqueid"):
        _sub(block, tag, control.findtext(tag, "") if control is not None else "")
    _sub(block, "dtdversion", "3.0")
    return root


def _result(function: str, controlid: str, errors: list[ErrorTuple] | None = None,
            ) -> tuple[ET.Element, ET.Element | None]:
    result = ET.Element("result")
    _sub(result, "status", "failure" if errors else "success")
    _sub(result, "function", function)
    _sub(result, "controlid", controlid)
    if errors:
        _errors(result, errors)
        return result, None
    return result, _sub(result, "data")


def _rows(data: ET.Element, rows: list[dict[str, str]], fields: list[str], obj: str) -> None:
    for row in rows:
        record = _sub(data, obj.lower())  # readByQuery writes the object in lower case [S]
        for name in fields or list(row):
            if name in row:
                _sub(record, name, row[name])


def create_app(state: FakeIntacctState) -> FastAPI:
    app = FastAPI(title="Fake Sage Intacct")
    app.state.fake = state

    @app.post(PATH)
    async def gateway(request: Request) -> Response:
        fault = state.next_fault()
        if fault == "429":
            return Response("Too Many Requests", 429, headers={"Retry-After": state.retry_after})
        if fault in ("500", "502", "503"):
            return Response(f"<html><body>{fault} Service Unavailable</body></html>", int(fault),
                            media_type="text/html")
        if fault == "garbage":
            return Response("<html><body>Maintenance</body></html>", 200,
                            media_type="text/html")
        if fault == "expired_session":
            state.expire_sessions()
        try:
            root = SafeET.fromstring(await request.body())
        except (ET.ParseError, DefusedXmlException):
            root = None
        control = root.find("control") if root is not None else None
        if root is None or root.tag != "request" or control is None:
            reply = _response(state, None, False)
            _errors(reply, [("XL03000001", "", "The request is not a valid XML document", "")])
            return _xml(reply, 400)
        if (control.findtext("senderid") != state.sender_id
                or control.findtext("password") != state.sender_password):
            reply = _response(state, control, False)
            _errors(reply, [("XL03000006", "", "Incorrect Intacct XML Partner ID or password.",
                             "")])
            return _xml(reply)
        if control.findtext("dtdversion") != "3.0":
            reply = _response(state, control, False)
            _errors(reply, [("XL03000009", "", "Unsupported dtdversion", "Use 3.0")])
            return _xml(reply)
        base = str(request.url).split(PATH)[0]
        reply = operate(state, root, control, base + PATH, fault == "throttle")
        if fault == "timeout":
            await asyncio.sleep(state.timeout_delay)  # done, but the client gives up first
        return _xml(reply)

    return app


def operate(state: FakeIntacctState, root: ET.Element, control: ET.Element, endpoint: str,
            throttle: bool) -> ET.Element:
    reply = _response(state, control, True)
    operation = _sub(reply, "operation")
    auth_in = root.find("operation/authentication")
    who = None
    if auth_in is not None and auth_in.find("login") is not None:
        login = auth_in.find("login")
        assert login is not None
        company_id, user_id = login.findtext("companyid", ""), login.findtext("userid", "")
        session_id = state.login(company_id, user_id, login.findtext("password", ""))
        if session_id:
            who = (company_id, user_id, session_id)
    elif auth_in is not None and auth_in.findtext("sessionid"):
        session_id = auth_in.findtext("sessionid", "")
        found = state.session(session_id)
        if found:
            who = (found[0], found[1], session_id)
    auth = _sub(operation, "authentication")
    _sub(auth, "status", "success" if who else "failure")
    _sub(auth, "userid", who[1] if who else "")
    _sub(auth, "companyid", who[0] if who else "")
    _sub(auth, "locationid", "")
    if who is None:
        _errors(operation, [("XL03000006", "", "Sign-in information is incorrect", "")])
        return reply
    expires = state.sessions.get(who[2], (None, None, state.now()))[2]
    _sub(auth, "sessiontimestamp", state.now().isoformat() + "+00:00")
    _sub(auth, "sessiontimeout", expires.isoformat() + "+00:00")
    state.requests.append(f"auth {'login' if auth_in.find('login') is not None else 'session'}")
    unique = (control.findtext("uniqueid") or "true").strip().lower() != "false"
    for wrapper in root.findall("operation/content/function"):
        controlid = wrapper.get("controlid", "")
        function = wrapper[0] if len(wrapper) else None
        name = function.tag if function is not None else ""
        state.requests.append(name)
        with state.lock:
            repeat = unique and controlid in state.companies[who[0]].control_ids
        if repeat:
            result, _ = _result(name, controlid, [(
                DUPLICATE, "", "A successful transaction has already been recorded with the "
                               f"control id {controlid}", "")])
        elif throttle:
            result, _ = _result(name, controlid, [(
                "XL03000018", "", "The system is busy processing other requests",
                "Please Try Again Later")])
        elif name == "getAPISession":
            result, data = _result(name, controlid)
            api = _sub(data, "api")  # type: ignore[arg-type]
            _sub(api, "sessionid", who[2])
            _sub(api, "endpoint", endpoint)
            _sub(api, "locationid", "")
        elif name == "readByQuery" and function is not None:
            result = read_by_query(state, who[0], function, controlid)
        elif name == "readMore" and function is not None:
            result = read_more(state, who[0], function, controlid)
        elif name == "query" and function is not None:
            result = query(state, who[0], function, controlid)
        elif name == "delete" and function is not None:
            result = delete(state, who[0], function, controlid)
        elif name in ("create", "reverse_arpayment") and function is not None:
            result = write(state, who[0], function, controlid)
        else:
            result, _ = _result(name, controlid, [("XL03000003", "", f"Unknown function {name}",
                                                   "")])
        if unique and result.findtext("status") == "success":
            with state.lock:
                state.companies[who[0]].control_ids.add(controlid)
        operation.append(result)
    return reply


def write(state: FakeIntacctState, company_id: str, function: ET.Element,
          controlid: str) -> ET.Element:
    """``create`` of an ARPYMT, answered ``<data listtype="objects"><arpymt><RECORDNO>``,
    or ``reverse_arpayment``, answered with the legacy ``<key>``."""
    name = function.tag
    try:
        if name == "reverse_arpayment":
            key = reverse_payment(state, company_id, function)
            state.requests[-1] = f"reverse_arpayment {key}"
            result, data = _result(name, controlid)
            assert data is not None
            result.remove(data)
            _sub(result, "key", key)
            return result
        obj = function[0] if len(function) else None
        if obj is None or obj.tag.upper() != "ARPYMT":
            return _result(name, controlid, [("BL01001973", "", "Object definition "
                                              f"{obj.tag if obj is not None else ''} not "
                                              "found", "")])[0]
        no = create_payment(state, company_id, obj)
    except Refusal as refusal:
        return _result(name, controlid, [refusal.error])[0]
    state.requests[-1] = f"create ARPYMT {no}"
    result, data = _result(name, controlid)
    assert data is not None
    data.set("listtype", "objects")
    data.set("count", "1")
    _sub(_sub(data, "arpymt"), "RECORDNO", no)
    return result


def read_by_query(state: FakeIntacctState, company_id: str, function: ET.Element,
                  controlid: str) -> ET.Element:
    obj = function.findtext("object", "").strip().upper()
    if obj not in READABLE:
        return _result("readByQuery", controlid, [("Query Failed", "",
                                                    f"Object definition {obj} not found", "")])[0]
    text = function.findtext("query", "") or ""
    page_text = function.findtext("pagesize", "100") or "100"
    page_size = int(page_text) if page_text.isdigit() else 0
    if not 1 <= page_size <= 1000:
        return _result("readByQuery", controlid, [("PL04000055", "",
                                                    "pagesize must be 1..1000", "")])[0]
    # adjustments' reads are logged as before invoices were kept: "readByQuery <query>"
    state.requests[-1] = (f"readByQuery {text}" if obj == "ARADJUSTMENT"
                          else f"readByQuery {obj} {text}")
    with state.lock:
        rows = state.companies[company_id].table(obj) or []
    if text.strip():
        match = _CONDITION.match(text)
        try:
            bound = datetime.strptime(match["value"], STAMP) if match else None
        except ValueError:
            bound = None
        if match is None or bound is None:
            return _result("readByQuery", controlid, [("Query Failed", "",
                                                        f"Invalid query: {text[:100]}", "")])[0]
        compare = _COMPARE[match["op"]]
        rows = [r for r in rows if compare(datetime.strptime(r["WHENMODIFIED"], STAMP), bound)]
    rows.sort(key=lambda r: int(r["RECORDNO"]))
    fields = [f.strip().upper() for f in (function.findtext("fields", "*") or "*").split(",")]
    fields = [] if fields == ["*"] else fields
    page, rest = rows[:page_size], rows[page_size:]
    result_id = state.store_result(company_id, [_pick(r, fields) for r in rest],
                                   page_size, obj) if rest else ""
    return _page("readByQuery", controlid, page, fields, len(rows), len(rest), result_id, obj)


def read_more(state: FakeIntacctState, company_id: str, function: ET.Element,
              controlid: str) -> ET.Element:
    result_id = (function.findtext("resultId") or "").strip()
    obj = state.result_object(result_id)
    taken = state.take_page(result_id, company_id)
    if taken is None:
        return _result("readMore", controlid, [("DL02000001", "",
                                                "Invalid or expired resultId", "")])[0]
    page, remaining = taken
    return _page("readMore", controlid, page, [], None, remaining,
                 result_id if remaining else "", obj)


def query(state: FakeIntacctState, company_id: str, function: ET.Element,
          controlid: str) -> ET.Element:
    """The newer ``query``, for the objects kept (adjustments, invoices, payments and their
    lines): a filter of ``in``/``equalto`` joined by ``and``/``or`` (or no filter), sorted by
    the ``orderby`` fields, ``offset``-paged; records written upper-case (``<ARINVOICE>``) with
    only the selected fields (``*`` is not allowed, as in Intacct)."""
    obj = function.findtext("object", "").strip().upper()
    fields = [(f.text or "").strip().upper() for f in function.findall("select/field")]
    with state.lock:
        rows = state.companies[company_id].table(obj)
    if rows is None:
        state.requests[-1] = f"query {obj} refused"
        return _result("query", controlid, [("Query Failed", "",
                                              f"Object definition {obj} not found", "")])[0]
    if not fields or "*" in fields:
        return _result("query", controlid, [("Query Failed", "", "select needs fields", "")])[0]
    where = function.find("filter")
    if where is not None:
        try:
            if len(where) != 1:
                raise ValueError("a filter holds one condition")
            rows = [r for r in rows if _matches(where[0], r)]
        except ValueError as exc:
            return _result("query", controlid, [("Query Failed", "", str(exc), "")])[0]
    order = [(o.findtext("field") or "").strip().upper()
             for o in function.findall("orderby/order")]
    rows.sort(key=lambda r: [int(r[k]) if r.get(k, "").isdigit() else 0 for k in order])
    size_text = function.findtext("pagesize", "100") or "100"
    offset_text = function.findtext("offset", "0") or "0"
    size = int(size_text) if size_text.isdigit() else 0
    offset = int(offset_text) if offset_text.isdigit() else -1
    if not 1 <= size <= 2000 or offset < 0:
        return _result("query", controlid, [("Query Failed", "",
                                              "pagesize must be 1..2000, offset 0 or more",
                                              "")])[0]
    state.requests[-1] = f"query {obj} offset {offset}"
    page = rows[offset:offset + size]
    result, data = _result("query", controlid)
    assert data is not None
    for key, value in (("listtype", obj), ("totalcount", str(len(rows))),
                       ("offset", str(offset)), ("count", str(len(page))),
                       ("numremaining", str(max(0, len(rows) - offset - len(page))))):
        data.set(key, value)
    for row in page:
        record = _sub(data, obj)
        for name in fields:
            if name in row:
                _sub(record, name, row[name])
    return result


def delete(state: FakeIntacctState, company_id: str, function: ET.Element,
           controlid: str) -> ET.Element:
    """``<delete><object>ARADJUSTMENT</object><keys>1,2</keys></delete>`` (or ARINVOICE): a
    hard delete. A key that is not such a record fails the function (nothing is deleted)."""
    obj = function.findtext("object", "").strip().upper()
    keys = [k.strip() for k in (function.findtext("keys") or "").split(",") if k.strip()]
    if obj not in ("ARADJUSTMENT", "ARINVOICE"):
        return _result("delete", controlid, [("Delete Failed", "",
                                               f"Object definition {obj} not found", "")])[0]
    with state.lock:
        company = state.companies[company_id]
        held = company.adjustments if obj == "ARADJUSTMENT" else company.invoices
        unknown = [k for k in keys if k not in held]
        if unknown or not keys:
            return _result("delete", controlid, [(
                "BL01001973", "", f"Could not delete {obj} {','.join(unknown)}: "
                                  "no such record", "")])[0]
        for key in keys:
            (state.delete_adjustment if obj == "ARADJUSTMENT" else state.delete_invoice)(
                company_id, key)
    state.requests[-1] = f"delete {obj} {','.join(keys)}"
    result, data = _result("delete", controlid)
    assert data is not None
    for key in keys:
        _sub(_sub(data, obj.lower()), "RECORDNO", key)
    return result


def _matches(cond: ET.Element, row: dict[str, str]) -> bool:
    """One filter condition against a record; an unsupported one → ValueError."""
    if cond.tag in ("and", "or"):
        if len(cond) < 2:
            raise ValueError(f"<{cond.tag}> needs two conditions or more")
        parts = [_matches(c, row) for c in cond]
        return all(parts) if cond.tag == "and" else any(parts)
    name = (cond.findtext("field") or "").strip().upper()
    values = {(v.text or "").strip() for v in cond.findall("value")}
    if cond.tag == "in":
        return row.get(name) in values
    if cond.tag == "equalto" and len(values) == 1:
        return row.get(name) in values
    raise ValueError(f"unsupported filter <{cond.tag}>")


def _pick(row: dict[str, str], fields: list[str]) -> dict[str, str]:
    return {k: v for k, v in row.items() if not fields or k in fields}


def _page(function: str, controlid: str, page: list[Any], fields: list[str],
          total: int | None, remaining: int, result_id: str, obj: str) -> ET.Element:
    result, data = _result(function, controlid)
    assert data is not None
    data.set("listtype", obj.lower())
    data.set("count", str(len(page)))
    if total is not None:
        data.set("totalcount", str(total))
    data.set("numremaining", str(remaining))
    data.set("resultId", result_id)
    _rows(data, page, fields, obj)
    return result
