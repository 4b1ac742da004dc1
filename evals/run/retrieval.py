"""Embeddings suites: embed a corpus and queries, rank by cosine, score the ranking.

One result per query and per (model, dimensions): recall@k for each k asked,
the reciprocal rank of the first relevant document, and a pass when a relevant
document is in the top k (the first k of the suite's list). The corpus's own
embedding cost is stored as a row of role `corpus`, so tokens and cost are
complete while accuracy counts only queries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.engine.embeddings import embeddings_body
from evals.engine.request import Request
from evals.errors import InputError
from evals.run.plan import request_hash
from evals.store import ResultRecord

if TYPE_CHECKING:
    from evals.config.runner import ModelSpec
    from evals.config.suite import Suite
    from evals.engine.scheduler import Engine
    from evals.pricing import PriceBook
    from evals.store import Store

BATCH = 64


@dataclass(frozen=True)
class Embedded:
    """A list of texts embedded in batches: unit vectors and what the batches took."""

    vectors: Any  # numpy array, one unit row per text
    tokens: int
    latency_s: float
    cost_usd: float | None  # what the answers cost (None: unknown price)
    spend_usd: float  # new money: cache replays are free
    replayed: bool  # every batch came from the cache


class BudgetSpent(Exception):
    """The --max-cost budget cannot cover the next embeddings batch (the run stops)."""


def load_corpus(path: Path) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with path.open(encoding="utf-8") as stream:
        for lineno, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                ids.append(str(doc["id"]))
                texts.append(str(doc["text"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(
                    "a corpus line is a JSON object with `id` and `text`", path, lineno
                ) from None
    if not ids:
        raise InputError("the corpus is empty", path)
    return ids, texts


def variants(suite: Suite) -> list[int | None]:
    return list(suite.dimensions) or [None]


def variant_name(dimensions: int | None) -> str:
    return "native" if dimensions is None else f"dims-{dimensions}"


def rank_metrics(order: list[str], relevant: set[str], ks: list[int]) -> dict[str, Any]:
    """recall@k for each k and the reciprocal rank of the first relevant id."""
    first = next((i for i, doc in enumerate(order, start=1) if doc in relevant), None)
    recalls = {k: len(relevant & set(order[:k])) / len(relevant) for k in ks}
    return {"recall": recalls, "rr": 1.0 / first if first else 0.0, "first": first}


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


class RetrievalRun:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        run_id: str,
        prices: PriceBook,
        cache_keys: dict[str, str] | None = None,
    ):
        self.engine = engine
        self.store = store
        self.run_id = run_id
        self.prices = prices
        self.cache_keys = cache_keys or {}  # endpoint -> cache identity (replay batches)

    async def _embed_all(self, model: ModelSpec, texts: list[str], dims: int | None) -> Embedded:
        import numpy as np

        vectors, usage_tokens, latency, cost = [], 0, 0.0, 0.0
        spent, replayed = 0.0, True
        price = self.prices.for_model(model)
        endpoint_key = self.cache_keys.get(model.endpoint)
        for batch in _batches(texts):
            body = embeddings_body(model.api_model, batch, dims)
            key = None if endpoint_key is None else request_hash(endpoint_key, body, 0)
            request = Request(
                model.endpoint, body, kind="embeddings", price=price, cache_key=key,
                cache_write=key is not None,
            )  # fmt: skip
            done = await self.engine.call(request)
            if done is None:
                raise BudgetSpent
            if done.vectors is None:
                raise RuntimeError(done.failure.message if done.failure else "embedding failed")
            vectors += done.vectors
            usage_tokens += done.usage.prompt_tokens or 0
            latency += done.latency_s or 0.0
            cost = None if done.cost_usd is None or cost is None else cost + done.cost_usd
            spent += done.spend_usd or 0.0
            replayed = replayed and done.cache_hit
        matrix = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit = matrix / np.where(norms == 0, 1, norms)
        return Embedded(unit, usage_tokens, latency, cost, spent, replayed)

    def _record(self, suite: Suite, model: ModelSpec, prompt: str, case_id: str, **fields: Any):
        now = datetime.now(UTC).isoformat(timespec="seconds")
        base = dict(
            run_id=self.run_id,
            suite=suite.name,
            case_id=case_id,
            prompt=prompt,
            model=model.id,
            repeat=0,
            request_hash="",
            request="{}",
            vars="{}",
            expect="null",
            output=None,
            tool_calls=None,
            finish_reason=None,
            prompt_tokens=None,
            cached_tokens=None,
            completion_tokens=None,
            reasoning_tokens=None,
            latency_s=None,
            cost_usd=None,
            error=None,
            error_class=None,
            attempts=1,
            passed=None,
            score=None,
            grades="[]",
            created_at=now,
        )
        base.update(fields)
        record = ResultRecord(**base)
        if record.spend_usd is None:
            record.spend_usd = record.cost_usd
        self.store.add_result(record)

    async def run(self, suite: Suite, model: ModelSpec, dims: int | None) -> int:
        """Embed, rank and store one (suite, model, dimensions); returns queries stored."""
        ids, texts = load_corpus(suite.corpus)
        prompt = variant_name(dims)
        corpus = await self._embed_all(model, texts, dims)
        self._record(
            suite,
            model,
            prompt,
            "(corpus)",
            role="corpus",
            prompt_tokens=corpus.tokens,
            latency_s=corpus.latency_s,
            cost_usd=corpus.cost_usd,
            spend_usd=corpus.spend_usd,
            cache_hit=corpus.replayed,
        )
        cases = list(suite.cases())
        template = suite.prompts["default"]
        queries = [template.render(case.vars)[-1]["content"] for case in cases]
        asked = await self._embed_all(model, queries, dims)
        tokens, cost = asked.tokens, asked.cost_usd
        ks = sorted(suite.k)
        shares = _split(tokens, len(cases))
        for row, case, query, share in zip(asked.vectors, cases, queries, shares, strict=True):
            order = [ids[i] for i in (corpus.vectors @ row).argsort()[::-1]]
            expected = case.expect if isinstance(case.expect, list) else [case.expect]
            metrics = rank_metrics(order, {str(x) for x in expected}, ks)
            hit = metrics["recall"][ks[0]] > 0
            self._record(
                suite,
                model,
                prompt,
                case.id,
                vars=json.dumps(case.vars),
                expect=json.dumps(case.expect),
                request=json.dumps({"model": model.api_model, "input": query, "dimensions": dims}),
                output=json.dumps(order[: ks[-1]]),
                passed=hit,
                score=metrics["recall"][ks[0]],
                grades=json.dumps(_grades(metrics, ks)),
                prompt_tokens=share,
                latency_s=asked.latency_s / len(cases),
                cost_usd=None if cost is None else cost * share / max(tokens, 1),
                spend_usd=asked.spend_usd * share / max(tokens, 1),
                cache_hit=asked.replayed,
            )
        return len(cases)


def _split(total: int, parts: int) -> list[int]:
    """Split a batch's tokens over its queries so the shares add up exactly."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _grades(metrics: dict[str, Any], ks: list[int]) -> list[dict[str, Any]]:
    grades = [
        {
            "type": f"recall@{k}",
            "passed": metrics["recall"][k] > 0,
            "score": metrics["recall"][k],
            "reason": f"recall@{k} = {metrics['recall'][k]:.2f}",
            "error": False,
        }
        for k in ks
    ]
    first = metrics["first"]
    grades.append(
        {
            "type": "mrr",
            "passed": first is not None,
            "score": metrics["rr"],
            "reason": f"first relevant document at rank {first}"
            if first
            else "no relevant document",
            "error": False,
        }
    )
    return grades
