"""Turn each engine outcome into a stored result: grade it, price it, commit it."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from evals.engine.executor import Outcome, canonical_json
from evals.engine.plan import Job
from evals.graders.base import GradeContext
from evals.graders.registry import combine, grade_all
from evals.pricing import Price, PriceTable, cost_usd
from evals.progress import Progress
from evals.records import GradeResult
from evals.runner import ModelSpec, RunnerProfile
from evals.store import ResultRecord, Store


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class Collector:
    def __init__(self, store: Store, run_id: str, profile: RunnerProfile, progress: Progress):
        self.store = store
        self.run_id = run_id
        self.progress = progress
        self.stored = 0
        self._prices = PriceTable.bundled().with_overrides(profile.pricing)
        self._price_cache: dict[str, Price | None] = {}

    def price_for(self, model: ModelSpec) -> Price | None:
        if model.id not in self._price_cache:
            self._price_cache[model.id] = self._prices.lookup(model.id) or self._prices.lookup(
                model.api_model
            )
        return self._price_cache[model.id]

    def grade(self, job: Job, outcome: Outcome) -> tuple[GradeResult, list[dict[str, Any]]]:
        """Apply the suite's and the case's graders; returns the verdict and each grade."""
        from evals.suite import case_graders

        graders = [*job.suite.graders, *case_graders(job.case)]
        context = GradeContext(expect=job.case.expect, vars=job.case.vars, case_id=job.case.id)
        results = grade_all(graders, outcome.output or "", context)
        grades = [
            {"type": grader.type_name, **asdict(result)}
            for grader, result in zip(graders, results, strict=True)
        ]
        return combine(results), grades

    def on_outcome(self, job: Job, outcome: Outcome) -> None:
        error, error_class = (
            outcome.error,
            (outcome.failure.error_class if outcome.failure else None),
        )
        passed: bool | None = None
        score: float | None = None
        grades: list[dict[str, Any]] = []
        if outcome.failure is None:
            overall, grades = self.grade(job, outcome)
            if overall.error:
                error, error_class = f"grader error: {overall.reason}", "grader"
            else:
                passed, score = overall.passed, overall.score
        usage = outcome.usage
        cost = cost_usd(usage, self.price_for(job.model)) if outcome.failure is None else None
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
            cost_usd=cost,
            error=error,
            error_class=error_class,
            attempts=outcome.attempts,
            passed=passed,
            score=score,
            grades=_json(grades),
            created_at=_now(),
        )
        self.store.add_result(record)
        self.stored += 1
        self.progress.advance(error is not None, cost)


def _now() -> str:
    from evals.run import now_iso

    return now_iso()
