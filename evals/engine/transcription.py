"""POST /audio/transcriptions (multipart) with the same limiter and retry policy.

Audio is billed by the minute, so the duration is read from the file itself
(WAV header) before sending: the cost is known even when the server is silent.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

from evals.endpoints.client import Endpoint
from evals.engine.executor import Exchange, with_retries
from evals.engine.limiter import EndpointLimiter
from evals.engine.outcome import Outcome
from evals.records import Usage

TRANSCRIPTION_OPTIONS = ("language", "prompt", "temperature")


def audio_seconds(path: Path) -> float | None:
    """Duration of a WAV file; None for formats we cannot measure without a decoder."""
    try:
        with wave.open(str(path), "rb") as audio:
            return audio.getnframes() / float(audio.getframerate())
    except (wave.Error, EOFError, OSError):
        return None


def _text_from(content: bytes, content_type: str) -> str:
    if "json" not in content_type:
        return content.decode("utf-8", errors="replace").strip()
    data = json.loads(content)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError("transcription response has no text")
    return data["text"]


async def send_transcription(
    endpoint: Endpoint, limiter: EndpointLimiter, body: dict[str, Any]
) -> Outcome:
    """`body`: {model, file (a path), language?, prompt?, temperature?}."""
    path = Path(body["file"])
    audio = path.read_bytes()
    options = {key: body[key] for key in TRANSCRIPTION_OPTIONS if key in body}

    async def exchange(started: float) -> Exchange:
        raw = await endpoint.client.audio.transcriptions.with_raw_response.create(
            model=body["model"], file=(path.name, audio), response_format="json", **options
        )
        response = raw.http_response
        text = _text_from(response.content, response.headers.get("content-type", ""))
        return Exchange(text, response.headers, None)

    done = await with_retries(endpoint, limiter, 1, exchange)
    if done.exchange is None:
        return Outcome(None, None, None, Usage(), None, done.attempts, done.failure, done.waited_s)
    return Outcome(
        output=done.exchange.value,
        tool_calls=None,
        finish_reason="stop",
        usage=Usage(),
        latency_s=done.exchange.latency_s,
        attempts=done.attempts,
        backoff_s=done.waited_s,
        rate_limited=done.rate_limited,
    )
