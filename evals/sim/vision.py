"""Images in chat content parts: what the sim "sees" and how many tokens an image costs.

The sim cannot look at pixels, so it reads a PNG's caption from a ``tEXt`` (or uncompressed
``iTXt``) chunk with keyword ``Description`` (see ``suites/data/media/make_fixtures.py``).

Accepted parts: ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}`` (and the
Responses-style ``{"type": "input_image", "image_url": "..."}``). ``data:`` URLs with base64
are decoded; ``http(s)`` URLs are never fetched, so the sim answers "I cannot see that image".

Token rule (OpenAI's documented one): ``detail: low`` costs 85. ``high``, ``auto`` (and
``original``) cost ``85 + 170 * tiles``: scale to fit 2048x2048 (never up), then scale down so
the shortest side is at most 768, then count 512-px tiles, ``ceil(w/512) * ceil(h/512)``.
An image whose size is unknown (a URL, a non-PNG) counts as one tile.

Answer rule: when the last user message holds images, the answer is their captions joined
with ``"; "`` (``I cannot see that image`` for one without a caption), whatever the text asks.
A wrong answer (accuracy hash over the question and the captions) swaps one colour/shape word
(red->blue->green->yellow->red, square->circle->triangle->square), else reverses word order.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from dataclasses import dataclass
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGE_PART_TYPES = ("image_url", "input_image")  # content part types holding an image
CANNOT_SEE = "I cannot see that image"
_SWAPS = {
    "red": "blue",
    "blue": "green",
    "green": "yellow",
    "yellow": "red",
    "square": "circle",
    "circle": "triangle",
    "triangle": "square",
}


@dataclass(frozen=True, slots=True)
class Image:
    """What the sim knows about one image part."""

    detail: str
    width: int | None
    height: int | None
    caption: str | None


def png_info(data: bytes) -> tuple[int, int, str | None] | None:
    """(width, height, Description caption) of a PNG, or None when it is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 33:
        return None
    width, height = struct.unpack(">II", data[16:24])
    caption = None
    pos = 8
    while pos + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if tag == b"tEXt" and chunk.startswith(b"Description\0"):
            caption = chunk[len(b"Description\0") :].decode("latin-1")
        elif tag == b"iTXt" and chunk.startswith(b"Description\0\0"):
            # keyword\0 compression-flag(0) method\0? lang\0 translated\0 text
            rest = chunk[len(b"Description\0\0") + 1 :]
            parts = rest.split(b"\0", 2)
            if len(parts) == 3:
                caption = parts[2].decode("utf-8", "replace")
        elif tag in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return width, height, caption


def decode_data_url(url: str) -> bytes | None:
    """Bytes of a base64 ``data:`` URL, or None."""
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None


def image_of(part: dict[str, Any]) -> Image:
    """Parse one ``image_url``/``input_image`` content part."""
    spec = part.get("image_url")
    url, detail = "", "auto"
    if isinstance(spec, dict):
        url = spec.get("url") if isinstance(spec.get("url"), str) else ""
        detail = spec.get("detail") if isinstance(spec.get("detail"), str) else "auto"
    elif isinstance(spec, str):
        url = spec
        detail = part.get("detail") if isinstance(part.get("detail"), str) else "auto"
    info = png_info(decode_data_url(url) or b"") if url.startswith("data:") else None
    if info is None:
        return Image(detail, None, None, None)
    return Image(detail, info[0], info[1], info[2])


def tiles(width: int, height: int) -> int:
    """512-px tiles after fitting in 2048x2048 and scaling the shortest side down to 768."""
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    return math.ceil(round(w, 6) / 512) * math.ceil(round(h, 6) / 512)


def image_tokens(image: Image) -> int:
    """Prompt tokens for one image (rule in the module docstring)."""
    if image.detail == "low":
        return 85
    if image.width is None or image.height is None or image.width < 1 or image.height < 1:
        return 85 + 170
    return 85 + 170 * tiles(image.width, image.height)


def images_in(message: Any) -> list[Image]:
    """Every image part of one chat message."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [
        image_of(p) for p in content if isinstance(p, dict) and p.get("type") in IMAGE_PART_TYPES
    ]


def describe(images: list[Image]) -> tuple[str, str, bool]:
    """(right answer, wrong answer, checkable) for the images of the last user message."""
    captions = [img.caption or CANNOT_SEE for img in images]
    right = "; ".join(captions)
    seen = [i for i, img in enumerate(images) if img.caption]
    if not seen:
        return right, right, False
    wrong = list(captions)
    wrong[seen[0]] = _mistake(captions[seen[0]])
    return right, "; ".join(wrong), True


def _mistake(caption: str) -> str:
    """One caption seen wrongly: a colour/shape word swapped, else the word order reversed."""
    parts = caption.split(" ")
    for i, word in enumerate(parts):
        swap = _SWAPS.get(word.lower())
        if swap:
            parts[i] = swap
            return " ".join(parts)
    reversed_text = " ".join(reversed(parts))
    return reversed_text if reversed_text != caption else caption + " (blurred)"
