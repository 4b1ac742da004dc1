"""POST /embeddings through the same limiter and retry policy as chat requests."""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from typing import Any

import httpx2

from evals.endpoints.client import Endpoint
from evals.endpoints.usage import normalize_usage
from evals.engine.executor import Exchange, with_retries
from evals.engine.limiter import EndpointLimiter
from evals.engine.retry import Failure
from evals.records import Usage


@dataclass(slots=True)
class Embedded:
    vectors: list[list[float]] | None  # one per input text, in order; None on failure
    usage: Usage
    latency_s: float | None
    attempts: int
    failure: Failure | None


def _vector(item: dict[str, Any]) -> list[float]:
    value = item["embedding"]
    if isinstance(value, str):  # encoding_format=base64: little-endian float32
        raw = base64.b64decode(value)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return [float(x) for x in value]


def parse_embeddings(content: bytes, count: int) -> tuple[list[list[float]], Usage]:
    data = json.loads(content)
    try:
        items = sorted(data["data"], key=lambda item: item["index"])
        vectors = [_vector(item) for item in items]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unexpected embeddings response: {exc!r}") from None
    if len(vectors) != count:
        raise ValueError(f"asked for {count} embeddings, got {len(vectors)}")
    return vectors, normalize_usage(data.get("usage"))


async def send_embeddings(
    endpoint: Endpoint,
    limiter: EndpointLimiter,
    model: str,
    texts: list[str],
    dimensions: int | None = None,
) -> Embedded:
    body: dict[str, Any] = {"model": model, "input": texts, "encoding_format": "float"}
    if dimensions is not None:
        body["dimensions"] = dimensions
    estimated = sum(len(text) for text in texts) // 3 + len(texts)

    async def exchange(started: float) -> Exchange:
        response = await endpoint.client.post("/embeddings", body=body, cast_to=httpx2.Response)
        vectors, usage = parse_embeddings(response.content, len(texts))
        return Exchange((vectors, usage), response.headers, usage.prompt_tokens)

    done = await with_retries(endpoint, limiter, max(estimated, 1), exchange)
    if done.exchange is None:
        return Embedded(None, Usage(), None, done.attempts, done.failure)
    vectors, usage = done.exchange.value
    return Embedded(vectors, usage, done.exchange.latency_s, done.attempts, None)
