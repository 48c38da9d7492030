"""Delivering the outbox (D4, D5): at least once, signed, each attempt recorded.

A pass works in three steps, and no HTTP happens inside a transaction:

1. **claim** — a batch of due pending deliveries is leased in one transaction (their next
   attempt moves ``LEASE`` ahead and the attempt is counted; PostgreSQL skips rows another
   worker holds), with what sending needs: the event's stored body, the endpoint's URL and
   the secrets that sign now;
2. **send** — concurrently, each with its own timeout; before each request the host is
   resolved and checked again (D4: no private addresses, against DNS rebinding) and the
   request is pinned to the checked address;
3. **record** — one transaction: an attempt row each (status code, a bounded excerpt of the
   answer, the error, the duration); 2xx: ``succeeded``; otherwise the next attempt after
   the back-off (``CREDITDESK_RETRY_BASE_SECONDS``, doubling), or ``failed`` once that
   would pass the delivery's three days.

A worker killed between 1 and 3 leaves the lease: the delivery falls due again when it
expires and is sent again (at least once; receivers deduplicate on the event id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import bindparam, func, insert, select, update

from creditdesk.db import models
from creditdesk.db.engine import Database
from creditdesk.domain import webhooks as rules
from creditdesk.services.common import dml
from creditdesk.services.common.context import clock, new_id
from creditdesk.services.events import endpoints, url_policy

log = logging.getLogger("creditdesk.events")

LEASE = timedelta(minutes=2)  # far beyond one attempt's timeouts
BATCH = 200
CONCURRENCY = 16
EXCERPT = 1000  # characters of the answer kept per attempt
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "CreditDesk-Webhooks/1"

_D = models.WebhookDelivery
_INSERT_ATTEMPT = insert(dml.table(models.WebhookAttempt))


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    event_id: str
    event_type: str
    url: str
    body: bytes
    secrets: tuple[str, ...]
    attempts: int
    give_up_at: datetime


@dataclass(frozen=True)
class Outcome:
    delivery: Claimed
    at: datetime
    status_code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim(db: Database, *, limit: int = BATCH, now: datetime | None = None) -> list[Claimed]:
    """Step 1: lease up to ``limit`` due deliveries (oldest due first)."""
    now = now or clock.now()
    claimed: list[Claimed] = []
    with db.write() as session:
        rows = session.execute(
            select(_D.id, _D.event_id, _D.endpoint_id, _D.attempts, _D.give_up_at)
            .where(_D.status == "pending", _D.next_attempt_at <= now)
            .order_by(_D.next_attempt_at, _D.id).limit(limit)
            .with_for_update(skip_locked=True)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        session.execute(update(_D).where(_D.id.in_(ids)).values(
            next_attempt_at=now + LEASE, attempts=_D.attempts + 1))
        events = {e.id: e for e in session.execute(select(
            models.Event.id, models.Event.type, models.Event.body).where(
            models.Event.id.in_({r.event_id for r in rows})))}
        eps = {e.id: e for e in session.scalars(select(models.WebhookEndpoint).where(
            models.WebhookEndpoint.id.in_({r.endpoint_id for r in rows})))}
        signing: dict[str, tuple[str, ...]] = {}
        for r in rows:
            ep, ev = eps[r.endpoint_id], events[r.event_id]
            if ep.id not in signing:
                signing[ep.id] = tuple(endpoints.signing_secrets(ep, now))
            claimed.append(Claimed(r.id, ev.id, ev.type, ep.url, ev.body.encode(),
                                   signing[ep.id], r.attempts + 1, r.give_up_at))
    return claimed


def send(client: httpx.Client, due: Claimed) -> Outcome:
    """Step 2 for one delivery: the checked, signed POST; never raises."""
    at = clock.now()
    started = time.monotonic()
    status: int | None = None
    excerpt: str | None = None
    error: str | None = None
    try:
        url, headers, extensions = _pinned(due.url)
        stamp = int(at.timestamp())
        headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT,
                        rules.HEADER: rules.signature(due.secrets, stamp, due.body),
                        "CreditDesk-Event-Id": due.event_id,
                        "CreditDesk-Event-Type": due.event_type})
        with client.stream("POST", url, content=due.body, headers=headers, timeout=TIMEOUT,
                           extensions=extensions, follow_redirects=False) as answer:
            status = answer.status_code
            excerpt = _excerpt(answer)
    except _Refused as exc:
        error = str(exc)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # recorded like any failed attempt; retried after back-off
        log.exception("webhook delivery %s failed unexpectedly", due.delivery_id)
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(due, at, status, excerpt, error,
                   int((time.monotonic() - started) * 1000))


class _Refused(Exception):
    """The endpoint's host resolves to an address requests may not go to (D4)."""


def _pinned(url: str) -> tuple[str, dict[str, str], dict[str, object]]:
    """The request to send: where private addresses are refused, the host is resolved and
    checked now and the request goes to that checked address (Host header and TLS name
    kept), so a second resolution can't point it elsewhere."""
    if url_policy.allow_private():
        return url, {}, {}
    problem = url_policy.refusal(url)
    if problem is not None:
        raise _Refused(problem)
    parts = urlsplit(url)
    assert parts.hostname is not None
    address = url_policy.addresses(parts.hostname, parts.port or 443)[0]
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return (urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc},
            {"sni_hostname": parts.hostname})


def _excerpt(answer: httpx.Response) -> str:
    taken = b""
    for chunk in answer.iter_bytes():
        taken += chunk
        if len(taken) >= EXCERPT * 4:
            break
    return taken.decode("utf-8", "replace")[:EXCERPT]


def record(db: Database, outcomes: list[Outcome], *, retry_base_seconds: float) -> None:
    """Step 3: every attempt recorded and each delivery moved on, in one transaction."""
    if not outcomes:
        return
    with db.write() as session:
        session.execute(_INSERT_ATTEMPT, [
            {"id": new_id("wat"), "delivery_id": o.delivery.delivery_id, "at": o.at,
             "status_code": o.status_code, "response_excerpt": o.excerpt, "error": o.error,
             "duration_ms": o.duration_ms} for o in outcomes])
        done, later, given_up = [], [], []
        now = clock.now()
        for o in outcomes:
            if o.ok:
                done.append({"b_id": o.delivery.delivery_id, "b_at": o.at})
                continue
            problem = o.error or f"HTTP {o.status_code}"
            due = now + rules.retry_after(o.delivery.attempts, retry_base_seconds)
            if due > o.delivery.give_up_at:
                given_up.append({"b_id": o.delivery.delivery_id, "b_error": problem})
            else:
                later.append({"b_id": o.delivery.delivery_id, "b_error": problem, "b_at": due})
        # one executemany per outcome (a pipeline on PostgreSQL), each still pending only
        still = (_D.id == bindparam("b_id"), _D.status == "pending")
        conn = session.connection()
        if done:
            conn.execute(update(_D).where(*still).values(
                status="succeeded", delivered_at=bindparam("b_at"), next_attempt_at=None,
                last_error=None), done)
        if later:
            conn.execute(update(_D).where(*still).values(
                next_attempt_at=bindparam("b_at"), last_error=bindparam("b_error")), later)
        if given_up:
            conn.execute(update(_D).where(*still).values(
                status="failed", next_attempt_at=None, last_error=bindparam("b_error")),
                given_up)


def run_pass(db: Database, client: httpx.Client, *, retry_base_seconds: float,
             limit: int = BATCH, pool: ThreadPoolExecutor | None = None) -> int:
    """One pass: claim, send concurrently, record; the number of attempts made."""
    claimed = claim(db, limit=limit)
    if not claimed:
        return 0
    if pool is None or len(claimed) == 1:
        outcomes = [send(client, c) for c in claimed]
    else:
        outcomes = list(pool.map(lambda c: send(client, c), claimed))
    record(db, outcomes, retry_base_seconds=retry_base_seconds)
    return len(outcomes)


def run_due(db: Database, client: httpx.Client, *, retry_base_seconds: float,
            max_seconds: float = 50.0, should_stop: Callable[[], bool] = lambda: False) -> int:
    """The job: passes until nothing is due (or ``max_seconds`` pass); attempts made."""
    made = 0
    deadline = time.monotonic() + max_seconds
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="creditdesk-webhooks") as pool:
        while time.monotonic() < deadline and not should_stop():
            n = run_pass(db, client, retry_base_seconds=retry_base_seconds, pool=pool)
            if n == 0:
                break
            made += n
    return made


def next_due_at(db: Database) -> datetime | None:
    """When the soonest pending delivery falls due (None: none is pending)."""
    with db.read() as session:
        return session.scalar(select(func.min(_D.next_attempt_at)).where(
            _D.status == "pending"))


def client() -> httpx.Client:
    """The delivery HTTP client: pooled connections, enough for the concurrent sends."""
    return httpx.Client(limits=httpx.Limits(max_connections=CONCURRENCY * 2,
                                            max_keepalive_connections=CONCURRENCY),
                        headers={"User-Agent": USER_AGENT})
