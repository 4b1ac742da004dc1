"""The accuracy of what a load test received: every answer graded as in a normal run.

A model that gets faster by getting worse shows it: each step's row gains `accuracy`
(passed / graded answers), `graded`, `grading_errors` and `grader_cost_usd`. Grading
happens after the timing is over, so it never disturbs the schedule. Model-graded
graders call the runner profile's judge / embedder (`services`), as in a normal run;
without one configured they count as grading errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evals.load.generator import RequestRecord, StepResult

if TYPE_CHECKING:
    from evals.run.judging import GraderServices


async def grade_record(
    record: RequestRecord, services: GraderServices | None = None
) -> tuple[bool | None, str | None, float | None]:
    """(passed, grading error, grader cost) of one answered request; passed is None when
    it has no answer or the graders could not grade it."""
    from evals.config.suite import graders_for
    from evals.run.grade import AnswerFacts, grade_answer

    job = record.job
    if job is None or not record.ok or record.output is None:
        return None, None, 0.0
    facts = AnswerFacts(finish_reason=record.finish_reason, latency_s=record.e2e_s)
    graders = graders_for(job.suite, job.case)
    verdict = await grade_answer(graders, job.case, record.output, None, job.body, services, facts)
    if verdict.error is not None:
        return None, verdict.error, verdict.grader_cost_usd
    return bool(verdict.passed), None, verdict.grader_cost_usd


async def grade_steps(
    steps: Sequence[StepResult], services: GraderServices | None = None
) -> list[dict[str, Any]]:
    """Per step, in order: {accuracy, graded, grading_errors, grader_cost_usd} over its
    answered requests (grader cost None once a judge call had no known price)."""
    out = []
    for step in steps:
        passed = graded = errors = 0
        cost: float | None = 0.0
        for record in step.records:
            verdict, problem, spent = await grade_record(record, services)
            cost = None if cost is None or spent is None else cost + spent
            if problem is not None:
                errors += 1
            elif verdict is not None:
                graded += 1
                passed += verdict
        out.append(
            {
                "accuracy": passed / graded if graded else None,
                "graded": graded,
                "grading_errors": errors,
                "grader_cost_usd": cost,
            }
        )
    return out
