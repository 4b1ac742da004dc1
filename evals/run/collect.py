"""Turn each engine outcome into a stored result: grade it, then commit it with its cache entry."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from evals.config.runner import ModelSpec, RunnerProfile
from evals.engine.executor import canonical_json
from evals.engine.outcome import Outcome
from evals.graders.base import GradeContext
from evals.graders.registry import combine, grade_all_async
from evals.pricing import Price, PriceTable
from evals.records import GradeResult
from evals.run.judging import GraderServices
from evals.run.plan import Job
from evals.store import ResultRecord, Store


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class PriceBook:
    """Prices per runner model: its id first, then the model name sent to the API.

    `origin` names the runner profile in the `source` of its price overrides.
    """

    def __init__(self, profile: RunnerProfile, origin: str = "runner profile"):
        self._table = PriceTable.bundled().with_overrides(profile.pricing, origin)
        self._by_model: dict[str, tuple[str, Price] | None] = {}

    def _resolve(self, model: ModelSpec) -> tuple[str, Price] | None:
        if model.id not in self._by_model:
            self._by_model[model.id] = self._table.resolve(model.id) or self._table.resolve(
                model.api_model
            )
        return self._by_model[model.id]

    def for_model(self, model: ModelSpec) -> Price | None:
        found = self._resolve(model)
        return None if found is None else found[1]

    def describe(self, model: ModelSpec) -> dict[str, Any]:
        """Where this model's price comes from, for the run config and the summary.

        `priced_as` is the price-table key that matched (the id, the API model
        name, or a snapshot's family); `source` is "bundled" (evals/data/pricing.yaml)
        or "runner" (the profile's `pricing:`); all None when no price is known.
        """
        found = self._resolve(model)
        key, price = found if found is not None else (None, None)
        source = None
        if key is not None:
            source = "runner" if key in self._table.overridden else "bundled"
        return {
            "model": model.id,
            "priced_as": key,
            "source": source,
            "as_of": None if price is None else price.as_of,
            "input": None if price is None else price.input,
            "output": None if price is None else price.output,
            "cached_input": None if price is None else price.cached_input,
        }

    def provenance(self, models: Iterable[ModelSpec]) -> list[dict[str, Any]]:
        """`describe` of each model, once per id, in the order given."""
        seen: set[str] = set()
        rows = []
        for model in models:
            if model.id not in seen:
                seen.add(model.id)
                rows.append(self.describe(model))
        return rows

    def for_job(self, job: Job) -> Price | None:
        return self.for_model(job.model)


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content or ""
    return ""


class Collector:
    def __init__(self, store: Store, run_id: str, services: GraderServices | None = None):
        self.store = store
        self.run_id = run_id
        self.services = services
        self.stored = 0

    async def grade(
        self, job: Job, outcome: Outcome
    ) -> tuple[GradeResult, list[dict[str, Any]], float | None]:
        """Apply the case's graders; returns the verdict, each grade and the grader cost."""
        from evals.config.suite import graders_for

        graders = graders_for(job.suite, job.case)
        judge, embed, meter = self.services.bind() if self.services else (None, None, None)
        context = GradeContext(
            expect=job.case.expect,
            vars=job.case.vars,
            case_id=job.case.id,
            tool_calls=tuple(outcome.tool_calls or ()),
            expect_tool_calls=job.case.expect_tool_calls,
            prompt_text=_last_user_text(job.body),
            judge=judge,
            embed=embed,
        )
        results = await grade_all_async(graders, outcome.output or "", context)
        grades = [
            {
                "type": grader.type_name,
                "passed": result.passed,
                "score": result.score,
                "reason": result.reason,
                "error": result.error,
            }
            for grader, result in zip(graders, results, strict=True)
        ]
        return combine(results), grades, meter.total if meter is not None else 0.0

    async def on_outcome(self, job: Job, outcome: Outcome) -> None:
        failure = outcome.failure
        error = outcome.error
        error_class = failure.error_class if failure else None
        passed: bool | None = None
        score: float | None = None
        grades: list[dict[str, Any]] = []
        grader_cost: float | None = 0.0
        if failure is None:
            overall, grades, grader_cost = await self.grade(job, outcome)
            if overall.error:
                error, error_class = f"grader error: {overall.reason}", "grader"
            else:
                passed, score = overall.passed, overall.score
        usage = outcome.usage
        record = ResultRecord(
            run_id=self.run_id,
            suite=job.suite.name,
            case_id=job.case.id,
            prompt=job.prompt,
            model=job.model.id,
            repeat=job.repeat,
            request_hash=job.request_hash,
            request=canonical_json(job.body),
            vars=_json(job.case.vars),
            expect=_json(job.case.expect),
            output=outcome.output,
            tool_calls=_json(outcome.tool_calls) if outcome.tool_calls else None,
            finish_reason=outcome.finish_reason,
            prompt_tokens=usage.prompt_tokens,
            cached_tokens=usage.cached_tokens,
            completion_tokens=usage.completion_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            latency_s=outcome.latency_s,
            cost_usd=outcome.cost_usd if failure is None else None,
            error=error,
            error_class=error_class,
            attempts=outcome.attempts,
            passed=passed,
            score=score,
            grades=_json(grades),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            cache_hit=outcome.cache_hit,
            spend_usd=outcome.spend_usd,
            ttft_s=outcome.ttft_s,
            tokens_per_s=outcome.tokens_per_s,
            backoff_s=outcome.backoff_s,
            grader_cost_usd=grader_cost,
            audio_s=outcome.audio_s,
        )
        fresh = failure is None and not outcome.cache_hit
        self.store.add_result(record, outcome.cache_entry() if fresh else None)
        self.stored += 1
