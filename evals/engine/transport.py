"""How requests reach a provider. Online today: one HTTP exchange per request.

A transport takes a `Request` and returns its unpriced `Response`, retries
included; it never raises for an endpoint's faults. The engine around it caches,
budgets, prices and follows tool calls the same way whatever the transport (a
batch transport, later, submits files instead).
"""

from __future__ import annotations

from typing import Protocol

from evals.endpoints.client import Endpoint
from evals.engine import estimate
from evals.engine.embeddings import send_embeddings
from evals.engine.executor import send_chat
from evals.engine.limiter import EndpointLimiter, LimitConfig
from evals.engine.request import Request
from evals.engine.response import Response
from evals.engine.transcription import send_transcription


class Transport(Protocol):
    def max_concurrency(self, endpoint: str) -> int:
        """How many requests the engine should keep in flight on this endpoint."""
        ...

    async def send(self, request: Request, body: dict | None = None) -> Response:
        """Send `request` (with `body` instead of its own, for a follow-up turn)."""
        ...


class OnlineTransport:
    """One AsyncOpenAI client per endpoint, paced by a limiter per account."""

    def __init__(self, endpoints: dict[str, Endpoint], concurrency_cap: int | None = None):
        self.endpoints = endpoints
        # Rate limits belong to an account, not to a name in the profile: endpoints with
        # the same URL and key share one limiter.
        shared: dict[tuple[str, str | None], EndpointLimiter] = {}
        self.limiters: dict[str, EndpointLimiter] = {}
        for name, endpoint in endpoints.items():
            account = (endpoint.base_url, endpoint.spec.api_key_env)
            if account not in shared:
                shared[account] = _limiter_for(endpoint, concurrency_cap)
            self.limiters[name] = shared[account]

    def max_concurrency(self, endpoint: str) -> int:
        return self.limiters[endpoint].config.max_concurrency

    async def send(self, request: Request, body: dict | None = None) -> Response:
        endpoint, limiter = self.endpoints[request.endpoint], self.limiters[request.endpoint]
        body = request.body if body is None else body
        if request.kind == "transcription":
            return await send_transcription(endpoint, limiter, body)
        if request.kind == "embeddings":
            return await send_embeddings(endpoint, limiter, body)
        api = "responses" if request.kind == "responses" else "chat"
        tokens = estimate.total_tokens(body)
        return await send_chat(endpoint, limiter, body, tokens, request.stream, api)


def _limiter_for(endpoint: Endpoint, cap: int | None) -> EndpointLimiter:
    spec = endpoint.spec
    concurrency = min(spec.max_concurrency, cap) if cap else spec.max_concurrency
    return EndpointLimiter(
        LimitConfig(max_concurrency=concurrency, rpm=spec.rpm, tpm=spec.tpm, adaptive=spec.adaptive)
    )
