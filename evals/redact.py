"""Keep API keys out of everything we write: store, reports, logs, error messages."""

from __future__ import annotations

import re

_KEY_LIKE = re.compile(r"\b(sk|gsk|fw|pk|rk|tgp|xai)[-_][A-Za-z0-9_\-*]{6,}")
# the password of a URL (postgresql://user:password@host/db)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]+@")
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a key read from the environment so that any echo of it is scrubbed."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    text = _URL_PASSWORD.sub(r"\1:[REDACTED]@", text)
    return _KEY_LIKE.sub("[REDACTED]", text)
