"""POST /embeddings through the same limiter and retry policy as chat requests."""

from __future__ import annotations

from typing import Any

import httpx2

from evals.endpoints.client import Endpoint
from evals.endpoints.wire import parse_embeddings
from evals.engine.executor import Exchange, with_retries
from evals.engine.limiter import EndpointLimiter
from evals.engine.response import Response


def embeddings_body(model: str, texts: list[str], dimensions: int | None) -> dict[str, Any]:
    """The request body; `dimensions` only when a truncation is asked for."""
    body: dict[str, Any] = {"model": model, "input": texts}
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


def estimated_tokens(body: dict[str, Any]) -> int:
    texts = body["input"]
    return max(sum(len(text) for text in texts) // 3 + len(texts), 1)


async def send_embeddings(
    endpoint: Endpoint, limiter: EndpointLimiter, body: dict[str, Any]
) -> Response:
    """`body`: {model, input: [texts], dimensions?}; vectors come back in input order."""
    texts = body["input"]
    wire = {**body, "encoding_format": "float"}

    async def exchange(started: float) -> Exchange:
        response = await endpoint.client.post("/embeddings", body=wire, cast_to=httpx2.Response)
        vectors, usage = parse_embeddings(response.content, len(texts))
        return Exchange((vectors, usage), response.headers, usage.prompt_tokens)

    done = await with_retries(endpoint, limiter, estimated_tokens(body), exchange)
    if done.exchange is None:
        return Response.failed(done.failure, done.attempts, done.waited_s, done.rate_limited)
    vectors, usage = done.exchange.value
    return Response(
        output=None,
        tool_calls=None,
        finish_reason=None,
        usage=usage,
        latency_s=done.exchange.latency_s,
        attempts=done.attempts,
        backoff_s=done.waited_s,
        rate_limited=done.rate_limited,
        vectors=vectors,
    )
