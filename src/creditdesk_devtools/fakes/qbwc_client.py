"""A fake QuickBooks Web Connector: drives CreditDesk's ``/qbwc`` over real HTTP (SOAP 1.1)
from a fake company file, the way the real one does on the partner's PC
(accounting-apis.md 4.3, 4.6): serverVersion, clientVersion, authenticate, then
sendRequestXML → (QuickBooks) → receiveResponseXML until 100 or a negative value,
getLastError on errors, closeConnection.

``stop_after`` receives simulates the Web Connector being killed mid-run (no
closeConnection); ``connection_error`` simulates QuickBooks not opening; a company whose
``drop_response_to`` fault fired ends the session after QuickBooks carried the request out
but before CreditDesk receives the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from creditdesk.connectors import qbwc_soap as soap
from creditdesk_devtools.fakes.qbwc_company import FakeCompany

CLIENT_VERSION = "2.3.0.215"


@dataclass
class Outcome:
    auth: list[str] = field(default_factory=list)
    progress: list[int] = field(default_factory=list)
    last_error: str | None = None
    closed: str | None = None
    log: list[str] = field(default_factory=list)


class FakeWebConnector:
    def __init__(self, client: httpx.Client, url: str, username: str, password: str,
                 company: FakeCompany, *, major: int = 13, minor: int = 0) -> None:
        self.client, self.url = client, url
        self.username, self.password, self.company = username, password, company
        self.major, self.minor = major, minor

    def call(self, method: str, **params: str | int) -> str | int | list[str]:
        response = self.client.post(self.url, content=soap.request(method, **params).encode(),
                                    headers={"Content-Type": soap.CONTENT_TYPE,
                                             "SOAPAction": f'"{soap.INTUIT_NS}{method}"'})
        if response.status_code != 200:
            raise soap.SoapError(f"{method}: HTTP {response.status_code}: {response.text[:300]}")
        return soap.read_answer(response.content, method)

    def run(self, *, stop_after: int | None = None, connection_error: bool = False,
            max_calls: int = 10_000) -> Outcome:
        out = Outcome()
        out.log.append(f"serverVersion: {self.call('serverVersion', strVersion='')}")
        out.log.append(f"clientVersion: {self.call('clientVersion', strVersion=CLIENT_VERSION)!r}")
        auth = self.call("authenticate", strUserName=self.username, strPassword=self.password)
        assert isinstance(auth, list)
        out.auth = auth
        ticket = auth[0] if auth else ""
        if len(auth) < 2 or auth[1] in ("nvu", "none"):
            out.log.append(f"authenticate: {auth[1] if len(auth) > 1 else 'no answer'}")
            out.closed = str(self.call("closeConnection", ticket=ticket))
            return out
        if connection_error:
            out.log.append(str(self.call("connectionError", ticket=ticket, hresult="0x80040408",
                                         message="Could not start QuickBooks.")))
            out.last_error = str(self.call("getLastError", ticket=ticket))
            out.closed = str(self.call("closeConnection", ticket=ticket))
            return out
        for n in range(max_calls):
            request = self.call("sendRequestXML", ticket=ticket, strHCPResponse="",
                                strCompanyFileName=self.company.path,
                                qbXMLCountry=self.company.country,
                                qbXMLMajorVers=self.major, qbXMLMinorVers=self.minor)
            if not request:
                out.last_error = str(self.call("getLastError", ticket=ticket))
                break
            response, hresult, message = self.company.handle(str(request))
            if self.company.dropped:
                self.company.dropped = False
                out.log.append("response lost")
                return out  # the session ended before the answer reached CreditDesk
            percent = self.call("receiveResponseXML", ticket=ticket, response=response,
                                hresult=hresult, message=message)
            assert isinstance(percent, int)
            out.progress.append(percent)
            out.log.append(f"receiveResponseXML: {percent}%")
            if stop_after is not None and n + 1 >= stop_after:
                out.log.append("killed")
                return out  # the Web Connector died: no closeConnection
            if percent < 0:
                out.last_error = str(self.call("getLastError", ticket=ticket))
                break
            if percent >= 100:
                break
        out.closed = str(self.call("closeConnection", ticket=ticket))
        out.log.append(f"closeConnection: {out.closed}")
        return out
