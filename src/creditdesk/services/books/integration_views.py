"""What a caller sees of an accounting integration: one row, read by the integrations service
and by the QuickBooks Desktop setup (which the integrations service calls, so this lives
apart from both and neither imports the other back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditdesk.db import models
from creditdesk.domain import memo as rules


@dataclass(frozen=True)
class IntegrationView:
    id: str
    provider: str
    status: str
    region: str | None
    realm_id: str | None
    company_name: str | None
    last_synced_at: datetime | None
    last_error: str | None
    next_sync_at: datetime | None
    created_at: datetime
    authorize_url: str | None = None
    extra: dict[str, Any] | None = None  # provider-specific, e.g. the Web Connector's user


def view(row: models.Integration, authorize_url: str | None = None) -> IntegrationView:
    extra = None
    if row.provider == rules.Source.QUICKBOOKS_DESKTOP.value and row.realm_id:
        extra = {"web_connector": {"username": row.realm_id}}  # web/ adds the .qwc URL
    return IntegrationView(row.id, row.provider, row.status, row.region, row.realm_id,
                           row.company_name, row.last_synced_at, row.last_error,
                           row.next_sync_at, row.created_at, authorize_url, extra)
