"""Documents of a memo (D1, D2): which memos have a PDF and which can be emailed, the
states of a delivery and when it is tried again or given up, and what an address, an SMTP
server and a profile may be.

A delivery is ``queued`` when asked for, ``sending`` from the committed step just before
the SMTP conversation until its outcome is known, then ``sent``; ``failed`` with the
server's answer and a next attempt (back-off from ``CREDITDESK_RETRY_BASE_SECONDS``);
``gave_up`` once 24 hours have passed since it was asked for, or when the conversation
broke off after the message was handed over (it may have arrived: never sent twice).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from enum import StrEnum

from creditdesk.domain import errors
from creditdesk.domain.memo import MemoStatus
from creditdesk.domain.write_back import retry_after

GIVE_UP_AFTER = timedelta(hours=24)
# A delivery still ``sending`` this long after its attempt began was cut off (the worker
# stopped): its outcome is unknown, so it is given up rather than sent again.
SENDING_LEASE = timedelta(minutes=10)
MAX_RECIPIENTS = 20
MAX_NOTE = 2000
MAX_ADDRESS_LINES = 6
MAX_LOGO_BYTES = 512 * 1024
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}

__all__ = ["GIVE_UP_AFTER", "retry_after"]


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    GAVE_UP = "gave_up"


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


_HAS_DOCUMENT = {MemoStatus.ISSUED, MemoStatus.PARTIALLY_APPLIED, MemoStatus.APPLIED,
                 MemoStatus.VOID}


def check_has_pdf(*, status: str, number: str) -> None:
    """D1: an issued memo (partially applied, applied, or void: marked VOID) has a PDF; a
    draft has none yet."""
    if MemoStatus(status) not in _HAS_DOCUMENT:
        raise errors.InvalidState(
            f"Credit memo {number} is a draft: it has no PDF until it is issued. Issue it "
            "first, then download or send it.")


def check_sendable(*, status: str, number: str) -> None:
    """D2: only an issued memo (not a draft, not void) is emailed to the customer."""
    check_has_pdf(status=status, number=number)
    if MemoStatus(status) is MemoStatus.VOID:
        raise errors.InvalidState(
            f"Credit memo {number} is void: it is no longer sent to the customer. Its PDF "
            "(marked VOID) can still be downloaded.")


# An address as mail servers take it: no spaces, quotes or angle brackets, one @, a dotted
# domain. (Not every RFC 5322 form: only what a billing address looks like.)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
                    re.ASCII)


def parse_email(value: object, field: str) -> str:
    """One email address, trimmed; refused with the field's name when it is not one."""
    if not isinstance(value, str):
        raise errors.ValidationError.for_field(field, "must be an email address")
    text = value.strip()
    if len(text) > 254 or not _EMAIL.fullmatch(text) or ".." in text:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise errors.ValidationError.for_field(
            field, f"{shown!r} is not an email address (name@example.com)")
    return text


def parse_recipients(value: object, field: str = "to") -> list[str]:
    """D2's ``to``: one to 20 addresses (a list, or text separated by commas, semicolons or
    whitespace), duplicates dropped (compared without case), in the order given."""
    if isinstance(value, str):
        items: list[object] = [p for p in re.split(r"[,;\s]+", value) if p]
    elif isinstance(value, list):
        items = list(value)
    else:
        raise errors.ValidationError.for_field(field, "must be a list of email addresses")
    if not items:
        raise errors.ValidationError.for_field(field, "give at least one email address")
    if len(items) > MAX_RECIPIENTS:
        raise errors.ValidationError.for_field(
            field, f"at most {MAX_RECIPIENTS} addresses per delivery")
    seen: dict[str, str] = {}
    for item in items:
        address = parse_email(item, field)
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def parse_port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise errors.ValidationError.for_field("port", "must be a whole number from 1 to 65535")
    return value


def parse_security(value: object) -> Security:
    try:
        return Security(str(value))
    except ValueError:
        raise errors.ValidationError.for_field(
            "security", "must be one of none, starttls, tls") from None


_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*", re.ASCII)
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".localdomain")


def is_private_address(address: str) -> bool:
    """An address of this machine or its network (loopback, private, link-local, shared,
    reserved, multicast, unspecified): anything that is not a public unicast address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def parse_host(value: object, *, allow_private: bool) -> str:
    """D2/API.md: an SMTP host name or address; loopback and private ones only where the
    deployment allows them (CREDITDESK_ALLOW_PRIVATE_URLS=1: development and tests). The
    addresses a name resolves to are checked again when the job connects."""
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError.for_field("host", "is required (e.g. smtp.example.com)")
    host = value.strip().rstrip(".").lower()
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        private = is_private_address(literal)
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            raise errors.ValidationError.for_field(
                "host", "must be a host name (smtp.example.com) or an IP address") from None
        private = host == "localhost" or host.endswith(_LOCAL_NAMES)
        literal = host
    if private and not allow_private:
        raise errors.ValidationError.for_field(
            "host", f"{literal} is a loopback or private address; give your mail provider's "
            "public SMTP host")
    return literal


def logo_type(data: bytes) -> str:
    """D1: a logo is a PNG or a JPEG (told by its first bytes, not its name) of at most
    512 KiB; its content type."""
    if not data:
        raise errors.ValidationError.for_field("logo", "choose a PNG or JPEG file")
    if len(data) > MAX_LOGO_BYTES:
        raise errors.ValidationError.for_field(
            "logo", f"must be at most {MAX_LOGO_BYTES // 1024} KiB "
            f"(this one is {len(data) // 1024} KiB)")
    for magic, kind in LOGO_TYPES.items():
        if data.startswith(magic):
            return kind
    raise errors.ValidationError.for_field("logo", "must be a PNG or JPEG image")


def after_failure(*, attempts: int, created_at: datetime, now: datetime,
                  base_seconds: float) -> tuple[DeliveryStatus, datetime | None]:
    """A failed attempt: ``failed`` with its next attempt after the back-off, or
    ``gave_up`` when that would fall past 24 hours from the request."""
    next_at = now + retry_after(attempts, base_seconds)
    if next_at > created_at + GIVE_UP_AFTER:
        return DeliveryStatus.GAVE_UP, None
    return DeliveryStatus.FAILED, next_at


def expired(*, created_at: datetime, now: datetime) -> bool:
    """D2: a delivery still not sent 24 hours after it was asked for is given up."""
    return now >= created_at + GIVE_UP_AFTER


def message_id(delivery_id: str, from_address: str) -> str:
    """The delivery's own Message-ID (the same on every attempt): a copy that did arrive
    is recognisable by it."""
    domain = from_address.rsplit("@", 1)[-1] or "creditdesk.invalid"
    return f"<{delivery_id}@{domain}>"
