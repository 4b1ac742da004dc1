"""POST /audio/transcriptions (multipart) with the same limiter and retry policy.

Audio is billed by the minute, so the duration is read from the file itself
(WAV header) before sending: the cost is known even when the server is silent.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

from evals.endpoints.client import Endpoint
from evals.endpoints.wire import parse_transcription
from evals.engine.executor import Exchange, with_retries
from evals.engine.limiter import EndpointLimiter
from evals.engine.response import Response
from evals.records import Usage

TRANSCRIPTION_OPTIONS = ("language", "prompt", "temperature")


def audio_seconds(path: Path) -> float | None:
    """Duration of a WAV file; None for formats we cannot measure without a decoder."""
    try:
        with wave.open(str(path), "rb") as audio:
            return audio.getnframes() / float(audio.getframerate())
    except (wave.Error, EOFError, OSError):
        return None


async def send_transcription(
    endpoint: Endpoint, limiter: EndpointLimiter, body: dict[str, Any]
) -> Response:
    """`body`: {model, file (a path), language?, prompt?, temperature?}."""
    path = Path(body["file"])
    audio = path.read_bytes()
    options = {key: body[key] for key in TRANSCRIPTION_OPTIONS if key in body}

    async def exchange(started: float) -> Exchange:
        raw = await endpoint.client.audio.transcriptions.with_raw_response.create(
            model=body["model"], file=(path.name, audio), response_format="json", **options
        )
        response = raw.http_response
        text = parse_transcription(response.content, response.headers.get("content-type", ""))
        return Exchange(text, response.headers, None)

    done = await with_retries(endpoint, limiter, 1, exchange)
    seconds = audio_seconds(path)
    if done.exchange is None:
        failed = Response.failed(done.failure, done.attempts, done.waited_s, done.rate_limited)
        failed.audio_s = seconds
        return failed
    return Response(
        output=done.exchange.value,
        tool_calls=None,
        finish_reason="stop",
        usage=Usage(),
        latency_s=done.exchange.latency_s,
        attempts=done.attempts,
        backoff_s=done.waited_s,
        rate_limited=done.rate_limited,
        audio_s=seconds,
    )
