"""The QuickBooks Web Connector conversation (Y2-Y6, Y8), one ticket at a time.

``authenticate`` checks the generated user and password, starts a run and a session.
Then each ``sendRequestXML`` hands out the next qbXML request — first ``TxnDeletedQuery``
for credit memos deleted since the cursor, then ``CreditMemoQuery`` modified since it,
``iterator="Start"`` and ``Continue`` until nothing remains — and each
``receiveResponseXML`` lands the page through the sync engine in one transaction with the
session's new state and the cursor after it. No transaction spans two SOAP calls.

The modified-since cursor moves only when the whole iterator is done (QuickBooks does not
promise an order), so a Web Connector killed mid-run re-reads from the last complete
position next time: upserts make that harmless, and nothing is lost.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import qbwc_setup, sync
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id

TICKET_TTL = timedelta(minutes=10)  # after the last call
TRIGGER = "web_connector"
OPEN = ("deleted", "memos")
UNKNOWN = "This Web Connector session is unknown or has expired; run the update again."
STOPPED = ("The Web Connector stopped before the update finished; the next update resumes "
           "from the last saved page.")


def _hash(ticket: object) -> str:
    return hashlib.sha256(str(ticket).encode("utf-8", "surrogatepass")).hexdigest()


def _snap(integration_id: str, partner_id: str) -> sync.Snapshot:
    return sync.Snapshot(integration_id, partner_id, qbd.PROVIDER, "connected", None, None,
                         {}, {})


@dataclass(frozen=True)
class Session:
    key: str
    integration_id: str
    partner_id: str
    run_id: str | None
    stage: str
    state: dict[str, Any]
    last_error: str | None
    company_name: str | None


def _load(db: Database, ticket: object) -> Session | None:
    if not isinstance(ticket, str) or not ticket or len(ticket) > 200:
        return None
    key = _hash(ticket)
    with db.read() as s:
        row = s.get(models.QbwcSession, key)
        if row is None or row.expires_at < clock.now():
            return None
        integ = s.get_one(models.Integration, row.integration_id)
        return Session(key, row.integration_id, row.partner_id, row.run_id, row.stage,
                       dict(row.state or {}), row.last_error, integ.company_name)


def _run_status(db: Database, run_id: str | None) -> str | None:
    if run_id is None:
        return None
    with db.read() as s:
        return s.get_one(models.SyncRun, run_id).status


def _fail(db: Database, sess: Session, message: str) -> None:
    """Record the error for getLastError and end the run as failed (Y6, Y8)."""
    now = clock.now()
    with db.write() as s:
        row = s.get_one(models.QbwcSession, sess.key, with_for_update=True)
        row.stage, row.last_error, row.last_seen_at = "failed", message[:2000], now
    if _run_status(db, sess.run_id) == "running":
        sync.finish(db, sess.run_id or "", _snap(sess.integration_id, sess.partner_id),
                    error=message[:2000], interval=None)


# --- authenticate ----------------------------------------------------------------------------
def authenticate(db: Database, username: object, password: object) -> list[str]:
    """[ticket, ""] to work on the open company file, or ["", "nvu"] for a bad login."""
    if not (isinstance(username, str) and 0 < len(username) <= 255
            and isinstance(password, str) and 0 < len(password) <= 1000):
        return ["", "nvu"]
    with db.read() as s:
        row = s.scalars(select(models.Integration).where(
            models.Integration.provider == qbd.PROVIDER,
            models.Integration.realm_id == username,
            models.Integration.status != "disconnected")).first()
        if row is None:
            return ["", "nvu"]
        iid, partner_id, sealed = row.id, row.partner_id, row.credentials_encrypted
        stale = s.scalars(select(models.SyncRun.id).where(
            models.SyncRun.integration_id == iid, models.SyncRun.status == "running")).all()
    if not qbwc_setup.password_matches(password, sealed):
        return ["", "nvu"]
    now = clock.now()
    # A conversation still open here was cut off (the Web Connector runs one at a time):
    # end it, recorded; this one resumes from the cursor its last committed page left.
    for run_id in stale:
        sync.finish(db, run_id, _snap(iid, partner_id), error=STOPPED, interval=None)
    ticket = secrets.token_urlsafe(32)
    with db.write() as s:
        s.execute(delete(models.QbwcSession).where(
            models.QbwcSession.expires_at < now - timedelta(days=1)))
        for old in s.scalars(select(models.QbwcSession).where(
                models.QbwcSession.integration_id == iid,
                models.QbwcSession.stage.in_(OPEN))):
            old.stage, old.last_error = "failed", STOPPED
        integ = s.get_one(models.Integration, iid, with_for_update=True)
        if integ.status == "disconnected":
            return ["", "nvu"]
        if integ.status != "connected":
            integ.status, integ.last_error, integ.updated_at = "connected", None, now
            audit.record(s, Actor(partner_id, "qbwc"), "integration.connect", "integration",
                         iid, {"web_connector_user": username})
        run = models.SyncRun(id=new_id("run"), partner_id=partner_id, integration_id=iid,
                             trigger=TRIGGER, status="running", queued_at=now, started_at=now,
                             heartbeat_at=now, fetched=0, created=0, updated=0, voided=0,
                             errors=[])
        s.add(run)
        s.flush()  # the session row refers to the run
        s.add(models.QbwcSession(
            ticket_hash=_hash(ticket), partner_id=partner_id, integration_id=iid,
            run_id=run.id, stage="deleted", state={"cursor": dict(integ.cursor or {})},
            created_at=now, last_seen_at=now, expires_at=now + TICKET_TTL))
    return [ticket, ""]


# --- sendRequestXML --------------------------------------------------------------------------
def next_request(db: Database, ticket: object, *, company_file: object = "",
                 country: object = "", major: object = 0, minor: object = 0) -> str:
    """The next qbXML request, or "" (nothing to do, or an error getLastError explains)."""
    sess = _load(db, ticket)
    if sess is None or sess.stage not in OPEN:
        return ""
    if _run_status(db, sess.run_id) != "running":
        _fail(db, sess, "This update was stopped after a long pause; run the update again.")
        return ""
    state = dict(sess.state)
    company = company_file.strip()[:255] if isinstance(company_file, str) else ""
    if "version" not in state:
        if company and sess.company_name and company.lower() != sess.company_name.lower():
            _fail(db, sess, f"This CreditDesk connection reads the company file "
                            f"{sess.company_name}, but QuickBooks has {company} open. Open "
                            f"that file, or connect this one as a new QuickBooks Desktop "
                            f"integration in CreditDesk.")
            return ""
        state["version"] = qbd.version_for(major, minor)
        state["country"] = country.strip().upper()[:2] if isinstance(country, str) else "US"
    cursor = state["cursor"]
    if sess.stage == "deleted":
        xml = qbd.deleted_query(cursor.get("deleted_since"), version=state["version"])
    else:
        if not state.get("iterator_id"):
            state["started_at"] = clock.now().isoformat()
        xml = qbd.memo_query(cursor.get("modified_since"), version=state["version"],
                             iterator_id=state.get("iterator_id"))
    now = clock.now()
    with db.write() as s:
        row = s.get_one(models.QbwcSession, sess.key, with_for_update=True)
        row.state, row.last_seen_at, row.expires_at = state, now, now + TICKET_TTL
        s.get_one(models.SyncRun, sess.run_id).heartbeat_at = now
        integ = s.get_one(models.Integration, sess.integration_id)
        if company and not integ.company_name:
            integ.company_name = company
    return xml


# --- receiveResponseXML ----------------------------------------------------------------------
def receive(db: Database, ticket: object, response: object, hresult: object = "",
            message: object = "") -> int:
    """Land one response page; the percentage done (100 = finished), negative on error."""
    sess = _load(db, ticket)
    if sess is None or sess.stage not in OPEN:
        return 100 if sess is not None and sess.stage == "done" else -1
    if hresult or message:
        _fail(db, sess, f"QuickBooks could not run CreditDesk's request ({str(hresult)[:40]}): "
                        f"{str(message)[:500]}")
        return -1
    state = dict(sess.state)
    try:
        rs = qbd.parse_response(response, qbd.home_currency(state.get("country")))
    except qbd.MalformedResponse as exc:
        _fail(db, sess, f"CreditDesk could not read QuickBooks' response: {exc}")
        return -1
    expected = "TxnDeletedQueryRs" if sess.stage == "deleted" else "CreditMemoQueryRs"
    if rs.kind != expected:
        _fail(db, sess, f"QuickBooks answered with {rs.kind} where {expected} was expected.")
        return -1
    if rs.failed:
        _fail(db, sess, rs.describe())
        return -1
    cursor, stage, progress = dict(state["cursor"]), sess.stage, 5
    if stage == "deleted":
        cursor["deleted_since"] = qbd.later(cursor.get("deleted_since"), rs.high_water)
        stage = "memos"
    else:
        state["high_water"] = qbd.later(state.get("high_water"), rs.high_water)
        state["fetched"] = fetched = int(state.get("fetched", 0)) + len(rs.records)
        if rs.remaining > 0 and rs.iterator_id:
            state["iterator_id"] = rs.iterator_id
            progress = min(99, 5 + 94 * fetched // (fetched + rs.remaining))
        else:
            started = datetime.fromisoformat(state.get("started_at") or clock.now().isoformat())
            cursor["modified_since"] = qbd.next_from(state.get("high_water"), started,
                                                     cursor.get("modified_since"))
            state.pop("iterator_id", None)
            stage, progress = "done", 100
    state["cursor"] = cursor
    now = clock.now()
    with db.write() as s:
        run = s.get_one(models.SyncRun, sess.run_id, with_for_update=True)
        row = s.get_one(models.QbwcSession, sess.key, with_for_update=True)
        if run.status != "running" or row.stage != sess.stage:
            row.stage, row.last_error = "failed", "This update was stopped; run it again."
            return -1
        sync.land_page(s, run.id, _snap(sess.integration_id, sess.partner_id),
                       base.Batch(rs.records, cursor))
        row.stage, row.state = stage, state
        row.last_seen_at, row.expires_at = now, now + TICKET_TTL
    if stage == "done":
        sync.finish(db, sess.run_id or "", _snap(sess.integration_id, sess.partner_id),
                    error=None, interval=None)
    return progress


# --- the rest --------------------------------------------------------------------------------
def connection_error(db: Database, ticket: object, hresult: object, message: object) -> str:
    sess = _load(db, ticket)
    if sess is not None and sess.stage in OPEN:
        _fail(db, sess, f"The Web Connector could not open QuickBooks ({str(hresult)[:40]}): "
                        f"{str(message)[:500]}")
    return "done"


def last_error(db: Database, ticket: object) -> str:
    sess = _load(db, ticket)
    if sess is None:
        return UNKNOWN
    return sess.last_error or ""


def close(db: Database, ticket: object) -> str:
    sess = _load(db, ticket)
    if sess is None:
        return "Done."
    if sess.stage in OPEN:
        _fail(db, sess, STOPPED)
        sess = _load(db, ticket) or sess
    with db.write() as s:
        row = s.get_one(models.QbwcSession, sess.key, with_for_update=True)
        row.expires_at = clock.now()  # the ticket is spent
        run = s.get(models.SyncRun, sess.run_id) if sess.run_id else None
        if sess.stage == "done":
            row.stage = "closed"
        if run is None:
            return "Done."
        if run.status in ("succeeded", "partial"):
            skipped = f", {len(run.errors)} skipped" if run.errors else ""
            return (f"CreditDesk: {run.fetched} credit memo record(s) read, {run.created} new, "
                    f"{run.updated} updated, {run.voided} voided{skipped}.")
        return f"CreditDesk: the update failed: {sess.last_error or 'see CreditDesk'}"
