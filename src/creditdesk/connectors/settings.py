"""Provider endpoints and app credentials from the environment (API.md), so that a test or
a sandbox can point CreditDesk anywhere."""

from __future__ import annotations

from pydantic import PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProviderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITDESK_", extra="ignore")

    public_url: str = "http://127.0.0.1:8000"
    qbo_api_base: str = "https://quickbooks.api.intuit.com/v3"
    qbo_auth_url: str = "https://appcenter.intuit.com/connect/oauth2"
    qbo_token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    qbo_client_id: str = ""
    qbo_client_secret: str = ""
    qbo_webhook_verifier: str = ""
    qbo_minor_version: int = 75
    xero_api_base: str = "https://api.xero.com/api.xro/2.0"
    xero_auth_url: str = "https://login.xero.com/identity/connect/authorize"
    xero_token_url: str = "https://identity.xero.com/connect/token"
    xero_connections_url: str = "https://api.xero.com/connections"
    xero_client_id: str = ""
    xero_client_secret: str = ""
    xero_webhook_key: str = ""
    intacct_endpoint: str = "https://api.intacct.com/ia/xml/xmlgw.phtml"  # the XML gateway
    sync_interval_seconds: int = 900
    # Outbound work (write-backs) waits this long after its first transient failure,
    # doubling each attempt (API.md; tests set it to 1).
    retry_base_seconds: float = 60.0
    # The OAuth callback address: a route of CreditDesk's own, so the web layer gives it
    # (``web.urls.provider_settings``); not read from the environment.
    _redirect_uri: str = PrivateAttr(default="")

    @property
    def redirect_uri(self) -> str:
        if not self._redirect_uri:
            raise RuntimeError("no OAuth callback address: load the settings with "
                               "creditdesk.web.urls.provider_settings()")
        return self._redirect_uri

    def with_redirect_uri(self, redirect_uri: str) -> ProviderSettings:
        """A copy whose OAuth sign-ins and code exchanges name ``redirect_uri``."""
        copy = self.model_copy()
        copy._redirect_uri = redirect_uri
        return copy


def load() -> ProviderSettings:
    return ProviderSettings()
