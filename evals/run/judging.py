"""The judge and embedder that model-graded graders call, backed by the engine.

Graders know nothing of HTTP: they get two async callables. Calls go through
the same limiter, retries and response cache as the models under test, and
their cost is booked to the result as grader cost, never as the model's cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evals.engine.embeddings import embeddings_body
from evals.engine.request import Request
from evals.engine.response import Response
from evals.graders.base import Embedder, Judge, JudgeReply
from evals.run.kinds import request_kind
from evals.run.plan import build_body, request_hash

if TYPE_CHECKING:
    from evals.config.runner import EmbedderSpec, ModelSpec
    from evals.engine.scheduler import Engine
    from evals.pricing import PriceBook

JUDGE_PARAMS = {"temperature": 0, "max_tokens": 512}
BUDGET_SPENT = "judge request not sent: the --max-cost budget is spent"


@dataclass
class CostMeter:
    """Grader cost of one result; unknown (None) once any call had no known price."""

    total: float | None = 0.0
    deferred: bool = False  # a judge call went into a batch: the verdict waits for it

    def add(self, cost: float | None) -> None:
        self.total = None if cost is None or self.total is None else self.total + cost


class GraderServices:
    """The judge and embedder of a run, as requests to the engine (priced, budgeted, cached)."""

    def __init__(
        self,
        engine: Engine,
        prices: PriceBook,
        judge: ModelSpec | None,
        embedder: EmbedderSpec | None,
        cache_keys: dict[str, str],
    ):
        self.engine = engine
        self.prices = prices
        self.judge_model = judge
        self.embedder = embedder
        self.cache_keys = cache_keys
        # `--judge-mode batch`: takes each judge request the cache cannot answer (into the
        # judge batch); the grade then waits for the batch instead of calling online.
        self.defer: Callable[[Request], None] | None = None

    async def _call(self, meter: CostMeter, request: Request) -> Response | None:
        response = await self.engine.call(request)
        if response is not None:
            meter.add(response.cost_usd)
        return response

    async def _judge(
        self, meter: CostMeter, messages: list[dict[str, Any]], response_format: dict | None
    ) -> JudgeReply:
        model = self.judge_model
        assert model is not None
        params = JUDGE_PARAMS
        if response_format is not None:
            params = {**JUDGE_PARAMS, "response_format": response_format}
        body, _ = build_body(model, params, messages)
        kind = request_kind(model)
        request = Request(
            model.endpoint,
            body,
            kind=kind,
            price=self.prices.for_model(model),
            cache_key=request_hash(self.cache_keys[model.endpoint], body, 0, api=kind),
            cache_write=True,
        )
        if self.defer is not None and not self._cached(request):
            self.defer(request)
            meter.deferred = True
            return JudgeReply(None, "judge call waiting in a batch")
        response = await self._call(meter, request)
        if response is None:
            return JudgeReply(None, BUDGET_SPENT)
        if response.failure is not None:
            return JudgeReply(None, f"judge request failed: {response.error}")
        return JudgeReply(response.output)

    def _cached(self, request: Request) -> bool:
        cache = self.engine.cache
        return bool(cache is not None and request.cache_key and cache.get(request.cache_key))

    async def _embed(self, meter: CostMeter, texts: list[str]) -> list[list[float]]:
        spec = self.embedder
        assert spec is not None
        body = embeddings_body(spec.api_model, texts, spec.dimensions)
        request = Request(
            spec.endpoint,
            body,
            kind="embeddings",
            price=self.prices.for_model(spec),
            cache_key=request_hash(self.cache_keys[spec.endpoint], body, 0),
            cache_write=True,
        )
        response = await self._call(meter, request)
        if response is None:
            raise RuntimeError("embeddings request not sent: the --max-cost budget is spent")
        if response.vectors is None:
            message = response.failure.message if response.failure else "no vectors"
            raise RuntimeError(f"embeddings request failed: {message}")
        return response.vectors

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
