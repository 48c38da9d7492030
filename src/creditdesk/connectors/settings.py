"""Provider endpoints and app credentials from the environment (API.md), so that a test or
a sandbox can point CreditDesk anywhere."""

from __future__ import annotations

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

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/api/v1/integrations/oauth/callback"


def load() -> ProviderSettings:
    return ProviderSettings()
