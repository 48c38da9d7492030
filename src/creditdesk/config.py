"""Settings from the environment (API.md: CREDITDESK_DATABASE_URL, CREDITDESK_SECRET_KEY)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./creditdesk.db"
SECRET_FILE = Path(".creditdesk-secret")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITDESK_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    public_url: str = "http://127.0.0.1:8000"

    def resolved_secret_key(self) -> str:
        """The configured key, else one generated on first run and kept next to the database."""
        if self.secret_key:
            return self.secret_key
        if SECRET_FILE.exists():
            return SECRET_FILE.read_text().strip()
        key = secrets.token_urlsafe(48)
        SECRET_FILE.write_text(key + "\n")
        os.chmod(SECRET_FILE, 0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
