"""Sage Intacct XML Web Services envelopes (dtd 3.0): building requests, reading responses.

Request: ``<request><control>`` (sender id/password, controlid, uniqueid, dtdversion) then
``<operation><authentication>`` (``<login>`` or ``<sessionid>``) and one ``<function>``.
A response has three status levels — control, authentication, function result — each with
its own ``<errormessage><error>`` list (accounting-apis.md 3.2, 3.3).

Responses are untrusted input: they are parsed with defusedxml, which refuses DTDs, entity
declarations and external references (no billion-laughs, no XXE).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

DTD_VERSION = "3.0"


class MalformedResponse(ValueError):
    """The body is not an Intacct ``<response>`` envelope."""


@dataclass(frozen=True)
class Error:
    errorno: str
    description: str = ""
    description2: str = ""
    correction: str = ""

    def text(self) -> str:
        words = " ".join(p for p in (self.description, self.description2, self.correction) if p)
        return f"{self.errorno}: {words}" if self.errorno and words else (self.errorno or words)


@dataclass
class Result:
    status: str
    function: str
    controlid: str
    data: ET.Element | None
    errors: list[Error] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "success"


@dataclass
class Response:
    control_ok: bool
    control_errors: list[Error]
    auth_ok: bool
    auth_errors: list[Error]
    results: list[Result]
    auth: dict[str, str] = field(default_factory=dict)

    def all_errors(self) -> list[Error]:
        return [*self.control_errors, *self.auth_errors,
                *(e for r in self.results for e in r.errors)]


def describe(errors: list[Error]) -> str:
    return "; ".join(e.text() for e in errors if e.text()) or "no detail given"


# building --------------------------------------------------------------------
def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def login(user_id: str, company_id: str, password: str) -> ET.Element:
    auth = ET.Element("authentication")
    block = _sub(auth, "login")
    _sub(block, "userid", user_id)
    _sub(block, "companyid", company_id)
    _sub(block, "password", password)
    return auth


def session(session_id: str) -> ET.Element:
    auth = ET.Element("authentication")
    _sub(auth, "sessionid", session_id)
    return auth


def get_api_session() -> ET.Element:
    return ET.Element("getAPISession")


def read_by_query(obj: str, fields: list[str], query: str, page_size: int) -> ET.Element:
    fn = ET.Element("readByQuery")
    _sub(fn, "object", obj)
    _sub(fn, "fields", ",".join(fields))
    _sub(fn, "query", query)  # ElementTree escapes the >= as &gt;=
    _sub(fn, "pagesize", str(page_size))
    _sub(fn, "returnFormat", "xml")
    return fn


def query(obj: str, fields: list[str], where: ET.Element | None, *, order_by: list[str],
          page_size: int, offset: int = 0) -> ET.Element:
    """The newer ``query`` function: ``where`` (a filter element from ``in_``/``equal_to``/
    ``and_``, or None), sorted, paged by ``offset`` (no result set is kept on Intacct's side,
    unlike readByQuery/readMore)."""
    fn = ET.Element("query")
    _sub(fn, "object", obj)
    select = _sub(fn, "select")
    for name in fields:
        _sub(select, "field", name)
    if where is not None:
        _sub(fn, "filter").append(where)
    orderby = _sub(fn, "orderby")
    for name in order_by:
        _sub(_sub(orderby, "order"), "field", name)
    _sub(fn, "pagesize", str(page_size))
    _sub(fn, "offset", str(offset))
    return fn


def in_(field: str, values: list[str]) -> ET.Element:
    cond = ET.Element("in")
    _sub(cond, "field", field)
    for value in values:
        _sub(cond, "value", value)
    return cond


def equal_to(field: str, value: str) -> ET.Element:
    cond = ET.Element("equalto")
    _sub(cond, "field", field)
    _sub(cond, "value", value)
    return cond


def and_(*conditions: ET.Element) -> ET.Element:
    both = ET.Element("and")
    both.extend(conditions)
    return both


def query_in(obj: str, fields: list[str], field: str, values: list[str], *,
             order_by: list[str], page_size: int, offset: int = 0) -> ET.Element:
    """``query`` with ``field`` IN ``values``."""
    return query(obj, fields, in_(field, values), order_by=order_by, page_size=page_size,
                 offset=offset)


def record(tag: str, values: dict[str, object]) -> ET.Element:
    """An object element for ``create``: ``values`` in order; a dict value is a nested
    element, a list of dicts repeats its element (``{"ARPYMTDETAIL": [{...}, {...}]}``)."""
    element = ET.Element(tag)
    for name, value in values.items():
        if isinstance(value, dict):
            element.append(record(name, value))
        elif isinstance(value, list):
            for item in value:
                element.append(record(name, item))
        else:
            _sub(element, name, str(value))
    return element


def create(obj: ET.Element) -> ET.Element:
    fn = ET.Element("create")
    fn.append(obj)
    return fn


def reverse_arpayment(key: str, on: date, description: str) -> ET.Element:
    """The legacy ``reverse_arpayment``: the ``key`` attribute, ``datereversed``, then the
    optional ``description`` (the order the PHP SDK's ArPaymentReverse writes) [IA-DOC-PYMT]."""
    fn = ET.Element("reverse_arpayment")
    fn.set("key", key)
    when = _sub(fn, "datereversed")
    _sub(when, "year", f"{on.year:04d}")
    _sub(when, "month", f"{on.month:02d}")
    _sub(when, "day", f"{on.day:02d}")
    _sub(fn, "description", description)
    return fn


def read_more(result_id: str) -> ET.Element:
    fn = ET.Element("readMore")
    _sub(fn, "resultId", result_id)
    return fn


def request(sender_id: str, sender_password: str, auth: ET.Element, function: ET.Element,
            *, controlid: str | None = None, function_controlid: str = "f1",
            unique: bool = False) -> bytes:
    """One function in an envelope. ``unique``: Intacct refuses to run a function whose
    ``function_controlid`` it already ran to completion (writes send a stable one per
    write, so a repeat is refused rather than made twice; reads send ``false``: repeating
    them is harmless) [IA-DOC-REQ]."""
    root = ET.Element("request")
    control = _sub(root, "control")
    _sub(control, "senderid", sender_id)
    _sub(control, "password", sender_password)
    _sub(control, "controlid", controlid or f"creditdesk-{uuid.uuid4().hex}")
    _sub(control, "uniqueid", "true" if unique else "false")
    _sub(control, "dtdversion", DTD_VERSION)
    _sub(control, "includewhitespace", "false")
    operation = _sub(root, "operation", None)
    operation.set("transaction", "false")
    operation.append(auth)
    content = _sub(operation, "content")
    wrapper = _sub(content, "function")
    wrapper.set("controlid", function_controlid)
    wrapper.append(function)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# reading ---------------------------------------------------------------------
def _text(parent: ET.Element | None, tag: str) -> str:
    node = parent.find(tag) if parent is not None else None
    return (node.text or "").strip() if node is not None else ""


def errors_of(block: ET.Element | None) -> list[Error]:
    if block is None:
        return []
    return [Error(_text(e, "errorno"), _text(e, "description"), _text(e, "description2"),
                  _text(e, "correction")) for e in block.findall("error")]


def parse(body: bytes) -> Response:
    try:
        root = SafeET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedResponse(f"not well-formed XML ({exc.__class__.__name__})") from None
    if root.tag != "response" or root.find("control") is None:
        raise MalformedResponse(f"a <{root.tag}> document instead of <response>")
    if _text(root.find("control"), "status") != "success":
        return Response(False, errors_of(root.find("errormessage")), False, [], [])
    operation = root.find("operation")
    if operation is None:
        raise MalformedResponse("a successful control block without an <operation>")
    auth = operation.find("authentication")
    auth_fields = {c.tag: (c.text or "").strip() for c in auth} if auth is not None else {}
    results = [Result(_text(r, "status"), _text(r, "function"), _text(r, "controlid"),
                      r.find("data"), errors_of(r.find("errormessage")))
               for r in operation.findall("result")]
    return Response(True, [], auth_fields.get("status") == "success",
                    errors_of(operation.find("errormessage")), results, auth_fields)
