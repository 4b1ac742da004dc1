"""Writing, sending and waiting for batches; every id is stored the moment it exists.

A batch's state moves written -> uploaded -> submitted -> ingested, each step committed
before the next starts, so a process killed anywhere resumes at the step it was at: a
file uploaded is never uploaded again, a batch created is re-attached, not re-created
(one created whose id was lost is found again by its metadata).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from evals.engine.budget import worst_case_usd
from evals.engine.response import Response
from evals.run.batch.context import BatchContext
from evals.run.batch.files import Chunk, ChunkWriter, Group, Limits, slug
from evals.run.batch.ingest import cache_answers, ingest_files
from evals.run.batch.lines import URLS, request_line
from evals.run.batch.provider import BatchClient, BatchStatus
from evals.run.plan import Job
from evals.store import BatchState

POLL_FIRST_S = 0.5
POLL_GROWTH = 1.5
OFFLINE_LIMITS = Limits(max_requests=10**12, max_bytes=10**15)  # `vllm run-batch` has none


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Built:
    written: int = 0  # requests written to batch files
    files: int = 0


def record_chunk(ctx: BatchContext, chunk: Chunk, role: str, round_no: int, state: str) -> None:
    """Store a finished batch file under the run's next batch number, before any upload."""
    number = max((b.batch_no for b in ctx.store.batches(ctx.run_id)), default=0) + 1
    ctx.store.add_batch(
        BatchState(
            run_id=ctx.run_id,
            batch_no=number,
            role=role,
            endpoint=chunk.group.endpoint,
            model=chunk.group.model,
            url=chunk.group.url,
            input_path=str(chunk.path),
            requests=chunk.requests,
            bytes=chunk.bytes,
            round=round_no,
            state=state,
            reserved_usd=chunk.reserved_usd,
            updated_at=_now(),
        )
    )


def endpoint_limits(ctx: BatchContext) -> Callable[[Group], Limits]:
    endpoints = ctx.prepared.profile.endpoints

    def limits(group: Group) -> Limits:
        spec = endpoints[group.endpoint]
        return Limits(spec.batch_max_requests, spec.batch_max_bytes)

    return limits


async def build(
    ctx: BatchContext, jobs: Iterable[Job], round_no: int, offline_dir: Path | None = None
) -> Built:
    """Write `jobs` to batch files (cached answers are stored instead, as online)."""
    built = Built()

    def name(group: Group, number: int) -> Path:
        if offline_dir is not None:
            suffix = f".round{round_no}" if round_no else ""
            return offline_dir / f"{slug(group.model)}{suffix}.jsonl"
        return ctx.folder / f"r{round_no}-{number:04d}-{slug(group.model)}.jsonl"

    def record(chunk: Chunk) -> None:
        built.files += 1
        record_chunk(ctx, chunk, "sample", round_no, "offline" if offline_dir else "written")

    limits = (lambda group: OFFLINE_LIMITS) if offline_dir is not None else endpoint_limits(ctx)
    writer = ChunkWriter(limits, name, record)
    replay = ctx.engine.replay and ctx.engine.cache is not None
    try:
        for job in jobs:
            if replay and await _replayed(ctx, job):
                continue
            reserved = _reserve(ctx, job)
            if reserved is None:  # what is written is still sent; the rest waits for a resume
                ctx.budget_spent = True
                break
            line = request_line(job)
            group = Group(job.model.endpoint, job.model.id, URLS[job.request.kind])
            if not writer.fits(group, len(line)):
                await ctx.deliver(job, _too_big(len(line)), "batch")
                continue
            writer.add(group, line, reserved)
            built.written += 1
    except BaseException:
        writer.discard()  # half-written files: their requests are planned again on resume
        raise
    writer.close()
    return built


def _too_big(size: int) -> Response:
    from evals.engine.retry import Failure

    failure = Failure(
        "client", False, f"request of {size:,} bytes is larger than the batch file limit"
    )
    return Response.failed(failure, 0, 0.0, 0)


async def _replayed(ctx: BatchContext, job: Job) -> bool:
    assert ctx.engine.cache is not None
    key = job.request.cache_key
    entry = ctx.engine.cache.get(key) if key else None
    if entry is None:
        return False
    await ctx.collector.on_response(job, Response.from_cache(entry))
    return True


def _reserve(ctx: BatchContext, job: Job) -> float | None:
    """The budget's hold for one batch request (its worst case at batch rates); None
    when the budget cannot cover it."""
    if ctx.budget is None:
        return 0.0
    amount = worst_case_usd(replace(job.request, price=ctx.batch_price(job.model)))
    return amount if ctx.budget.reserve(amount) else None


def _metadata(batch: BatchState) -> dict[str, str]:
    return {"evals_run": batch.run_id, "evals_batch": str(batch.batch_no)}


async def submit(ctx: BatchContext) -> None:
    """Upload each written file and create its batch, storing each id at once."""
    for batch in ctx.store.batches(ctx.run_id):
        if batch.state not in ("written", "uploaded"):
            continue
        client = BatchClient(ctx.endpoints[batch.endpoint])
        status = None
        if batch.state == "uploaded":  # a create may have happened before a crash
            status = await client.find(_metadata(batch))
        else:
            file_id = await client.upload(Path(batch.input_path))
            ctx.store.update_batch(
                ctx.run_id, batch.batch_no, file_id=file_id, state="uploaded", updated_at=_now()
            )
            batch.file_id = file_id
        if status is None:
            assert batch.file_id is not None
            status = await client.create(batch.file_id, batch.url, _metadata(batch))
        _save_status(ctx, batch, status, state="submitted", batch_id=status.id)
        ctx.say(
            f"batch {batch.batch_no} submitted: {status.id} ({batch.model}, "
            f"{batch.requests:,} requests, {batch.bytes / 1e6:,.1f} MB)"
        )


def _save_status(ctx: BatchContext, batch: BatchState, status: BatchStatus, **more) -> None:
    ctx.store.update_batch(
        ctx.run_id,
        batch.batch_no,
        status=status.status,
        completed=status.completed,
        failed=status.failed,
        output_file_id=status.output_file_id,
        error_file_id=status.error_file_id,
        note=status.errors,
        updated_at=_now(),
        **more,
    )


async def wait(ctx: BatchContext, poll_max_s: float) -> None:
    """Poll every submitted batch with backoff until each has ended and been ingested."""
    delay = POLL_FIRST_S
    shown: dict[int, tuple] = {}
    while True:
        pending = [b for b in ctx.store.batches(ctx.run_id) if b.state == "submitted"]
        if not pending:
            return
        for batch in pending:
            assert batch.batch_id is not None
            status = await BatchClient(ctx.endpoints[batch.endpoint]).retrieve(batch.batch_id)
            _save_status(ctx, batch, status)
            seen = (status.status, status.completed, status.failed)
            if shown.get(batch.batch_no) != seen:
                shown[batch.batch_no] = seen
                ctx.say(
                    f"batch {batch.batch_no} ({batch.model}): {status.status}, "
                    f"{status.completed:,}/{batch.requests:,} done, {status.failed:,} failed"
                )
            if status.ended:
                await _ingest(ctx, batch, status)
        if any(b.state == "submitted" for b in ctx.store.batches(ctx.run_id)):
            await asyncio.sleep(delay)
            delay = min(delay * POLL_GROWTH, poll_max_s)


async def _ingest(ctx: BatchContext, batch: BatchState, status: BatchStatus) -> None:
    client = BatchClient(ctx.endpoints[batch.endpoint])
    paths = []
    for file_id, part in ((status.output_file_id, "output"), (status.error_file_id, "errors")):
        if file_id:
            target = ctx.folder / f"b{batch.batch_no:04d}-{part}.jsonl"
            paths.append(await client.download(file_id, target))
    if batch.role == "judge":
        counts = cache_answers(ctx, batch, paths)
    else:
        models = [m for m in ctx.prepared.models if m.id == batch.model]
        counts = await ingest_files(ctx, paths, "batch", models)
    if ctx.budget is not None:  # the hold is replaced by what the answers cost
        ctx.budget.settle(batch.reserved_usd, counts.spend_usd)
    note = status.errors
    if status.status != "completed":
        note = f"{status.status}" + (f": {status.errors}" if status.errors else "")
    ctx.store.update_batch(
        ctx.run_id, batch.batch_no, state="ingested", reserved_usd=0.0, note=note, updated_at=_now()
    )
    ctx.say(
        f"batch {batch.batch_no} ({batch.model}) {status.status}: {counts.answered:,} answers "
        f"stored, {counts.failed:,} failed"
        + (f", {counts.unmatched:,} lines matched no request" if counts.unmatched else "")
    )
    for path in (*paths, Path(batch.input_path)):
        path.unlink(missing_ok=True)
