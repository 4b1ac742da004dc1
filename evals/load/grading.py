"""The accuracy of what a load test received: every answer graded as in a normal run.

A model that gets faster by getting worse shows it: each step's row gains `accuracy`
(passed / graded answers), `graded` and `grading_errors`. Grading happens after the
step's timing is over, so it never disturbs the schedule. Model-graded graders need the
run's judge or embedder, which a load test does not call: they count as grading errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals.load.generator import RequestRecord, StepResult


async def grade_record(record: RequestRecord) -> tuple[bool | None, str | None]:
    """(passed, grading error) of one answered request; (None, None) when it has no answer."""
    from evals.config.suite import graders_for
    from evals.run.grade import AnswerFacts, grade_answer

    job = record.job
    if job is None or not record.ok or record.output is None:
        return None, None
    facts = AnswerFacts(finish_reason=record.finish_reason, latency_s=record.e2e_s)
    graders = graders_for(job.suite, job.case)
    verdict = await grade_answer(graders, job.case, record.output, None, job.body, None, facts)
    if verdict.error is not None:
        return None, verdict.error
    return bool(verdict.passed), None


async def grade_steps(steps: Sequence[StepResult]) -> list[dict[str, Any]]:
    """Per step, in order: {accuracy, graded, grading_errors} over its answered requests."""
    out = []
    for step in steps:
        passed = graded = errors = 0
        for record in step.records:
            verdict, problem = await grade_record(record)
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
            }
        )
    return out
