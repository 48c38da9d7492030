"""The URL of a portal sign-in link."""

from __future__ import annotations

from fastapi import Request

from creditdesk.config import get_settings


def link_url(request: Request, token: str) -> str:
    """``CREDITDESK_PUBLIC_URL`` when it is set, else the address this request came to."""
    settings = get_settings()
    base = settings.public_url if "public_url" in settings.model_fields_set \
        else str(request.base_url)
    return f"{base.rstrip('/')}/portal/sign-in/{token}"
