"""Drive the plan: per-endpoint workers that skip, replay from cache, budget, send.

Workers pull the next job from their endpoint's stream only when free, so the
plan is never materialised and memory stays flat however many cases there are.
The limiter, not the worker count, decides how many requests are in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from evals.endpoints.client import Endpoint
from evals.engine import estimate
from evals.engine.budget import Budget, worst_case_usd
from evals.engine.conversation import MAX_TOOL_STEPS, follow_up, merge
from evals.engine.embeddings import send_embeddings
from evals.engine.executor import send_chat
from evals.engine.limiter import EndpointLimiter, LimitConfig
from evals.engine.outcome import Outcome
from evals.engine.transcription import audio_seconds, send_transcription
from evals.pricing import Price, audio_cost_usd, cost_usd
from evals.run.plan import Job


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


@dataclass
class EngineHooks:
    """What the run supplies: where results go and what to look up."""

    on_outcome: Callable[[Job, Outcome], Awaitable[None]]
    price_for: Callable[[Job], Price | None]
    cached: Callable[[str], str | None] | None = None  # request hash -> cache entry
    already_done: Callable[[Job], bool] | None = None  # resume: stored without error
    budget: Budget | None = None
    stats: dict[str, ModelStats] = field(default_factory=dict)


class Engine:
    def __init__(
        self, endpoints: dict[str, Endpoint], hooks: EngineHooks, concurrency_cap: int | None = None
    ):
        self.endpoints = endpoints
        self.hooks = hooks
        # Rate limits belong to an account, not to a name in the profile: endpoints with
        # the same URL and key share one limiter.
        shared: dict[tuple[str, str | None], EndpointLimiter] = {}
        self.limiters = {}
        for name, endpoint in endpoints.items():
            account = (endpoint.base_url, endpoint.spec.api_key_env)
            if account not in shared:
                shared[account] = _limiter_for(endpoint, concurrency_cap)
            self.limiters[name] = shared[account]
        self.stop_reason: str | None = None
        self._stopped_endpoints: dict[str, str] = {}

    def _stop_endpoint(self, name: str, reason: str) -> None:
        self._stopped_endpoints.setdefault(name, reason)
        self.stop_reason = self.stop_reason or reason

    def _replay(self, job: Job) -> Outcome | None:
        if self.hooks.cached is None:
            return None
        entry = self.hooks.cached(job.request_hash)
        return Outcome.from_cache(entry) if entry is not None else None

    async def _finish(self, job: Job, outcome: Outcome) -> None:
        stats = self.hooks.stats.get(job.model.id)
        if stats is not None:
            stats.done += 1
            stats.errors += outcome.failure is not None
            stats.cache_hits += outcome.cache_hit
            stats.retries += max(outcome.attempts - 1, 0)
            stats.rate_limited += outcome.rate_limited
            stats.backoff_s += outcome.backoff_s
            stats.spend_usd += outcome.spend_usd or 0.0
        await self.hooks.on_outcome(job, outcome)

    async def _send(self, name: str, job: Job) -> Outcome | None:
        """Send one job, within the budget; None when the budget says stop."""
        hooks = self.hooks
        price = hooks.price_for(job)
        reserved = 0.0
        if hooks.budget is not None:
            steps = MAX_TOOL_STEPS if job.tool_results is not None else 1
            reserved = worst_case_usd(job.body, price) * steps
            if not hooks.budget.reserve(reserved):
                self.stop_reason = self.stop_reason or "budget"
                return None
        stats = hooks.stats.get(job.model.id)
        if stats is not None:
            stats.in_flight += 1
        try:
            if job.kind == "transcription":
                return await self._transcribe(name, job, price, reserved)
            outcome = last = await self.request(name, job.body, price, job.stream)
            body = job.body
            for _ in range(MAX_TOOL_STEPS - 1):
                if job.tool_results is None or not last.tool_calls or last.failure:
                    break
                body = follow_up(body, last, job.tool_results)
                last = await self.request(name, body, price, job.stream)
                outcome = merge(outcome, last)
        finally:
            if stats is not None:
                stats.in_flight -= 1
        if hooks.budget is not None:
            hooks.budget.settle(reserved, outcome.spend_usd)
        if outcome.failure is not None and outcome.failure.kind == "quota":
            self._stop_endpoint(
                name,
                f"insufficient_quota on endpoint '{name}': check the account's plan "
                "and billing, then resume the run",
            )
        return outcome

    async def _transcribe(
        self, name: str, job: Job, price: Price | None, reserved: float
    ) -> Outcome:
        outcome = await send_transcription(self.endpoints[name], self.limiters[name], job.body)
        outcome.audio_s = audio_seconds(Path(job.body["file"]))
        if outcome.failure is None:
            outcome.cost_usd = audio_cost_usd(outcome.audio_s, price)
        if self.hooks.budget is not None:
            self.hooks.budget.settle(reserved, outcome.spend_usd)
        return outcome

    async def embed(self, name: str, model: str, texts: list[str], dimensions: int | None):
        """One embeddings request on endpoint `name`, paced and retried like any other."""
        return await send_embeddings(
            self.endpoints[name], self.limiters[name], model, texts, dimensions
        )

    async def request(self, name: str, body: dict, price: Price | None, stream: bool) -> Outcome:
        """One chat request (with retries) on endpoint `name`, priced."""
        outcome = await send_chat(
            self.endpoints[name], self.limiters[name], body, estimate.total_tokens(body), stream
        )
        if outcome.failure is None:
            outcome.cost_usd = cost_usd(outcome.usage, price)
        return outcome

    async def _worker(self, name: str, jobs: Iterator[Job]) -> None:
        done = self.hooks.already_done
        for job in jobs:
            if self.stop_reason == "budget" or name in self._stopped_endpoints:
                return
            if done is not None and done(job):
                continue
            outcome = self._replay(job) or await self._send(name, job)
            if outcome is None:
                return
            await self._finish(job, outcome)

    async def run(self, plans: dict[str, list[Iterator[Job]]]) -> None:
        """Run every plan; `plans` maps endpoint name to the job streams of its models."""
        tasks = []
        for name, streams in plans.items():
            jobs = chain.from_iterable(streams)
            workers = self.limiters[name].config.max_concurrency
            tasks += [asyncio.create_task(self._worker(name, jobs)) for _ in range(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _limiter_for(endpoint: Endpoint, cap: int | None) -> EndpointLimiter:
    spec = endpoint.spec
    concurrency = min(spec.max_concurrency, cap) if cap else spec.max_concurrency
    return EndpointLimiter(
        LimitConfig(max_concurrency=concurrency, rpm=spec.rpm, tpm=spec.tpm, adaptive=spec.adaptive)
    )
