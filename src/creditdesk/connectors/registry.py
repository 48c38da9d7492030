"""One entry per connectable accounting system: how a connection is created (validation and
the OAuth authorize URL), how the OAuth callback completes it (code exchange, organisation
check) or, for a connect-with-credentials system, how the credentials are checked over HTTP
(``check``), and how its connector is built for a sync. Services, jobs and the web layer look a
provider up here and never name one.

Adding a provider = one ``Provider(...)`` in ``PROVIDERS`` (and its connector module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from creditdesk.connectors import base, http, xero
from creditdesk.connectors import quickbooks_desktop as qbd
from creditdesk.connectors import quickbooks_online as qbo
from creditdesk.connectors import sage_intacct as intacct
from creditdesk.connectors.settings import ProviderSettings


def default_client() -> httpx.Client:
    """The HTTP client for calls to a provider (each caller closes its own)."""
    return httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))


class InvalidField(ValueError):
    """A create-time field the provider can't accept; the service turns it into a 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class InvalidFields(ValueError):
    """Several create-time fields at once (e.g. every missing credential), each a 422 error."""

    def __init__(self, summary: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(summary)
        self.summary, self.problems = summary, problems


@dataclass(frozen=True)
class Accepted:
    """What the organisation check keeps about a newly authorised connection."""

    realm_id: str  # QBO realm, Xero tenant id, Intacct company id
    region: str | None
    company_name: str | None


# (client, settings, code, realm_id from the callback, retry) -> (tokens, organisation info)
Exchange = Callable[[httpx.Client, ProviderSettings, str, str | None, http.Retry],
                    tuple[dict[str, Any], dict[str, Any]]]
# (client, settings, realm_id, region, tokens, save_tokens, **options) -> connector
Build = Callable[..., base.Connector]
# (client, settings, validated fields, retry) -> (secrets to seal, organisation); raises
# base.Refused for credentials the system turns down, base.Transient when it can't be reached
Check = Callable[[httpx.Client, ProviderSettings, dict[str, Any], http.Retry],
                 tuple[dict[str, Any], Accepted]]
Verify = Callable[[dict[str, Any]], tuple[dict[str, Any], Accepted]]


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    validate: Callable[[Mapping[str, Any]], dict[str, Any]]  # create fields -> row values
    authorize_url: Callable[[ProviderSettings, str], str] | None  # None: not OAuth
    exchange: Exchange | None
    accept: Callable[[dict[str, Any], str | None], Accepted] | None  # raises base.Refused (Y1)
    build: Build
    callback_realm_param: str | None = None  # a query parameter the callback must carry
    check: Check | None = None  # connect-with-credentials: checked before anything is stored
    fields: tuple[str, ...] = ()  # create-time fields besides provider and region
    secret_fields: tuple[str, ...] = ()  # never echoed back, logged or audited
    # The system calls CreditDesk (QuickBooks Desktop's Web Connector): CreditDesk generates
    # the credentials at create time, and "Sync now" is refused with this message.
    client_pulls: str | None = None
    # The settings the provider's app needs (an OAuth client id and secret): without them a
    # connection can't be authorised, so none is started (``missing_settings``).
    app_settings: tuple[str, ...] = ()

    def missing_settings(self, settings: ProviderSettings) -> list[str]:
        """The environment variables of ``app_settings`` left empty on this server."""
        return [f"CREDITDESK_{name.upper()}" for name in self.app_settings
                if not str(getattr(settings, name, "") or "").strip()]

    def verify(self, client: httpx.Client, settings: ProviderSettings,
               retry: http.Retry | None = None) -> Verify:
        """The ``verify(fields)`` callable the create service runs for a credentials provider."""
        check = self.check
        if check is None:
            raise TypeError(f"{self.key} connects through OAuth, not with credentials")
        return lambda fields: check(client, settings, fields, retry or http.Retry(attempts=2))

    def connect(self, client: httpx.Client, settings: ProviderSettings,
                retry: http.Retry | None = None) -> Callable[[str, str | None],
                                                             tuple[dict[str, Any],
                                                                   dict[str, Any]]]:
        """The ``exchange(code, realm_id)`` callable the OAuth callback service runs."""
        exchange = self.exchange
        if exchange is None:
            raise TypeError(f"{self.key} does not connect through OAuth")

        def run(code: str, realm_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
            return exchange(client, settings, code, realm_id,
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


# Sage Intacct ------------------------------------------------------------------------------
INTACCT_FIELDS = tuple(intacct.Credentials.__dataclass_fields__)
INTACCT_SECRETS = ("sender_password", "user_password")
# Where a credit application's ARPYMT posts (Y11): a bank account (FINANCIALENTITY) or an
# undeposited funds account. Optional to connect; needed before credit can be written back.
INTACCT_WRITE_FIELDS = ("financial_entity", "undeposited_account")


def _intacct_validate(fields: Mapping[str, Any]) -> dict[str, Any]:
    if fields.get("region") is not None:
        raise InvalidField("region", "is not used by Sage Intacct; leave it out")
    missing = [k for k in INTACCT_FIELDS
               if not isinstance(fields.get(k), str) or not fields[k].strip()]
    if missing:
        raise InvalidFields(f"Sage Intacct needs {', '.join(missing)} to connect",
                            [(k, "is required to connect Sage Intacct") for k in missing])
    given = {k: fields[k] for k in INTACCT_WRITE_FIELDS if fields.get(k) is not None}
    wrong = [k for k, v in given.items() if not isinstance(v, str)]
    if wrong:
        raise InvalidFields(f"{', '.join(wrong)}: must be text",
                            [(k, "must be text") for k in wrong])
    long = [k for k in (*INTACCT_FIELDS, *given) if len(fields[k]) > 256]
    if long:
        raise InvalidFields(f"{', '.join(long)}: too long for Sage Intacct",
                            [(k, "must be at most 256 characters") for k in long])
    return {**{k: fields[k].strip() for k in INTACCT_FIELDS},
            **{k: v.strip() for k, v in given.items() if v.strip()}}


def _intacct_check(client: httpx.Client, settings: ProviderSettings, fields: dict[str, Any],
                   retry: http.Retry) -> tuple[dict[str, Any], Accepted]:
    creds = intacct.Credentials.from_dict(fields)
    info = intacct.check_credentials(client, creds, endpoint=settings.intacct_endpoint,
                                     retry=retry)
    company = str(info.get("company_id") or creds.company_id)[:255]
    posting = {k: fields[k] for k in INTACCT_WRITE_FIELDS if fields.get(k)}
    return {**creds.to_dict(), **posting}, Accepted(company, None, company)


def _intacct_build(client: httpx.Client, settings: ProviderSettings, *, tokens: dict[str, Any],
                   **options: Any) -> base.Connector:
    try:
        return intacct.build(client, settings, tokens=tokens, **options)
    except base.Refused as exc:  # stored credentials incomplete: retrying can't help
        raise base.NeedsReconnection(f"{exc}; connect Sage Intacct again") from None


# QuickBooks Desktop -------------------------------------------------------------------------
QBD_PULLS = ("QuickBooks Desktop is synced by the QuickBooks Web Connector on your PC, on the "
             "schedule in its .qwc file; to sync now, select CreditDesk in the Web Connector "
             "and click Update Selected.")


def _qbd_validate(fields: Mapping[str, Any]) -> dict[str, Any]:
    if fields.get("region") is not None:
        raise InvalidField("region", "is not used by QuickBooks Desktop; leave it out")
    return {}


def _qbd_build(client: httpx.Client, settings: ProviderSettings, **options: Any
               ) -> base.Connector:
    raise base.ConnectorError(QBD_PULLS)  # runs come from /qbwc (services.qbwc), never here


PROVIDERS: dict[str, Provider] = {
    qbo.PROVIDER: Provider(qbo.PROVIDER, qbo.NAME, _qbo_validate, qbo.authorize_url,
                           _qbo_exchange, _qbo_accept, _qbo_build,
                           callback_realm_param="realmId",
                           app_settings=("qbo_client_id", "qbo_client_secret")),
    xero.PROVIDER: Provider(xero.PROVIDER, xero.NAME, _xero_validate, xero.authorize_url,
                            _xero_exchange, _xero_accept, _xero_build,
                            app_settings=("xero_client_id", "xero_client_secret")),
    intacct.PROVIDER: Provider(intacct.PROVIDER, intacct.NAME, _intacct_validate, None, None,
                               None, _intacct_build, check=_intacct_check,
                               fields=(*INTACCT_FIELDS, *INTACCT_WRITE_FIELDS),
                               secret_fields=INTACCT_SECRETS),
    qbd.PROVIDER: Provider(qbd.PROVIDER, qbd.NAME, _qbd_validate, None, None, None, _qbd_build,
                           client_pulls=QBD_PULLS),
}


def get(key: object) -> Provider | None:
    return PROVIDERS.get(key) if isinstance(key, str) else None


def available() -> tuple[str, ...]:
    return tuple(PROVIDERS)
