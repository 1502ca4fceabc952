"""Secrets at rest (the sources' tokens): Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from the setting
`OTKLIK_SECRETS_KEY` (default: SECRET_KEY). Changing that key makes stored tokens unreadable: enter them again."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    secret = getattr(settings, "OTKLIK_SECRETS_KEY", "") or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(("otklik-secrets:" + secret).encode()).digest())
    return Fernet(key)


def encrypt(value: str) -> str:
    """The encrypted form of `value` ("" stays "")."""
    if not value:
        return ""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """The clear value; "" for "" or for a value encrypted with another key (unreadable: to be entered again)."""
    if not value:
        return ""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        return ""
