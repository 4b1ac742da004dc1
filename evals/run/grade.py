"""Grading apart from collecting: a stored answer in, a verdict out.

Grading reads only what the store keeps about a sample (output, tool calls, the
request sent, the case's vars and expectation) plus the suite's graders, so a
past run can be re-graded without paying for its answers again (`regrade`).
Judge and embedder calls reach graders as callables (evals.run.judging).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evals.config.suite import Suite, graders_for
from evals.endpoints.logprobs import Logprobs, from_json
from evals.endpoints.messages import last_user_text
from evals.graders.base import GradeContext, Grader
from evals.graders.registry import combine, grade_all_async
from evals.records import GradeResult

if TYPE_CHECKING:
    from evals.config.cases import Case
    from evals.run.judging import GraderServices
    from evals.store import ResultStore

UNGRADED = ("not graded yet: the run stopped while grading; resume it", "ungraded")
JUDGE_PENDING = ("not graded yet: its judge call waits in a batch; resume the run", "ungraded")


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    """What a response said about itself, besides its text and tool calls."""

    finish_reason: str | None = None
    latency_s: float | None = None
    cost_usd: float | None = None
    cache_hit: bool = False
    logprobs: Logprobs | None = None


@dataclass(slots=True)
class Verdict:
    """What grading decided for one sample (the columns `set_grade` writes)."""

    passed: bool | None
    score: float | None
    grades: str  # JSON list of {type, passed, score, reason, error}
    error: str | None
    error_class: str | None
    grader_cost_usd: float | None
    brier: float | None = None


def needs_await(graders: Sequence[Grader]) -> bool:
    """True when a grader calls a judge or an embedder (grading then takes a while)."""
    return any(getattr(grader, "needs_await", True) for grader in graders)


async def grade_answer(
    graders: Sequence[Grader],
    case: Case,
    output: str | None,
    tool_calls: Sequence[dict[str, Any]] | None,
    request: dict[str, Any],
    services: GraderServices | None,
    facts: AnswerFacts | None = None,
) -> Verdict:
    """Apply the case's graders to one answer (`facts`: what the response said about
    itself, for graders of latency, cost, finish reason and logprobs)."""
    facts = facts or AnswerFacts()
    judge, embed, meter = services.bind() if services else (None, None, None)
    context = GradeContext(
        expect=case.expect,
        vars=case.vars,
        case_id=case.id,
        tool_calls=tuple(tool_calls or ()),
        expect_tool_calls=case.expect_tool_calls,
        prompt_text=last_user_text(request.get("messages", [])),
        judge=judge,
        embed=embed,
        logprobs=facts.logprobs or (),
        finish_reason=facts.finish_reason,
        latency_s=facts.latency_s,
        cost_usd=facts.cost_usd,
        cache_hit=facts.cache_hit,
        offered_tools=tuple(request.get("tools") or ()),
    )
    results = await grade_all_async(graders, output or "", context)
    grades = [_grade_entry(grader, result) for grader, result in zip(graders, results, strict=True)]
    weights = [float(getattr(grader, "weight", 1.0)) for grader in graders]
    overall = combine(results, weights, case.threshold)
    cost = meter.total if meter is not None else 0.0
    text = json.dumps(grades, ensure_ascii=False, default=str)
    if meter is not None and meter.deferred:
        return Verdict(None, None, text, *JUDGE_PENDING, cost)
    if overall.error:
        return Verdict(None, None, text, f"grader error: {overall.reason}", "grader", cost)
    return Verdict(overall.passed, overall.score, text, None, None, cost, overall.brier)


def _grade_entry(grader: Grader, result: GradeResult) -> dict[str, Any]:
    """One grader's stored verdict: {type, passed, score, reason, error[, brier]}."""
    entry = {
        "type": grader.type_name,
        "passed": result.passed,
        "score": result.score,
        "reason": result.reason,
        "error": result.error,
    }
    if result.brier is not None:
        entry["brier"] = result.brier
    metric = getattr(grader, "metric", None)
    if metric:
        entry["metric"] = metric
    return entry


def save_verdict(
    store: ResultStore, run_id: str, key: tuple[str, str, str, str, int], verdict: Verdict
) -> None:
    """Write a verdict onto its stored sample; `key` is (suite, case_id, prompt, model, repeat)."""
    store.set_grade(
        run_id,
        *key,
        passed=verdict.passed,
        score=verdict.score,
        grades=verdict.grades,
        error=verdict.error,
        error_class=verdict.error_class,
        grader_cost_usd=verdict.grader_cost_usd,
        brier=verdict.brier,
    )


async def regrade(
    store: ResultStore,
    run_id: str,
    suites: Sequence[Suite],
    services: GraderServices | None,
    only_ungraded: bool = False,
) -> int:
    """Grade a run's stored answers again with the suites' current graders; no model call.

    Returns how many samples were re-graded (those of suites given, with an answer; with
    `only_ungraded`, those still waiting for a verdict, e.g. for a judge batch).
    """
    by_name = {suite.name: suite for suite in suites}
    cases: dict[tuple[str, str], Case] = {}
    for suite in suites:
        for case in suite.cases():
            cases[(suite.name, case.id)] = case
    count = 0
    if only_ungraded:
        rows = [row for row in store.results(run_id) if row.error_class == "ungraded"]
    else:
        rows = list(store.answered_results(run_id))
    for row in rows:
        suite = by_name.get(row.suite)
        case = cases.get((row.suite, row.case_id))
        if suite is None or case is None or suite.kind == "embeddings":
            continue
        facts = AnswerFacts(
            row.finish_reason, row.latency_s, row.cost_usd, row.cache_hit, from_json(row.logprobs)
        )
        verdict = await grade_answer(
            graders_for(suite, case), case, row.output, row.tool_calls, row.request, services,
            facts,
        )  # fmt: skip
        save_verdict(
            store, run_id, (row.suite, row.case_id, row.prompt, row.model, row.repeat), verdict
        )
        count += 1
    return count
