"""``/qbwc``: the SOAP endpoint the QuickBooks Web Connector calls (accounting-apis.md 4.3),
``GET /qbwc?wsdl``, and ``GET /api/v1/integrations/{id}/qwc`` (the file the partner loads).

Nothing a caller sends gets a 500 or a stack trace: a request that is not a Web Connector
SOAP call gets a ``Client`` Fault (HTTP 400; 415 for a body that is not XML, 413 for one
over the size limit); failures inside the conversation come back
the way the Web Connector expects them (negative percentages, ``getLastError`` text).
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from creditdesk import __version__
from creditdesk.connectors import qbwc_soap as soap
from creditdesk.connectors import settings as provider_settings
from creditdesk.db.engine import Database
from creditdesk.services.books import qbwc, qbwc_setup
from creditdesk.services.common.context import Actor
from creditdesk.web import urls
from creditdesk.web.api.deps import DB, CurrentActor
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.router import ApiRouter

log = logging.getLogger("creditdesk.qbwc")
router = APIRouter(include_in_schema=False)
api_router = ApiRouter(tags=["integrations"], route_class=DecimalJSONRoute)
MIN_CLIENT = (2, 1)  # Web Connector 2.1 speaks the eight methods used here


def _xml(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type=soap.CONTENT_TYPE)


def _client_version(version: str) -> str:
    """"" = fine; "O:<version>" asks the user to upgrade an old Web Connector."""
    try:
        parts = tuple(int(p) for p in version.strip().split(".")[:2])
    except ValueError:
        return ""
    return f"O:{MIN_CLIENT[0]}.{MIN_CLIENT[1]}" if parts and parts < MIN_CLIENT else ""


def dispatch(db: Database, call: soap.Call) -> str | int | list[str]:
    p, m = call.params, call.method
    if m == "serverVersion":
        return f"CreditDesk {__version__}"
    if m == "clientVersion":
        return _client_version(p["strVersion"])
    if m == "authenticate":
        return qbwc.authenticate(db, p["strUserName"], p["strPassword"])
    if m == "sendRequestXML":
        return qbwc.next_request(db, p["ticket"], company_file=p["strCompanyFileName"],
                                 country=p["qbXMLCountry"], major=p["qbXMLMajorVers"],
                                 minor=p["qbXMLMinorVers"])
    if m == "receiveResponseXML":
        return qbwc.receive(db, p["ticket"], p["response"], p["hresult"], p["message"])
    if m == "connectionError":
        return qbwc.connection_error(db, p["ticket"], p["hresult"], p["message"])
    if m == "getLastError":
        return qbwc.last_error(db, p["ticket"])
    return qbwc.close(db, p["ticket"])


PATH = urls.QBWC
XML_MEDIA = re.compile(r"(?:text|application)/(?:[a-z0-9.+-]+\+)?xml")


def too_large() -> Response:
    """``limits.BodyLimitMiddleware``'s refusal here: a SOAP fault, as everything else."""
    return _xml(soap.fault("Client", "the request is larger than CreditDesk accepts"), 413)


@router.post(PATH)
async def endpoint(request: Request) -> Response:
    media = request.headers.get("content-type", soap.CONTENT_TYPE).split(";")[0].strip()
    if not XML_MEDIA.fullmatch(media.lower()):
        return _xml(soap.fault("Client", f"a SOAP 1.1 call is sent as text/xml, not "
                                         f"{media[:60]!r}"), 415)
    try:
        call = soap.parse_call(await request.body())
    except soap.SoapError as exc:
        return _xml(soap.fault("Client", str(exc)), 400)
    try:
        result = await run_in_threadpool(dispatch, request.app.state.db, call)
    except Exception:  # ours, not the caller's: logged, never shown
        log.exception("the Web Connector call %s failed", call.method)
        return _xml(soap.fault("Server", "CreditDesk could not handle this call; the update "
                                         "will be tried again on the next schedule."), 500)
    return _xml(soap.answer(call.method, result))


@router.get(PATH)
def describe() -> Response:
    """The WSDL (``GET /qbwc?wsdl``; the bare URL answers the same)."""
    return _xml(soap.wsdl(urls.absolute(provider_settings.load(), PATH)))


def qwc_download(db: Database, actor: Actor, integration_id: str) -> Response:
    """The ``.qwc`` file to load into the QuickBooks Web Connector, as a download (no
    password in it); the API and the dashboard both serve it."""
    settings = provider_settings.load()
    name, xml = qbwc_setup.qwc(db, actor=actor, settings=settings, integration_id=integration_id,
                               app_url=urls.absolute(settings, PATH),
                               support_url=urls.absolute(settings, urls.INTEGRATIONS_PAGE))
    return Response(xml, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api_router.get("/integrations/{integration_id}/qwc", response_class=Response, responses={
    200: {"content": {"application/xml": {"schema": {"type": "string"}}},
          "description": "The .qwc file, as an attachment"}})
def download_qwc(integration_id: str, db: DB, actor: CurrentActor) -> Response:
    """The ``.qwc`` file to load into the QuickBooks Web Connector (QuickBooks Desktop)."""
    return qwc_download(db, actor, integration_id)


def install(app: FastAPI, api_prefix: str = "/api/v1") -> None:
    app.include_router(router)
    app.include_router(api_router, prefix=api_prefix)
