"""A small ``multipart/form-data`` parser (stdlib only) for ``/v1/audio/transcriptions``.

Written by hand rather than with ``email`` because the ``email`` parser re-encodes binary
payloads and line endings; here part bodies come back byte-for-byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')


class MultipartError(ValueError):
    """The body is not valid multipart/form-data (the message says why)."""


@dataclass(frozen=True, slots=True)
class Part:
    """One form field: its name, optional filename and content type, and raw bytes."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def header_params(value: str) -> dict[str, str]:
    """``name="x"; filename="y"`` parameters of a header value (keys lower-cased)."""
    return {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _PARAM.finditer(";" + value.split(";", 1)[1] if ";" in value else "")
    }


def boundary_of(content_type: str) -> str:
    """The boundary of a ``multipart/form-data`` Content-Type, or raise MultipartError."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError(
            f"Invalid Content-Type header ({content_type or 'none'}), expected multipart/form-data."
        )
    boundary = header_params(content_type).get("boundary")
    if not boundary:
        raise MultipartError("multipart/form-data Content-Type without a boundary.")
    return boundary


def parse(body: bytes, content_type: str) -> dict[str, Part]:
    """Form fields by name (the first one wins when a name repeats)."""
    delimiter = b"\r\n--" + boundary_of(content_type).encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 3:
        raise MultipartError("multipart body has no parts (boundary not found).")
    fields: dict[str, Part] = {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise MultipartError("multipart part without a blank line after its headers.")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        params = header_params(headers.get("content-disposition", ""))
        name = params.get("name")
        if name is None:
            raise MultipartError("multipart part without a name in Content-Disposition.")
        fields.setdefault(
            name, Part(name, data, params.get("filename"), headers.get("content-type"))
        )
    return fields
