"""Drive the plan: per-endpoint workers that replay from cache, budget, send, price.

Workers pull the next item from their endpoint's stream only when free, so the
plan is never materialised and memory stays flat however many cases there are.
The limiter, not the worker count, decides how many requests are in flight.
Every request (planned samples, judge and embedder calls, embeddings batches)
goes through `Engine.call`: the one place where the cache is read, the budget
reserved and settled, and the answer priced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Protocol, TypeVar

from evals.engine.budget import Budget, worst_case_usd
from evals.engine.conversation import MAX_TOOL_STEPS, follow_up, merge
from evals.engine.request import Request
from evals.engine.response import Response
from evals.engine.transport import Transport
from evals.pricing import audio_cost_usd, cost_usd

if TYPE_CHECKING:
    from evals.store import ResponseCache


@dataclass
class ModelStats:
    """Counters per model, read by the progress display."""

    total: int
    done: int = 0
    errors: int = 0
    cache_hits: int = 0
    in_flight: int = 0
    retries: int = 0
    rate_limited: int = 0
    backoff_s: float = 0.0
    spend_usd: float = 0.0


class Planned(Protocol):
    """What a plan yields: anything that carries a request (the engine reads nothing else)."""

    request: Request


P = TypeVar("P", bound=Planned)


class Engine:
    def __init__(
        self,
        transport: Transport,
        cache: ResponseCache | None = None,
        budget: Budget | None = None,
        stats: dict[str, ModelStats] | None = None,
        replay: bool = True,
    ):
        self.transport = transport
        self.cache = cache
        self.replay = replay  # False (--no-cache): send everything, still cache fresh answers
        self.budget = budget
        self.stats = stats or {}
        self.stop_reason: str | None = None
        self._stopped_endpoints: dict[str, str] = {}

    def _stop_endpoint(self, name: str, reason: str) -> None:
        self._stopped_endpoints.setdefault(name, reason)
        self.stop_reason = self.stop_reason or reason

    async def call(self, request: Request) -> Response | None:
        """Answer one request: from the cache, or sent within the budget and priced.

        None when the budget cannot cover the request's worst case (the run stops).
        """
        if self.replay and self.cache is not None and request.cache_key is not None:
            entry = self.cache.get(request.cache_key)
            if entry is not None:
                return Response.from_cache(entry)
        reserved = 0.0
        if self.budget is not None:
            reserved = worst_case_usd(request)
            if not self.budget.reserve(reserved):
                self.stop_reason = self.stop_reason or "budget"
                return None
        stats = self.stats.get(request.model_id)
        if stats is not None:
            stats.in_flight += 1
        try:
            response = await self._send(request)
        finally:
            if stats is not None:
                stats.in_flight -= 1
        if self.budget is not None:
            self.budget.settle(reserved, response.spend_usd)
        failure = response.failure
        if failure is not None and failure.kind == "quota":
            self._stop_endpoint(
                request.endpoint,
                f"insufficient_quota on endpoint '{request.endpoint}': check the account's "
                "plan and billing, then resume the run",
            )
        if failure is None and request.cache_write and request.cache_key and self.cache:
            self.cache.put(request.cache_key, response.cache_entry())
        return response

    async def _send(self, request: Request) -> Response:
        """Send, follow canned tool results for up to MAX_TOOL_STEPS turns, price."""
        response = last = self._priced(request, await self.transport.send(request))
        body = request.body
        for _ in range(MAX_TOOL_STEPS - 1):
            if request.tool_results is None or not last.tool_calls or last.failure:
                break
            body = follow_up(body, last, request.tool_results)
            last = self._priced(request, await self.transport.send(request, body))
            response = merge(response, last)
        return response

    @staticmethod
    def _priced(request: Request, response: Response) -> Response:
        if response.failure is None:
            if request.kind == "transcription":
                response.cost_usd = audio_cost_usd(response.audio_s, request.price)
            else:
                response.cost_usd = cost_usd(response.usage, request.price)
        return response

    def _count(self, request: Request, response: Response) -> None:
        stats = self.stats.get(request.model_id)
        if stats is None:
            return
        stats.done += 1
        stats.errors += response.failure is not None
        stats.cache_hits += response.cache_hit
        stats.retries += max(response.attempts - 1, 0)
        stats.rate_limited += response.rate_limited
        stats.backoff_s += response.backoff_s
        stats.spend_usd += response.spend_usd or 0.0

    async def _worker(
        self,
        name: str,
        items: Iterator[P],
        on_response: Callable[[P, Response], Awaitable[None]],
    ) -> None:
        for item in items:
            if self.stop_reason == "budget" or name in self._stopped_endpoints:
                return
            response = await self.call(item.request)
            if response is None:
                return
            self._count(item.request, response)
            await on_response(item, response)

    async def run(
        self,
        plans: dict[str, list[Iterator[P]]],
        on_response: Callable[[P, Response], Awaitable[None]],
    ) -> None:
        """Run every plan; `plans` maps endpoint name to the item streams of its models."""
        tasks = []
        for name, streams in plans.items():
            items = chain.from_iterable(streams)
            workers = self.transport.max_concurrency(name)
            tasks += [
                asyncio.create_task(self._worker(name, items, on_response)) for _ in range(workers)
            ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
