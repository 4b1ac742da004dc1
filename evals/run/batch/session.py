"""A run sent as batches, from the first file to the last answer, across rounds.

Round 0 sends the plan; each later round sends what is still unanswered (lines that
failed or expired, batches cancelled) as a new batch, up to MAX_ROUNDS, or online
(`--fallback online`). Requests a batch cannot carry (tool-result conversations,
transcriptions, whole-suite embeddings) go online while the batches wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from evals.run.batch.context import WAITING, BatchContext
from evals.run.batch.ingest import Ingested, ingest_files
from evals.run.batch.lines import batchable
from evals.run.batch.provider import BatchAPIError
from evals.run.batch.submit import build, submit, wait
from evals.run.plan import Job

if TYPE_CHECKING:
    from evals.engine.budget import Budget
    from evals.pricing import PriceBook
    from evals.run.options import RunOptions
    from evals.run.prepare import Prepared
    from evals.run.session import SessionResult
    from evals.store import ResultStore

MAX_ROUNDS = 3  # sendings of a request as a batch before the run gives up on it


def _all_batchable(ctx: BatchContext) -> bool:
    """Whether every planned sample can go in a batch, told from the suites, models and
    cases alone (rendering the plan to find out costs a third of a 200k-request build)."""
    from itertools import islice

    from evals.run.batch.lines import URLS
    from evals.run.kinds import kind_of, request_kind

    for model in ctx.prepared.models:
        for suite in ctx.prepared.suites:
            if suite.kind != model.kind or not kind_of(suite).per_request:
                continue
            if request_kind(model, suite.kind) not in URLS:
                return False
            cases = islice(suite.cases(), ctx.options.limit)
            if any(case.tool_results is not None for case in cases):
                return False
    return True


async def _online(ctx: BatchContext, skip: Callable[[Job], bool]) -> None:
    """Send through the online engine the planned samples `skip` leaves in."""
    plans: dict[str, list] = {model.endpoint: [] for model in ctx.prepared.models}
    for model in ctx.prepared.models:
        plans[model.endpoint].append(ctx.jobs(skip, [model]))
    await ctx.engine.run(plans, ctx.collector.on_response)


def _say_files(ctx: BatchContext, written: int, folder: Path) -> None:
    """What was written, and the command that answers each file."""
    ctx.say(f"wrote {written:,} requests to batch files in {folder}:")
    api_models = {model.id: model.api_model for model in ctx.prepared.models}
    for batch in ctx.store.batches(ctx.run_id):
        if batch.state == "offline":
            path = Path(batch.input_path)
            output = path.with_name(path.stem + ".output.jsonl")
            ctx.say(
                f"  vllm run-batch -i {path} -o {output} --model {api_models[batch.model]}"
                f"   ({batch.requests:,} requests)"
            )


def count_missing(ctx: BatchContext) -> int:
    """Batchable samples of the run still to be answered."""
    return sum(1 for _ in ctx.jobs(lambda job: not ctx.missing(job)))


async def drive(ctx: BatchContext, resumed: bool) -> None:
    """Everything a batch run does in one session; ctx.stop_reason says why it stopped."""
    options = ctx.options
    offline = options.out_dir if options.mode == "batch-file" else None
    batches = [b for b in ctx.store.batches(ctx.run_id) if b.role == "sample"]
    if not batches:
        skip = (lambda job: not ctx.missing(job)) if resumed else (lambda job: not batchable(job))
        built = await build(ctx, ctx.jobs(skip), 0, offline)
        if offline is not None:
            _say_files(ctx, built.written, offline)
    elif ctx.budget is not None:  # batches of an earlier session still hold their reservation
        for batch in batches:
            if batch.state != "ingested":
                ctx.budget.reserve(batch.reserved_usd)
    if not _all_batchable(ctx):  # tool-result conversations, transcriptions: online
        await _online(ctx, lambda job: batchable(job) or (resumed and ctx.answered(job)))
    if offline is not None:
        ctx.stop_reason = ctx.stop_reason or WAITING
        return
    round_no = max((b.round for b in ctx.store.batches(ctx.run_id)), default=0)
    while ctx.stop_reason is None:
        await submit(ctx)
        if options.detach:
            ctx.stop_reason = WAITING
            return
        await wait(ctx, options.poll_max_s)
        if ctx.budget_spent:
            ctx.stop_reason = "budget"
            return
        missing = count_missing(ctx)
        if not missing:
            return
        if options.fallback == "online":
            ctx.say(f"{missing:,} requests unanswered by the batch: sending them online")
            await _online(ctx, lambda job: not ctx.missing(job))
            return
        if round_no + 1 >= MAX_ROUNDS:
            ctx.stop_reason = (
                f"{missing:,} requests still unanswered after {MAX_ROUNDS} batches "
                "(`--fallback online` sends them online)"
            )
            return
        round_no += 1
        ctx.say(f"{missing:,} requests unanswered by the batch: sending them as a new batch")
        await build(ctx, ctx.jobs(lambda job: not ctx.missing(job)), round_no)


def run_batch_session(
    options: RunOptions,
    prepared: Prepared,
    store: ResultStore,
    run_id: str,
    prices: PriceBook,
    budget: Budget | None,
    resumed: bool,
) -> SessionResult:
    """`--mode batch` / `batch-file`: the batch counterpart of run_session."""
    from evals.run.session import SessionResult, open_run

    with open_run(options, prepared, store, run_id, prices, budget) as live:
        ctx = BatchContext.of(live, options, budget)
        try:
            asyncio.run(_session(ctx, live, resumed))
        except KeyboardInterrupt:
            ctx.stop_reason = ctx.stop_reason or "interrupted"
        except BatchAPIError as exc:  # the provider refused for good: say why, keep what came
            ctx.stop_reason = str(exc)
        stop = ctx.stop_reason or live.engine.stop_reason
    return SessionResult(live.collector.stored, stop)


async def _session(ctx: BatchContext, live, resumed: bool) -> None:
    services = ctx.collector.services
    batcher = None
    if ctx.options.mode == "batch" and ctx.options.judge_mode == "batch" and services:
        from evals.run.batch.judges import JudgeBatcher

        judged = [b.round for b in ctx.store.batches(ctx.run_id) if b.role == "judge"]
        batcher = JudgeBatcher(ctx, max(judged, default=-1) + 1)
        services.defer = batcher
    await drive(ctx, resumed)
    await ctx.collector.drain()
    if batcher is not None and ctx.stop_reason is None:
        from evals.run.batch.judges import judge_rounds

        await judge_rounds(ctx, services, batcher)
    elif batcher is not None:  # stopped early: its samples are re-deferred on resume
        batcher.writer.discard()
    if services is not None:
        services.defer = None
    for work in live.retrieval(resumed):
        await work()


def ingest_into(ctx: BatchContext, paths: list[Path]) -> Ingested:
    """`evals ingest`: store and grade the answers in `paths` (files of any batch)."""

    async def go() -> Ingested:
        counts = await ingest_files(ctx, paths, "file")
        await ctx.collector.drain()
        return counts

    return asyncio.run(go())
