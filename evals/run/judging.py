"""The judge and embedder that model-graded graders call, backed by the engine.

Graders know nothing of HTTP: they get two async callables. Calls go through
the same limiter, retries and response cache as the models under test, and
their cost is booked to the result as grader cost, never as the model's cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evals.engine.outcome import Outcome
from evals.graders.base import Embedder, Judge, JudgeReply
from evals.run.plan import build_body, request_hash

if TYPE_CHECKING:
    from evals.config.runner import EmbedderSpec, ModelSpec
    from evals.engine.budget import Budget
    from evals.engine.scheduler import Engine
    from evals.run.collect import PriceBook
    from evals.store import Store

JUDGE_PARAMS = {"temperature": 0, "max_tokens": 512}


@dataclass
class CostMeter:
    """Grader cost of one result; unknown (None) once any call had no known price."""

    total: float | None = 0.0

    def add(self, cost: float | None) -> None:
        self.total = None if cost is None or self.total is None else self.total + cost


class GraderServices:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        prices: PriceBook,
        judge: ModelSpec | None,
        embedder: EmbedderSpec | None,
        cache_keys: dict[str, str],
        budget: Budget | None = None,
    ):
        self.engine = engine
        self.store = store
        self.prices = prices
        self.judge_model = judge
        self.embedder = embedder
        self.cache_keys = cache_keys
        self.budget = budget

    def _book(self, meter: CostMeter, outcome_cost: float | None, fresh: bool) -> None:
        meter.add(outcome_cost)
        if fresh and self.budget is not None:
            self.budget.settle(0.0, outcome_cost)

    async def _judge(
        self, meter: CostMeter, messages: list[dict[str, Any]], response_format: dict | None
    ) -> JudgeReply:
        model = self.judge_model
        assert model is not None
        body, _ = build_body(model, JUDGE_PARAMS, messages)
        if response_format is not None:
            body["response_format"] = response_format
        key = request_hash(self.cache_keys[model.endpoint], body, 0)
        entry = self.store.cached_response(key)
        if entry is not None:
            outcome = Outcome.from_cache(entry)
        else:
            price = self.prices.for_model(model)
            outcome = await self.engine.request(model.endpoint, body, price, stream=False)
            if outcome.failure is None:
                self.store.put_cache(key, outcome.cache_entry())
        self._book(meter, outcome.cost_usd, not outcome.cache_hit)
        if outcome.failure is not None:
            return JudgeReply(None, f"judge request failed: {outcome.error}")
        return JudgeReply(outcome.output)

    async def _embed(self, meter: CostMeter, texts: list[str]) -> list[list[float]]:
        from evals.pricing import cost_usd

        spec = self.embedder
        assert spec is not None
        identity = {"model": spec.api_model, "input": texts, "dimensions": spec.dimensions}
        key = request_hash(self.cache_keys[spec.endpoint], identity, 0)
        entry = self.store.cached_response(key)
        if entry is not None:
            cached = json.loads(entry)
            meter.add(cached["cost_usd"])
            return cached["vectors"]
        done = await self.engine.embed(spec.endpoint, spec.api_model, texts, spec.dimensions)
        if done.vectors is None:
            raise RuntimeError(f"embeddings request failed: {done.failure.message}")
        cost = cost_usd(done.usage, self.prices.for_model(spec))
        self.store.put_cache(key, json.dumps({"vectors": done.vectors, "cost_usd": cost}))
        self._book(meter, cost, True)
        return done.vectors

    def bind(self) -> tuple[Judge | None, Embedder | None, CostMeter]:
        """Callables for one result's graders, with a meter of what they cost."""
        meter = CostMeter()

        async def judge(messages: list[dict[str, Any]], response_format: dict | None) -> JudgeReply:
            return await self._judge(meter, messages, response_format)

        async def embed(texts: list[str]) -> list[list[float]]:
            return await self._embed(meter, texts)

        return (
            judge if self.judge_model is not None else None,
            embed if self.embedder is not None else None,
            meter,
        )
