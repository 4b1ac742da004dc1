"""Send one chat request to one endpoint: pace it, retry it per the policy, time it.

Every attempt passes through the endpoint's limiter (so retries count against
RPM/TPM too) and reports back what the server said about its limits.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from evals.endpoints.client import Endpoint
from evals.endpoints.responses_wire import parse_responses, read_responses_stream
from evals.endpoints.wire import ChatAnswer, parse_chat, read_stream
from evals.engine.limiter import EndpointLimiter
from evals.engine.response import Response
from evals.engine.retry import Failure, backoff_s, classify
from evals.records import Usage

STREAM_OPTIONS = {"include_usage": True}


async def _attempt(
    endpoint: Endpoint, body: dict[str, Any], stream: bool, started: float, api: str = "chat"
):
    """One HTTP exchange; returns (answer, response headers).

    The plain path posts the body as it is and reads the JSON itself: the SDK's
    typed request transform and response models cost ~0.5 ms of CPU a request
    (a third of its whole cost), and our bodies are plain JSON already. Status
    errors, timeouts and connection faults still come from the SDK as usual.
    `api` is "chat" (/chat/completions) or "responses" (/responses).
    """
    client = endpoint.client
    kind = endpoint.spec.kind
    if api == "responses":
        if not stream:
            response = await client.post("/responses", body=body, cast_to=httpx2.Response)
            return parse_responses(response.content), response.headers
        known, extra = _split_responses_params(body)
        create = client.responses.with_raw_response.create
        raw = await create(**known, stream=True, extra_body=extra or None)
        return await read_responses_stream(raw.parse(), started), raw.headers
    if not stream:
        response = await client.post("/chat/completions", body=body, cast_to=httpx2.Response)
        return parse_chat(response.content, kind), response.headers
    create = client.chat.completions.with_raw_response.create
    raw = await create(**body, stream=True, stream_options=STREAM_OPTIONS)
    return await read_stream(raw.parse(), started, kind), raw.headers


@functools.cache
def _responses_params() -> frozenset[str]:
    """The keyword parameters of the SDK's `responses.create` (others go in extra_body)."""
    from openai.resources.responses import AsyncResponses

    names = inspect.signature(AsyncResponses.create).parameters
    return frozenset(names) - {
        "self",
        "stream",
        "timeout",
        "extra_headers",
        "extra_query",
        "extra_body",
    }


def _split_responses_params(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    known = _responses_params()
    return (
        {k: v for k, v in body.items() if k in known},
        {k: v for k, v in body.items() if k not in known},
    )


def _tokens_per_s(answer: ChatAnswer, latency_s: float) -> float | None:
    """Decode speed after the first token (streaming only: it needs the TTFT)."""
    completion = answer.usage.completion_tokens
    if answer.ttft_s is None or not completion or latency_s <= answer.ttft_s:
        return None
    return completion / (latency_s - answer.ttft_s)


@dataclass(slots=True)
class Exchange:
    """The result of one successful HTTP exchange, whatever the endpoint."""

    value: Any
    headers: Any
    used_tokens: int | None
    latency_s: float = 0.0


@dataclass(slots=True)
class Attempts:
    """How a request went: its exchange (None on final failure) and what it took."""

    exchange: Exchange | None
    attempts: int
    failure: Failure | None
    waited_s: float
    rate_limited: int


async def with_retries(
    endpoint: Endpoint,
    limiter: EndpointLimiter,
    estimated_tokens: int,
    exchange: Callable[[float], Awaitable[Exchange]],
) -> Attempts:
    """Run `exchange` until it succeeds or the policy gives up; never raises for faults.

    Every attempt passes the limiter, tells it what the server said, and a 429's
    Retry-After pauses the whole endpoint, not just this request.
    """
    spec = endpoint.spec
    deadline = time.monotonic() + spec.deadline_s if spec.deadline_s else None
    waited = 0.0
    rate_limited = 0
    attempt = 0
    while True:
        attempt += 1
        ticket = await limiter.acquire(estimated_tokens)
        started = time.perf_counter()
        try:
            result = await exchange(started)
        except asyncio.CancelledError:
            limiter.release(ticket, used_tokens=None, headers=None, rate_limited=False)
            raise
        except Exception as exc:  # classified below; nothing escapes the engine
            failure = classify(exc)
        else:
            result.latency_s = time.perf_counter() - started
            limiter.release(
                ticket, used_tokens=result.used_tokens, headers=result.headers, rate_limited=False
            )
            return Attempts(result, attempt, None, waited, rate_limited)
        is_429 = failure.kind == "rate_limit"
        rate_limited += is_429
        limiter.release(ticket, used_tokens=0, headers=failure.headers, rate_limited=is_429)
        delay = backoff_s(attempt, failure)
        out_of_time = deadline is not None and time.monotonic() + delay > deadline
        if not failure.retryable or attempt >= spec.max_attempts or out_of_time:
            if out_of_time and failure.retryable and attempt < spec.max_attempts:
                failure = Failure(
                    "deadline",
                    False,
                    f"deadline of {spec.deadline_s} s passed; last error: {failure.message}",
                    failure.status,
                )
            return Attempts(None, attempt, failure, waited, rate_limited)
        waited += delay
        await asyncio.sleep(delay)


async def send_chat(
    endpoint: Endpoint,
    limiter: EndpointLimiter,
    body: dict[str, Any],
    estimated_tokens: int,
    stream: bool = False,
    api: str = "chat",
) -> Response:
    """POST /chat/completions (or /responses) with retries; never raises for endpoint faults."""

    async def exchange(started: float) -> Exchange:
        answer, headers = await _attempt(endpoint, body, stream, started, api)
        return Exchange(answer, headers, _used_tokens(answer.usage))

    done = await with_retries(endpoint, limiter, estimated_tokens, exchange)
    if done.exchange is None:
        return Response.failed(done.failure, done.attempts, done.waited_s, done.rate_limited)
    answer: ChatAnswer = done.exchange.value
    latency = done.exchange.latency_s
    return Response(
        output=answer.output,
        tool_calls=answer.tool_calls,
        finish_reason=answer.finish_reason,
        usage=answer.usage,
        latency_s=latency,
        attempts=done.attempts,
        backoff_s=done.waited_s,
        ttft_s=answer.ttft_s,
        tokens_per_s=_tokens_per_s(answer, latency),
        rate_limited=done.rate_limited,
        logprobs=answer.logprobs,
    )


def _used_tokens(usage: Usage) -> int | None:
    if usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    return usage.prompt_tokens + usage.completion_tokens
