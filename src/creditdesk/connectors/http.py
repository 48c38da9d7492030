"""HTTP with retries: 429 and 5xx (honouring Retry-After) and timeouts, with back-off."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from creditdesk.connectors.base import ConnectorError, Transient

RETRY_STATUSES = {429, 500, 502, 503, 504}


class Retry:
    """Attempts, back-off and the sleep function (tests pass a recorder instead of sleeping)."""

    def __init__(self, attempts: int = 5, base: float = 1.0, cap: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.attempts, self.base, self.cap, self.sleep = attempts, base, cap, sleep

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        after = retry_after(response) if response is not None else None
        backoff = self.base * 2 ** attempt
        return min(self.cap, after if after is not None else backoff)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def send(client: httpx.Client, retry: Retry, method: str, url: str, *,
         what: str, give_up: Callable[[httpx.Response], str | None] | None = None,
         **kwargs: Any) -> httpx.Response:
    """Send, retrying transient failures; returns any other response for the caller to judge.

    ``give_up`` may look at a retryable response and return a message to stop retrying at
    once (e.g. a daily limit: waiting seconds in-process would not help)."""
    last = ""
    for attempt in range(retry.attempts):
        response = None
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            last = f"{what} timed out"
        except httpx.TransportError as exc:
            last = f"{what} could not be reached ({exc.__class__.__name__})"
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            stop = give_up(response) if give_up is not None else None
            if stop:
                raise Transient(stop)
            last = (f"{what} is throttling requests (HTTP 429)" if response.status_code == 429
                    else f"{what} answered HTTP {response.status_code}")
        if attempt + 1 < retry.attempts:
            retry.sleep(retry.delay(attempt, response))
    raise Transient(f"{last}; gave up after {retry.attempts} attempts, will retry later")


def send_write(client: httpx.Client, retry: Retry, method: str, url: str, *, what: str,
               **kwargs: Any) -> httpx.Response:
    """Send a write (Y12). An answer of 429 or 5xx is sent again after the back-off (the
    write carries the system's idempotency key or unique id, so a repeat it had run is
    answered or refused as one); a timeout or a lost connection is never resent: whether the
    system made the record is unknown, so ``Transient`` — the engine looks for it before any
    new attempt. Every other answer is returned for the caller to judge."""
    last = ""
    for attempt in range(retry.attempts):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise Transient(f"{what} did not answer the write in time; whether it made the "
                            "change is unknown until it is looked up") from None
        except httpx.TransportError as exc:
            raise Transient(f"{what} could not be reached or the answer was lost "
                            f"({exc.__class__.__name__}); whether it made the change is "
                            "unknown until it is looked up") from None
        if response.status_code not in RETRY_STATUSES:
            return response
        last = f"{what} answered HTTP {response.status_code}"
        if attempt + 1 < retry.attempts:
            retry.sleep(retry.delay(attempt, response))
    raise Transient(f"{last}; gave up after {retry.attempts} attempts, will retry later")


def json_exact(response: httpx.Response, provider: str) -> Any:
    """A JSON answer with every number with a fraction read as ``Decimal`` (M1: amounts
    stay exact); a body that is not JSON is a ConnectorError naming ``provider``."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise ConnectorError(f"{provider} answered HTTP {response.status_code} with a body "
                             "that is not JSON") from None
