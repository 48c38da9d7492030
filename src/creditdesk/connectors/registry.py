"""One entry per connectable accounting system: how a connection is created (validation and
the OAuth authorize URL), how the OAuth callback completes it (code exchange, organisation
check), and how its connector is built for a sync. Services, jobs and the web layer look a
provider up here and never name one.

Adding a provider = one ``Provider(...)`` in ``PROVIDERS`` (and its connector module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from creditdesk.connectors import base, http, xero
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors.settings import ProviderSettings


class InvalidField(ValueError):
    """A create-time field the provider can't accept; the service turns it into a 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Accepted:
    """What the organisation check keeps about a newly authorised connection."""

    realm_id: str  # QBO realm, Xero tenant id
    region: str
    company_name: str | None


# (client, settings, code, realm_id from the callback, retry) -> (tokens, organisation info)
Exchange = Callable[[httpx.Client, ProviderSettings, str, str | None, http.Retry],
                    tuple[dict[str, Any], dict[str, Any]]]
# (client, settings, realm_id, region, tokens, save_tokens, **options) -> connector
Build = Callable[..., base.Connector]


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    validate: Callable[[Mapping[str, Any]], dict[str, Any]]  # create fields -> row values
    authorize_url: Callable[[ProviderSettings, str], str]
    exchange: Exchange
    accept: Callable[[dict[str, Any], str | None], Accepted]  # raises base.Refused (Y1)
    build: Build
    callback_realm_param: str | None = None  # a query parameter the callback must carry

    def connect(self, client: httpx.Client, settings: ProviderSettings,
                retry: http.Retry | None = None) -> Callable[[str, str | None],
                                                             tuple[dict[str, Any],
                                                                   dict[str, Any]]]:
        """The ``exchange(code, realm_id)`` callable the OAuth callback service runs."""
        def run(code: str, realm_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
            return self.exchange(client, settings, code, realm_id,
                                 retry or http.Retry(attempts=3))
        return run


# QuickBooks Online -------------------------------------------------------------------------
def _qbo_validate(fields: Mapping[str, Any]) -> dict[str, Any]:
    region = fields.get("region")
    if region not in ("us", "ca"):
        raise InvalidField("region", "must be 'us' or 'ca': QuickBooks Online companies in the "
                                     "United States and Canada are supported")
    return {"region": region}


def _qbo_exchange(client: httpx.Client, settings: ProviderSettings, code: str,
                  realm_id: str | None, retry: http.Retry) -> tuple[dict[str, Any],
                                                                    dict[str, Any]]:
    tokens = qbo.exchange_code(client, settings, code, retry)
    connector = qbo.QuickBooksOnline(client, settings, realm_id=realm_id or "", tokens=tokens,
                                     save_tokens=tokens.update, retry=retry)
    info = connector.company_info()
    return connector.tokens, info


def _qbo_accept(info: dict[str, Any], realm_id: str | None) -> Accepted:
    region = qbo.region_of(info.get("Country"))
    return Accepted(str(realm_id), region, str(info.get("CompanyName") or "")[:255] or None)


def _qbo_build(client: httpx.Client, settings: ProviderSettings, *, realm_id: str | None,
               region: str | None, tokens: dict[str, Any], save_tokens: base.TokenSaver,
               **options: Any) -> base.Connector:
    return qbo.QuickBooksOnline(client, settings, realm_id=realm_id or "", tokens=tokens,
                                save_tokens=save_tokens, region=region or "us", **options)


# Xero --------------------------------------------------------------------------------------
def _xero_validate(fields: Mapping[str, Any]) -> dict[str, Any]:
    if fields.get("region") not in (None, "us"):
        raise InvalidField("region", "Xero organisations in the United States only are "
                                     "supported; leave region out or use 'us'")
    return {"region": "us"}


def _xero_exchange(client: httpx.Client, settings: ProviderSettings, code: str,
                   realm_id: str | None, retry: http.Retry) -> tuple[dict[str, Any],
                                                                     dict[str, Any]]:
    return xero.connect(client, settings, code, retry)


def _xero_accept(info: dict[str, Any], realm_id: str | None) -> Accepted:
    region = xero.check_country(info)
    name = str(info.get("Name") or info.get("tenantName") or "")[:255] or None
    return Accepted(str(info["tenantId"]), region, name)


def _xero_build(client: httpx.Client, settings: ProviderSettings, *, realm_id: str | None,
                region: str | None, tokens: dict[str, Any], save_tokens: base.TokenSaver,
                **options: Any) -> base.Connector:
    return xero.Xero(client, settings, tenant_id=realm_id or "", tokens=tokens,
                     save_tokens=save_tokens, **options)


PROVIDERS: dict[str, Provider] = {
    qbo.PROVIDER: Provider(qbo.PROVIDER, qbo.NAME, _qbo_validate, qbo.authorize_url,
                           _qbo_exchange, _qbo_accept, _qbo_build,
                           callback_realm_param="realmId"),
    xero.PROVIDER: Provider(xero.PROVIDER, xero.NAME, _xero_validate, xero.authorize_url,
                            _xero_exchange, _xero_accept, _xero_build),
}


def get(key: object) -> Provider | None:
    return PROVIDERS.get(key) if isinstance(key, str) else None


def available() -> tuple[str, ...]:
    return tuple(PROVIDERS)
