"""Accounting credentials encrypted at rest (Y7): Fernet with a key derived by HKDF from
CREDITDESK_SECRET_KEY, so the database alone never reveals a token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from creditdesk.config import get_settings

_INFO = b"creditdesk/integration-credentials/v1"


class VaultError(Exception):
    """Stored credentials can't be decrypted (the secret key changed?)."""


@lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _current() -> Fernet:
    # The environment first: settings are cached for the process, the key may be set later.
    return _fernet(os.environ.get("CREDITDESK_SECRET_KEY")
                   or get_settings().resolved_secret_key())


@lru_cache(maxsize=8)
def _fingerprint_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"creditdesk/fingerprint/v1").derive(secret.encode())


def fingerprint(data: bytes) -> str:
    """A keyed hash (HMAC-SHA256): equal inputs compare equal, but a stored fingerprint of
    a request carrying passwords can't be checked against guesses without the secret key."""
    key = _fingerprint_key(os.environ.get("CREDITDESK_SECRET_KEY")
                           or get_settings().resolved_secret_key())
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal(data: dict[str, Any], *, secret: str | None = None) -> str:
    f = _fernet(secret) if secret else _current()
    return f.encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def open_sealed(token: str | None, *, secret: str | None = None) -> dict[str, Any]:
    if not token:
        return {}
    f = _fernet(secret) if secret else _current()
    try:
        opened: dict[str, Any] = json.loads(f.decrypt(token.encode()))  # what seal() was given
        return opened
    except InvalidToken:
        raise VaultError("stored credentials can't be decrypted with the current "
                         "CREDITDESK_SECRET_KEY; reconnect the integration") from None
