"""`--judge-mode batch`: model-graded graders' judge calls sent as batches of their own.

While answers are graded, a judge call the response cache cannot answer is written to a
judge batch file (once per distinct request: its custom_id is its cache key) and the
sample is stored as waiting for its verdict. When the judge batch ends, each answer is
put in the response cache under its key and the waiting samples are graded again: their
judge calls are now replayed, at the batch's price. A grader that asks a second question
after the first answer goes round again, up to MAX_ROUNDS; the last round calls online.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from evals.engine.budget import worst_case_usd
from evals.engine.request import Request
from evals.run.batch.context import WAITING
from evals.run.batch.files import Chunk, ChunkWriter, Group, slug
from evals.run.batch.lines import URLS, judge_line
from evals.run.batch.submit import endpoint_limits, record_chunk, submit, wait

if TYPE_CHECKING:
    from evals.run.batch.context import BatchContext

MAX_ROUNDS = 3


class JudgeBatcher:
    """Collects deferred judge requests into batch files (GraderServices.defer)."""

    def __init__(self, ctx: BatchContext, round_no: int):
        self.ctx = ctx
        self.round_no = round_no
        self.seen: set[str] = set()
        self.refused = False  # a call the --max-cost budget could not hold

        def name(group: Group, number: int) -> Path:
            return ctx.folder / f"judge-r{round_no}-{number:04d}-{slug(group.model)}.jsonl"

        self.writer = ChunkWriter(endpoint_limits(ctx), name, self._record)

    def _record(self, chunk: Chunk) -> None:
        record_chunk(self.ctx, chunk, "judge", self.round_no, "written")

    def __call__(self, request: Request) -> None:
        """Put the request in the judge batch, once per distinct request, holding its
        worst case at the judge's batch rate from --max-cost. When the budget cannot
        hold it, it is not written: its sample stays ungraded for the next round (once
        this round's batch has settled), or for a resume with a higher cap."""
        key = request.cache_key
        if not key or key in self.seen or request.kind not in URLS:
            return
        judge = self.ctx.prepared.profile.judge
        reserved = 0.0
        if self.ctx.budget is not None and judge is not None:
            reserved = worst_case_usd(replace(request, price=self.ctx.batch_price(judge)))
            if not self.ctx.budget.reserve(reserved):
                self.refused = True
                return
        self.seen.add(key)
        group = Group(request.endpoint, judge.id if judge else "judge", URLS[request.kind])
        self.writer.add(group, judge_line(key, request.kind, request.body), reserved)

    def close(self) -> int:
        """Finish the files; how many requests were deferred."""
        self.writer.close()
        return len(self.seen)


async def judge_rounds(ctx: BatchContext, services, batcher: JudgeBatcher | None) -> None:
    """Send the deferred judge calls, wait, grade the waiting samples; repeat if needed."""
    from evals.run.grade import regrade

    round_no = batcher.round_no if batcher else 0
    while True:
        if batcher is not None:
            deferred = batcher.close()
            if deferred:
                ctx.say(f"{deferred:,} judge calls sent as a batch")
        await submit(ctx)
        if ctx.options.detach and any(
            b.state == "submitted" for b in ctx.store.batches(ctx.run_id)
        ):
            ctx.stop_reason = WAITING
            return
        await wait(ctx, ctx.options.poll_max_s)
        round_no += 1
        last = round_no >= MAX_ROUNDS
        batcher = None if last else JudgeBatcher(ctx, round_no)
        services.defer = batcher
        graded = await regrade(ctx.store, ctx.run_id, ctx.prepared.suites, services, True)
        if batcher is None or not batcher.seen:
            if graded:
                ctx.say(f"{graded:,} samples graded with the judge batch's answers")
            if batcher is not None and batcher.refused:  # nothing fits: wait for more money
                ctx.stop_reason = "budget"
            services.defer = None
            return
