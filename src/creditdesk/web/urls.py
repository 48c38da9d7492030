"""The addresses of CreditDesk's own app that other parts are handed: the OAuth callback the
providers redirect to, the Web Connector's endpoint and the ``.qwc`` download. Only the web
layer builds them; services and connectors receive them (issue 12)."""

from __future__ import annotations

from creditdesk.connectors import settings as provider_settings_module
from creditdesk.connectors.settings import ProviderSettings

OAUTH_CALLBACK = "/api/v1/integrations/oauth/callback"
QBWC = "/qbwc"
INTEGRATIONS_PAGE = "/dashboard/integrations"


def absolute(settings: ProviderSettings, path: str) -> str:
    """``path`` on this server's public address (``CREDITDESK_PUBLIC_URL``)."""
    return settings.public_url.rstrip("/") + path


def provider_settings() -> ProviderSettings:
    """The provider settings from the environment, carrying the OAuth callback address."""
    loaded = provider_settings_module.load()
    return loaded.with_redirect_uri(absolute(loaded, OAUTH_CALLBACK))


def qwc_path(integration_id: str) -> str:
    """The API's ``.qwc`` download of a QuickBooks Desktop integration."""
    return f"/api/v1/integrations/{integration_id}/qwc"
