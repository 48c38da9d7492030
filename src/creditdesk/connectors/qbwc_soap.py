"""The QuickBooks Web Connector's SOAP 1.1 wire format (accounting-apis.md 4.3, 4.4): reading
the calls, writing the answers, the WSDL and the ``.qwc`` file — both for CreditDesk's
``/qbwc`` endpoint and for the fake Web Connector that drives it.

Document/literal, target namespace ``http://developer.intuit.com/``. The qbXML carried in
``sendRequestXMLResult`` and ``response`` is escaped text, never nested elements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
INTUIT_NS = "http://developer.intuit.com/"
CONTENT_TYPE = "text/xml; charset=utf-8"

# method -> (its request elements, the type of its result)
METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "serverVersion": (("strVersion",), "string"),
    "clientVersion": (("strVersion",), "string"),
    "authenticate": (("strUserName", "strPassword"), "ArrayOfString"),
    "sendRequestXML": (("ticket", "strHCPResponse", "strCompanyFileName", "qbXMLCountry",
                        "qbXMLMajorVers", "qbXMLMinorVers"), "string"),
    "receiveResponseXML": (("ticket", "response", "hresult", "message"), "int"),
    "connectionError": (("ticket", "hresult", "message"), "string"),
    "getLastError": (("ticket",), "string"),
    "closeConnection": (("ticket",), "string"),
}


class SoapError(ValueError):
    """The request is not a SOAP 1.1 call of a Web Connector method (a Client fault)."""


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, str]


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def parse_call(body: bytes | str) -> Call:
    """A Web Connector SOAP request → its method and parameters (missing ones are "")."""
    try:
        root = SafeET.fromstring(body)
    except Exception as exc:  # ParseError, DefusedXmlException, bad encodings
        raise SoapError(f"the request is not well-formed XML ({exc.__class__.__name__})") \
            from None
    if _local(root.tag) != (SOAP_NS, "Envelope"):
        raise SoapError("the request is not a SOAP 1.1 Envelope")
    soap_body = root.find(f"{{{SOAP_NS}}}Body")
    call = next(iter(soap_body), None) if soap_body is not None else None
    if call is None:
        raise SoapError("the SOAP Body is empty")
    ns, method = _local(call.tag)
    if method not in METHODS or ns not in (INTUIT_NS, ""):
        raise SoapError(f"unknown method {method[:60]!r}: this endpoint serves the "
                        f"QuickBooks Web Connector methods only")
    names, _ = METHODS[method]
    params = dict.fromkeys(names, "")
    for child in call:
        name = _local(child.tag)[1]
        if name in params:
            params[name] = child.text or ""
    return Call(method, params)


def _envelope(inner: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<soap:Envelope xmlns:soap="{SOAP_NS}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            f"<soap:Body>{inner}</soap:Body></soap:Envelope>")


def answer(method: str, result: str | int | list[str]) -> str:
    """``<{method}Response><{method}Result>…`` with the result typed as the WSDL says."""
    if isinstance(result, list):
        value = "".join(f"<string>{escape(s)}</string>" for s in result)
    else:
        value = escape(str(result))
    return _envelope(f'<{method}Response xmlns="{INTUIT_NS}">'
                     f"<{method}Result>{value}</{method}Result></{method}Response>")


def fault(code: str, message: str) -> str:
    """A SOAP 1.1 Fault (``Client``: the caller's request; ``Server``: ours)."""
    return _envelope(f"<soap:Fault><faultcode>soap:{code}</faultcode>"
                     f"<faultstring>{escape(message)}</faultstring></soap:Fault>")


# --- the client side (the fake Web Connector) ------------------------------------------------
def request(method: str, **params: str | int) -> str:
    names, _ = METHODS[method]
    parts = "".join(f"<{n}>{escape(str(params[n]))}</{n}>" for n in names if n in params)
    return _envelope(f'<{method} xmlns="{INTUIT_NS}">{parts}</{method}>')


def read_answer(body: bytes | str, method: str) -> str | int | list[str]:
    """The result of a ``{method}Response``; raises SoapError on a Fault or another shape."""
    root = SafeET.fromstring(body)
    soap_body = root.find(f"{{{SOAP_NS}}}Body")
    first = next(iter(soap_body), None) if soap_body is not None else None
    if first is None:
        raise SoapError("empty SOAP Body")
    if _local(first.tag)[1] == "Fault":
        raise SoapError(first.findtext("faultstring") or "SOAP Fault")
    result = first.find(f"{{{INTUIT_NS}}}{method}Result")
    if _local(first.tag) != (INTUIT_NS, f"{method}Response") or result is None:
        raise SoapError(f"expected {method}Response/{method}Result")
    kind = METHODS[method][1]
    if kind == "ArrayOfString":
        return [s.text or "" for s in result.findall(f"{{{INTUIT_NS}}}string")]
    return int(result.text or "0") if kind == "int" else (result.text or "")


# --- WSDL and .qwc ---------------------------------------------------------------------------
def wsdl(location: str) -> str:
    """The service description (generated from METHODS; QBWC has its own proxy, but SOAP
    tooling and the curious ask for ``?wsdl``)."""
    types, messages, ops, binds = [], [], [], []
    for m, (names, kind) in METHODS.items():
        fields = "".join(
            f'<s:element minOccurs="{1 if n.startswith("qbXML") else 0}" maxOccurs="1" '
            f'name="{n}" type="s:{"int" if n.startswith("qbXML") else "string"}"/>'
            for n in names)
        rtype = "tns:ArrayOfString" if kind == "ArrayOfString" else f"s:{kind}"
        types.append(f'<s:element name="{m}"><s:complexType><s:sequence>{fields}'
                     f'</s:sequence></s:complexType></s:element>'
                     f'<s:element name="{m}Response"><s:complexType><s:sequence>'
                     f'<s:element minOccurs="{1 if kind == "int" else 0}" maxOccurs="1" '
                     f'name="{m}Result" type="{rtype}"/></s:sequence></s:complexType>'
                     f'</s:element>')
        messages.append(f'<wsdl:message name="{m}SoapIn"><wsdl:part name="parameters" '
                        f'element="tns:{m}"/></wsdl:message><wsdl:message name="{m}SoapOut">'
                        f'<wsdl:part name="parameters" element="tns:{m}Response"/>'
                        f'</wsdl:message>')
        ops.append(f'<wsdl:operation name="{m}"><wsdl:input message="tns:{m}SoapIn"/>'
                   f'<wsdl:output message="tns:{m}SoapOut"/></wsdl:operation>')
        binds.append(f'<wsdl:operation name="{m}"><soap:operation soapAction="{INTUIT_NS}{m}" '
                     f'style="document"/><wsdl:input><soap:body use="literal"/></wsdl:input>'
                     f'<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>')
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<wsdl:definitions '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        'xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:tns="http://developer.intuit.com/" '
        'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'targetNamespace="http://developer.intuit.com/"><wsdl:types><s:schema '
        'elementFormDefault="qualified" targetNamespace="http://developer.intuit.com/">'
        '<s:complexType name="ArrayOfString"><s:sequence><s:element minOccurs="0" '
        'maxOccurs="unbounded" name="string" nillable="true" type="s:string"/></s:sequence>'
        f'</s:complexType>{"".join(types)}</s:schema></wsdl:types>{"".join(messages)}'
        f'<wsdl:portType name="QBWebConnectorSvcSoap">{"".join(ops)}</wsdl:portType>'
        '<wsdl:binding name="QBWebConnectorSvcSoap" type="tns:QBWebConnectorSvcSoap">'
        '<soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>'
        f'{"".join(binds)}</wsdl:binding><wsdl:service name="QBWebConnectorSvc">'
        '<wsdl:port name="QBWebConnectorSvcSoap" binding="tns:QBWebConnectorSvcSoap">'
        f'<soap:address location="{escape(location)}"/></wsdl:port></wsdl:service>'
        '</wsdl:definitions>')


@dataclass(frozen=True)
class Qwc:
    app_name: str
    app_url: str
    description: str
    support_url: str
    username: str
    owner_id: str
    file_id: str
    every_minutes: int = 15


def qwc_file(q: Qwc) -> str:
    """The ``.qwc`` the partner loads into the Web Connector (QuickBooks Financial/Desktop,
    on a schedule). Not read-only: applications of synced credit are written back with
    ``ReceivePaymentAdd`` and removed with ``TxnDel`` (Y11-Y13), which a read-only
    application may not do (accounting-apis.md 4.4: ``IsReadOnly``)."""
    root = ET.Element("QBWCXML")
    for tag, value in (("AppName", q.app_name), ("AppID", ""), ("AppURL", q.app_url),
                       ("AppDescription", q.description), ("AppSupport", q.support_url),
                       ("UserName", q.username), ("OwnerID", q.owner_id),
                       ("FileID", q.file_id), ("QBType", "QBFS")):
        ET.SubElement(root, tag).text = value
    scheduler = ET.SubElement(root, "Scheduler")
    ET.SubElement(scheduler, "RunEveryNMinutes").text = str(q.every_minutes)
    ET.SubElement(root, "IsReadOnly").text = "false"
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
