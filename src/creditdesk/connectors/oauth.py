"""OAuth 2.0 authorization-code flow and rotating refresh tokens (QuickBooks Online, Xero).

Tokens travel as one dict: ``access_token``, ``refresh_token``, ``access_expires_at`` and
``refresh_expires_at`` (epoch seconds). Each refresh may return a new refresh token, so
the caller saves the whole dict every time (``TokenSaver``).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx

from creditdesk.connectors import http
from creditdesk.connectors.base import ConnectorError, NeedsReconnection


def authorize_url(base: str, *, client_id: str, redirect_uri: str, scope: str,
                  state: str) -> str:
    query = {"client_id": client_id, "response_type": "code", "scope": scope,
             "redirect_uri": redirect_uri, "state": state}
    return f"{base}?{urlencode(query)}"


def _token_set(body: dict[str, Any], now: float) -> dict[str, Any]:
    try:
        tokens = {"access_token": str(body["access_token"]),
                  "refresh_token": str(body["refresh_token"]),
                  "access_expires_at": now + float(body.get("expires_in", 3600))}
    except (KeyError, TypeError, ValueError):
        raise ConnectorError("the token endpoint answered without the expected tokens") from None
    if "x_refresh_token_expires_in" in body:
        tokens["refresh_expires_at"] = now + float(body["x_refresh_token_expires_in"])
    return tokens


def _post(client: httpx.Client, retry: http.Retry, url: str, *, client_id: str,
          client_secret: str, form: dict[str, str], what: str) -> dict[str, Any]:
    response = http.send(client, retry, "POST", url, what=what, data=form,
                         auth=(client_id, client_secret), headers={"Accept": "application/json"})
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code in (400, 401):
        error = body.get("error", "") if isinstance(body, dict) else ""
        raise NeedsReconnection(
            f"{what} refused the authorization ({error or response.status_code}); "
            "reconnect the integration")
    if response.status_code != 200 or not isinstance(body, dict):
        raise ConnectorError(f"{what} answered HTTP {response.status_code}")
    return _token_set(body, time.time())


def exchange_code(client: httpx.Client, retry: http.Retry, token_url: str, *, client_id: str,
                  client_secret: str, code: str, redirect_uri: str, what: str) -> dict[str, Any]:
    return _post(client, retry, token_url, client_id=client_id, client_secret=client_secret,
                 form={"grant_type": "authorization_code", "code": code,
                       "redirect_uri": redirect_uri}, what=what)


def refresh(client: httpx.Client, retry: http.Retry, token_url: str, *, client_id: str,
            client_secret: str, refresh_token: str, what: str) -> dict[str, Any]:
    return _post(client, retry, token_url, client_id=client_id, client_secret=client_secret,
                 form={"grant_type": "refresh_token", "refresh_token": refresh_token}, what=what)
