"""Outbound webhooks (D4, D5): the event types, the signature header, the retry schedule
and which addresses an endpoint may resolve to. Pure: no I/O (resolving a host name is the
service's job, ``services.events.url_policy``)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from creditdesk.domain import errors

TYPES = (
    "credit_memo.created", "credit_memo.issued", "credit_memo.applied",
    "credit_memo.application_removed", "credit_memo.voided", "credit_memo.refunded",
    "write_back.failed", "invoice.synced", "sync_run.finished",
)
ALL = "*"
HEADER = "CreditDesk-Signature"
GIVE_UP_AFTER = timedelta(days=3)  # D4: retried with back-off for three days
ROTATION_OVERLAP = timedelta(hours=24)  # API.md: the old secret signs for 24 h more
TOLERANCE_SECONDS = 300  # API.md: receivers reject a t older than 5 minutes


def check_types(events: object) -> list[str]:
    """The ``events`` of an endpoint: a non-empty list of known types, or ``["*"]`` (a
    ``"*"`` among types means all of them too)."""
    if (not isinstance(events, list) or not events
            or not all(isinstance(e, str) for e in events)):
        raise errors.ValidationError.for_field(
            "events", "Give a list of event types, or [\"*\"] for all of them.")
    if ALL in events:
        return [ALL]
    unknown = sorted(set(events) - set(TYPES))
    if unknown:
        raise errors.ValidationError.for_field(
            "events", f"Unknown event type {unknown[0]!r}; known: {', '.join(TYPES)} or *.")
    return sorted(set(events), key=TYPES.index)


def wants(events: Iterable[str], event_type: str) -> bool:
    return any(e in (ALL, event_type) for e in events)


def signature(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, one ``v1=`` per valid secret."""
    signed = str(timestamp).encode() + b"." + body
    macs = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return ",".join([f"t={timestamp}", *(f"v1={m}" for m in macs)])


def verify(header: str, body: bytes, secret: str, *, now: int) -> bool:
    """What a receiver does: one ``v1`` matches and ``t`` is at most 5 minutes old."""
    parts = [p.partition("=") for p in header.split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs(now - t) > TOLERANCE_SECONDS:
        return False
    expected = signature([secret], t, body).split(",")[1][3:]
    return any(hmac.compare_digest(expected, v) for k, _, v in parts if k == "v1")


def retry_after(attempts: int, base_seconds: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base ... (capped at
    a day so that the three days hold a last attempt near their end)."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 86400.0))


def check_url(url: object, *, allow_private: bool) -> str:
    """D4: an endpoint URL is https (http only where private URLs are allowed), with a
    host; where the host is an address literal it must be public. Names are resolved and
    checked by the service."""
    if not isinstance(url, str) or len(url) > 2000:
        raise errors.ValidationError.for_field("url", "Give the endpoint's URL.")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- read here: a port that isn't a number fails on reading
    except ValueError:  # an unbalanced [ or ], a port that isn't 0-65535
        raise errors.ValidationError.for_field(
            "url", "The URL must start with https:// and name a host: its host or port "
                   "can't be read.") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise errors.ValidationError.for_field(
            "url", "The URL must start with https:// and name a host.")
    if parts.username or parts.password:
        raise errors.ValidationError.for_field("url", "The URL must not carry credentials.")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not allow_private and not is_public(str(literal)):
        raise errors.ValidationError.for_field("url", private_words(parts.hostname))
    return url.strip()


def is_public(address: str) -> bool:
    """A globally routable address: not loopback, private, link-local, multicast,
    reserved or unspecified (IPv4-mapped IPv6 addresses judged as their IPv4)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_private
                                 or ip.is_unspecified)


def private_words(host: str) -> str:
    return (f"{host} is not a public address: webhook endpoints must be reachable on the "
            "public internet.")
