"""D4: where webhook requests may go. An endpoint's host must resolve to public addresses
only (no requests to the server's own network), checked when the endpoint is saved and
again before each attempt (a name may resolve elsewhere later: DNS rebinding), unless
``CREDITDESK_ALLOW_PRIVATE_URLS=1`` (development and tests)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from creditdesk.domain import errors
from creditdesk.domain import webhooks as rules


def allow_private() -> bool:
    # read each time: tests and deployments set it in the environment
    return os.environ.get("CREDITDESK_ALLOW_PRIVATE_URLS", "").strip().lower() in (
        "1", "true", "yes")


def addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def refusal(url: str) -> str | None:
    """Why a request to ``url`` may not be sent now (None: it may)."""
    if allow_private():
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "the endpoint URL is not https"
    found = addresses(parts.hostname, parts.port or 443)
    if not found:
        return f"{parts.hostname} does not resolve"
    private = [a for a in found if not rules.is_public(a)]
    if private:
        return rules.private_words(f"{parts.hostname} ({private[0]})")
    return None


def check(url: object) -> str:
    """An endpoint URL as saved: ``domain.webhooks.check_url``, then its host resolved."""
    checked = rules.check_url(url, allow_private=allow_private())
    problem = refusal(checked)
    if problem is not None:
        raise errors.ValidationError.for_field("url", problem)
    return checked
