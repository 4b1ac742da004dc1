"""Turn each engine response into a stored result, then have it graded.

An answer is committed with its cache entry before slow grading (a judge call)
starts, so a crash while grading loses nothing paid for: the sample is stored
as ungraded and a resume replays its answer from the cache to grade it.
Graders that need no call run first, and the result is committed once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from evals.config.suite import graders_for
from evals.engine.response import Response
from evals.records import canonical_json
from evals.run.grade import (
    UNGRADED,
    AnswerFacts,
    Verdict,
    grade_answer,
    needs_await,
    save_verdict,
)
from evals.run.judging import GraderServices
from evals.run.plan import Job
from evals.store import ResultRecord, ResultStore


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def raw_record(run_id: str, job: Job, response: Response) -> ResultRecord:
    """The stored form of an answer (or failure), before any grading."""
    failure = response.failure
    usage = response.usage
    return ResultRecord(
        run_id=run_id,
        suite=job.suite.name,
        case_id=job.case.id,
        prompt=job.prompt,
        model=job.model.id,
        repeat=job.repeat,
        request_hash=job.request_hash,
        request=canonical_json(job.body),
        vars=_json(job.case.vars),
        expect=_json(job.case.expect),
        output=response.output,
        tool_calls=_json(response.tool_calls) if response.tool_calls else None,
        finish_reason=response.finish_reason,
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        latency_s=response.latency_s,
        cost_usd=response.cost_usd if failure is None else None,
        error=response.error,
        error_class=failure.error_class if failure else None,
        attempts=response.attempts,
        passed=None,
        score=None,
        grades="[]",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        cache_hit=response.cache_hit,
        spend_usd=response.spend_usd,
        ttft_s=response.ttft_s,
        tokens_per_s=response.tokens_per_s,
        backoff_s=response.backoff_s,
        grader_cost_usd=0.0,
        audio_s=response.audio_s,
        cluster=job.case.cluster,
        tags=json.dumps(list(job.case.tags)),
        logprobs=response.logprobs_json,
        via=response.via,
        online_cost_usd=response.online_cost_usd if failure is None else None,
    )


def _apply(record: ResultRecord, verdict: Verdict) -> None:
    record.passed, record.score, record.grades = verdict.passed, verdict.score, verdict.grades
    record.error, record.error_class = verdict.error, verdict.error_class
    record.grader_cost_usd, record.brier = verdict.grader_cost_usd, verdict.brier


PENDING_GRADES = 256  # answers awaiting a slow grader before the engine waits for one


class Collector:
    """Stores each answer as it arrives and grades it.

    Graders that take a while (a judge, an embedder, code run in a child process) grade
    in the background: the answer is stored first (ungraded), the engine goes on to the
    next request, and the verdict is written when it comes; `drain()` waits for the last
    ones. At most PENDING_GRADES wait at once, so memory stays bounded when grading is
    slower than answering.
    """

    def __init__(self, store: ResultStore, run_id: str, services: GraderServices | None = None):
        self.store = store
        self.run_id = run_id
        self.services = services
        self.stored = 0
        self._grading: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None  # made in the running event loop

    async def on_response(self, job: Job, response: Response) -> None:
        record = raw_record(self.run_id, job, response)
        fresh = response.failure is None and not response.cache_hit
        entry = response.cache_entry() if fresh else None
        self.stored += 1
        if response.failure is not None:
            self.store.add_result(record, entry)
            return
        graders = graders_for(job.suite, job.case)
        facts = AnswerFacts(
            response.finish_reason,
            response.latency_s,
            response.cost_usd,
            response.cache_hit,
            response.logprobs,
        )
        grade = grade_answer(
            graders, job.case, response.output, response.tool_calls, job.body, self.services,
            facts,
        )  # fmt: skip
        if not needs_await(graders):
            _apply(record, await grade)
            self.store.add_result(record, entry)
            return
        record.error, record.error_class = UNGRADED
        self.store.add_result(record, entry)  # paid for: kept before the grader runs
        key = (record.suite, record.case_id, record.prompt, record.model, record.repeat)
        if self._slots is None:
            self._slots = asyncio.Semaphore(PENDING_GRADES)
        await self._slots.acquire()
        task = asyncio.create_task(self._grade_later(grade, key))
        self._grading.add(task)
        task.add_done_callback(self._grading.discard)

    async def _grade_later(self, grade: Awaitable[Verdict], key: tuple) -> None:
        try:
            save_verdict(self.store, self.run_id, key, await grade)
        finally:
            assert self._slots is not None
            self._slots.release()

    async def drain(self) -> None:
        """Wait for every verdict still being graded (an interrupted run leaves the rest
        ungraded in the store, for `evals regrade` or a resume)."""
        while self._grading:
            await asyncio.gather(*list(self._grading))
