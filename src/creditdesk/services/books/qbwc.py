"""The QuickBooks Web Connector conversation (Y2-Y6, Y8), one ticket at a time.

``authenticate`` checks the generated user and password, starts a run and a session.
Then each ``sendRequestXML`` hands out the next qbXML request, and each
``receiveResponseXML`` records its answer in one transaction with the session's new state.
No transaction spans two SOAP calls. The steps (``STAGE_OF``):

1. ``writes``: each pending write-back of synced credit (Y11-Y13, ``qbwc_writes``), one
   request at a time: ``ReceivePaymentAddRq`` (apply), ``TxnDelRq`` (remove), and first
   ``ReceivePaymentQueryRq`` when an earlier attempt was sent but never answered (Y12).
2. ``refresh_memos``, ``refresh_invoices``: the memos and invoices the writes changed, read
   by TxnID, so that their figures are QuickBooks' after this very session (research §4.2:
   the add's answer does not carry them).
3. ``deleted``: ``TxnDeletedQuery`` for credit memos and invoices deleted since the cursor.
4. ``memos``, then ``invoices`` (Y9): ``CreditMemoQuery`` and ``InvoiceQuery`` modified since
   their cursors, ``iterator="Start"`` and ``Continue`` until nothing remains, each page
   landed through the sync engine with the cursor after it.

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
from sqlalchemy.orm import Session as OrmSession

from creditdesk.connectors import base
from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.connectors import quickbooks_desktop_credit as credit
from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.services.books import qbwc_setup, qbwc_writes, sync
from creditdesk.services.common import audit
from creditdesk.services.common.context import Actor, clock, new_id

TICKET_TTL = timedelta(minutes=10)  # after the last call
TRIGGER = "web_connector"
OPEN = ("deleted", "memos")
# A conversation's steps, in order, and the stored stage of each (qbwc_sessions.stage):
# write-backs, the memos and invoices they changed read again by TxnID, deletions, then
# memos and invoices modified since the cursor, each through an iterator.
STAGE_OF = {"writes": "deleted", "refresh_memos": "deleted", "refresh_invoices": "deleted",
            "deleted": "deleted", "memos": "memos", "invoices": "memos", "done": "done"}
EXPECTED = {"refresh_memos": "CreditMemoQueryRs", "refresh_invoices": "InvoiceQueryRs",
            "deleted": "TxnDeletedQueryRs", "memos": "CreditMemoQueryRs",
            "invoices": "InvoiceQueryRs"}
# step → (its first progress percentage, its cursor key, its query); a cursor stored before
# invoices were read has no "invoices_since": the first session reads every invoice.
ITERATED = {"memos": (5, "modified_since", qbd.memo_query),
            "invoices": (50, "invoices_since", qbd.invoice_query)}
TRANSIENT = frozenset({3170, 3175, 3176, 3180})  # locks and busy lists (research §4.4)
# In the cursor: this company file answered a credit-only add with no ReceivePayment (a
# link only, research §4.2), which ReceivePaymentQuery can't find after a lost answer.
LINKS_ONLY = "credit_links_only"
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
            run_id=run.id, stage="deleted",
            state={"cursor": dict(integ.cursor or {}), "step": "writes"},
            created_at=now, last_seen_at=now, expires_at=now + TICKET_TTL))
    return [ticket, ""]


# --- sendRequestXML --------------------------------------------------------------------------
def _step(sess: Session) -> str:
    """Where the conversation is (a session stored before steps existed has its stage)."""
    return str(sess.state.get("step") or sess.stage)


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
    now = clock.now()
    with db.write() as s:
        row = s.get_one(models.QbwcSession, sess.key, with_for_update=True)
        if row.stage != sess.stage or row.state.get("step") != sess.state.get("step"):
            return ""  # another call moved this conversation on meanwhile
        xml = _request(s, sess, state)
        row.stage, row.state = STAGE_OF[state["step"]], state
        row.last_seen_at, row.expires_at = now, now + TICKET_TTL
        s.get_one(models.SyncRun, sess.run_id).heartbeat_at = now
        integ = s.get_one(models.Integration, sess.integration_id)
        if company and not integ.company_name:
            integ.company_name = company
    return xml


def _request(s: OrmSession, sess: Session, state: dict[str, Any]) -> str:
    """The request of the conversation's step, moving ``state`` on past steps with nothing
    to ask (in the caller's transaction: a write-back is marked sent before it leaves)."""
    state.setdefault("step", sess.stage)
    cursor, version = state["cursor"], state["version"]
    if state["step"] == "writes":
        xml = _write_request(s, sess, state)
        if xml:
            return xml
        state["step"] = "refresh_memos"
    touched = state.get("touched") or {}
    if state["step"] == "refresh_memos":
        if touched.get("memos"):
            return qbd.by_ids_query("CreditMemoQueryRq", sorted(touched["memos"]),
                                    version=version)
        state["step"] = "refresh_invoices"
    if state["step"] == "refresh_invoices":
        if touched.get("invoices"):
            return qbd.by_ids_query("InvoiceQueryRq", sorted(touched["invoices"]),
                                    version=version)
        state["step"] = "deleted"
    if state["step"] == "deleted":
        return qbd.deleted_query(cursor.get("deleted_since"), version=version)
    _, key, query = ITERATED[state["step"]]
    if not state.get("iterator_id"):
        state["started_at"] = clock.now().isoformat()
    return query(cursor.get(key), version=version, iterator_id=state.get("iterator_id"))


def _write_request(s: OrmSession, sess: Session, state: dict[str, Any]) -> str:
    """The next pending write-back's request (Y11-Y13), or "" when none is left. Each is
    handled once a session (``state["handled"]``); one still pending waits for the next."""
    handled = set(state.get("handled") or [])
    for due in qbwc_writes.due_writes(s, sess.integration_id):
        app = due.write.application_id
        if app in handled:
            continue
        version = state["version"]
        if due.problem:
            qbwc_writes.record_refused(s, app, due.problem)
        elif due.action == qbwc_writes.REMOVE and not qbwc_writes.deletable(due):
            qbwc_writes.record_refused(s, app, qbwc_writes.cannot_remove(due))
        elif due.action == qbwc_writes.REMOVE:
            qbwc_writes.mark_sent(s, app)
            _sending(state, due, "remove")
            return credit.remove_request(due.external_id or "", due.write.request_key,
                                         version=version)
        elif due.sent and state["cursor"].get(LINKS_ONLY):
            # a lost answer where QuickBooks leaves no ReceivePayment to look up: never
            # sent twice, and never taken as applied unseen (Y12, Y14)
            qbwc_writes.record_refused(s, app, qbwc_writes.unknown_outcome(due))
        elif due.sent and state.get("searched") != app:
            # an earlier attempt may have landed: read QuickBooks before any resend (Y12)
            _sending(state, due, "find")
            return credit.find_request(due.write, version=version)
        else:
            qbwc_writes.mark_sent(s, app)
            _sending(state, due, "apply")
            return credit.apply_request(due.write, version=version)
        handled.add(app)
        state["handled"] = sorted(handled)
    state.pop("write", None)
    return ""


def _sending(state: dict[str, Any], due: qbwc_writes.Due, op: str) -> None:
    """Remember the write-back in flight, for its answer."""
    state["write"] = {"app": due.write.application_id, "op": op,
                      "memo": due.write.memo_external_id,
                      "invoice": due.write.invoice_external_id}


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
    if _step(sess) == "writes":
        return _receive_write(db, sess, response)
    state = dict(sess.state)
    state["step"] = step = _step(sess)
    try:
        rs = qbd.parse_response(response, qbd.home_currency(state.get("country")))
    except qbd.MalformedResponse as exc:
        _fail(db, sess, f"CreditDesk could not read QuickBooks' response: {exc}")
        return -1
    expected = EXPECTED[step]
    if rs.kind != expected:
        _fail(db, sess, f"QuickBooks answered with {rs.kind} where {expected} was expected.")
        return -1
    if rs.failed:
        _fail(db, sess, rs.describe())
        return -1
    cursor, progress = dict(state["cursor"]), 5
    landed: dict[str, Any] | None = cursor
    if step in ("refresh_memos", "refresh_invoices"):
        landed = None  # a read by TxnID: the incremental cursor stays where it is
        state["step"] = "refresh_invoices" if step == "refresh_memos" else "deleted"
    elif step == "deleted":
        cursor["deleted_since"] = qbd.later(cursor.get("deleted_since"), rs.high_water)
        state["step"] = "memos"
    else:
        start, key, _ = ITERATED[step]
        state["high_water"] = qbd.later(state.get("high_water"), rs.high_water)
        state["fetched"] = fetched = int(state.get("fetched", 0)) + len(rs.records)
        if rs.remaining > 0 and rs.iterator_id:
            state["iterator_id"] = rs.iterator_id
            progress = min(99, start + 45 * fetched // (fetched + rs.remaining))
        else:
            started = datetime.fromisoformat(state.get("started_at") or clock.now().isoformat())
            cursor[key] = qbd.next_from(state.get("high_water"), started, cursor.get(key))
            for done in ("iterator_id", "high_water", "fetched", "started_at"):
                state.pop(done, None)
            state["step"] = "invoices" if step == "memos" else "done"
            progress = 50 if step == "memos" else 100
    state["cursor"] = cursor
    now = clock.now()
    with db.write() as s:
        locked = _lock(s, sess)
        if locked is None:
            return -1
        run, row = locked
        sync.land_page(s, run.id, _snap(sess.integration_id, sess.partner_id),
                       base.Batch(rs.records, landed))
        row.stage, row.state = STAGE_OF[state["step"]], state
        row.last_seen_at, row.expires_at = now, now + TICKET_TTL
    if state["step"] == "done":
        sync.finish(db, sess.run_id or "", _snap(sess.integration_id, sess.partner_id),
                    error=None, interval=None)
    return progress


def _lock(s: OrmSession, sess: Session) -> tuple[models.SyncRun, models.QbwcSession] | None:
    """The run and the session, locked; None (the session marked failed) when the run was
    stopped or another call moved the conversation on meanwhile."""
    run = s.get_one(models.SyncRun, sess.run_id, with_for_update=True)
    row = s.get_one(models.QbwcSession, sess.key, with_for_update=True)
    if (run.status == "running" and row.stage == sess.stage
            and row.state.get("step") == sess.state.get("step")):
        return run, row
    row.stage, row.last_error = "failed", "This update was stopped; run it again."
    return None


def _record(s: OrmSession, sess: Session, state: dict[str, Any], handled: set[str], app: str,
            op: str, answer: credit.WriteAnswer) -> bool:
    """What QuickBooks' answer makes of the pending application; True when QuickBooks
    changed the memo and the invoice (they are read again)."""
    if op == "find":
        made = answer.made_for(app)
        if made is not None:
            qbwc_writes.record_written(s, app, made)
        if made is None and answer.ok:
            state["searched"] = app  # nothing was made: this session may send it
        else:
            handled.add(app)
        return made is not None
    handled.add(app)
    if op == "apply" and (answer.payments or answer.status_code == 0):
        # a credit-only add may make no ReceivePayment: the memo's link to the invoice is
        # the record then, as the memo's LinkedTxn names it (Y14)
        qbwc_writes.record_written(s, app, answer.payments[0][0] if answer.payments
                                   else qbd.link_id(str(state["write"]["invoice"])))
        if not answer.payments:  # a credit-only link (research §4.2), remembered
            state["cursor"] = {**state["cursor"], LINKS_ONLY: True}
            s.get_one(models.Integration, sess.integration_id).cursor = state["cursor"]
        return True
    if op == "remove" and (answer.ok or answer.status_code == credit.NOT_FOUND):
        qbwc_writes.record_removed(s, app)
        return True
    if answer.status_code not in TRANSIENT:
        qbwc_writes.record_refused(s, app, answer.words())
    return False


def _receive_write(db: Database, sess: Session, response: object) -> int:
    """QuickBooks' answer to a write-back (Y11-Y13), recorded with the session's state.

    Made → applied (the memo and the invoice are read again by TxnID in this session);
    refused → failed with QuickBooks' words; removed (or gone already) → the application
    goes. A find that came back empty lets the same session send the write; an error that
    may pass (a lock, a busy list: 3170-3180) leaves it pending, to be read first next time."""
    state = dict(sess.state)
    write = dict(state.get("write") or {})
    try:
        answer = credit.parse_answer(response)
    except qbd.MalformedResponse as exc:
        _fail(db, sess, f"CreditDesk could not read QuickBooks' response: {exc}")
        return -1
    app, op = str(write.get("app", "")), write.get("op")
    expected = {"apply": "ReceivePaymentAddRs", "find": "ReceivePaymentQueryRs",
                "remove": "TxnDelRs"}.get(str(op))
    if answer.kind != expected:
        _fail(db, sess, f"QuickBooks answered with {answer.kind} where {expected} was expected.")
        return -1
    handled = set(state.get("handled") or [])
    touched = {k: set(v) for k, v in (state.get("touched") or {}).items()}
    with db.write() as s:
        locked = _lock(s, sess)
        if locked is None:
            return -1
        run, row = locked
        pending = s.get(models.CreditApplication, app, with_for_update=True)
        # cancelled or settled meanwhile: nothing to record
        changed = pending is not None and pending.status == "pending" and _record(
            s, sess, state, handled, app, str(op), answer)
        if changed:
            touched.setdefault("memos", set()).add(str(write.get("memo")))
            touched.setdefault("invoices", set()).add(str(write.get("invoice")))
        state.pop("write", None)
        state["handled"] = sorted(handled)
        state["touched"] = {k: sorted(v) for k, v in touched.items()}
        row.state = state
        now = clock.now()
        row.last_seen_at, row.expires_at, run.heartbeat_at = now, now + TICKET_TTL, now
    return 2


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
            return (f"CreditDesk: {run.fetched} record(s) read; credit memos: {run.created} new, "
                    f"{run.updated} updated, {run.voided} voided; invoices: "
                    f"{run.invoices_created} new, {run.invoices_updated} updated, "
                    f"{run.invoices_voided} voided{skipped}.")
        return f"CreditDesk: the update failed: {sess.last_error or 'see CreditDesk'}"
