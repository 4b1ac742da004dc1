"""Batch output matched back to its samples by `custom_id`, whatever the line order.

The output files are indexed (custom_id -> where its line starts), then the plan is
streamed once and each sample still without an answer takes its line, if there is one:
lines are read one at a time, so only the index is held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evals.errors import InputError
from evals.pricing import cost_usd
from evals.run.batch.lines import URLS, batchable, custom_id, read_line

if TYPE_CHECKING:
    from evals.config.runner import ModelSpec
    from evals.run.batch.context import BatchContext
    from evals.store import BatchState


@dataclass
class Ingested:
    answered: int = 0  # lines with an answer, stored
    failed: int = 0  # lines with an error, stored as errors
    unmatched: int = 0  # lines naming no unanswered sample of the run
    spend_usd: float = 0.0  # what the stored answers cost


def index_lines(paths: Sequence[Path]) -> dict[str, tuple[int, int, bool]]:
    """custom_id -> (file number, byte offset, answered) of its line. An answer wins over
    an error line for the same id, whichever file comes first."""
    index: dict[str, tuple[int, int, bool]] = {}
    for number, path in enumerate(paths):
        offset = 0
        with path.open("rb") as handle:
            for lineno, line in enumerate(handle, 1):
                if line.strip():
                    cid, ok = _peek(line, path, lineno)
                    known = index.get(cid)
                    if known is None or (ok and not known[2]):
                        index[cid] = (number, offset, ok)
                offset += len(line)
    return index


def _peek(line: bytes, path: Path, lineno: int) -> tuple[str, bool]:
    try:
        data = json.loads(line)
        cid = data["custom_id"]
    except (ValueError, KeyError, TypeError):
        raise InputError(
            "not a batch output line (a JSON object with custom_id and response): "
            "give the output file of `vllm run-batch` or of the Batch API",
            path,
            lineno,
        ) from None
    response = data.get("response")
    return str(cid), isinstance(response, dict) and response.get("status_code") == 200


async def ingest_files(
    ctx: BatchContext, paths: Sequence[Path], via: str, models: Sequence[ModelSpec] | None = None
) -> Ingested:
    """Store (and grade) every line of `paths` that answers a sample of the run."""
    index = index_lines(paths)
    counts = Ingested()
    with ExitStack() as stack:
        handles = [stack.enter_context(path.open("rb")) for path in paths]
        for job in ctx.jobs(None, models) if index else ():
            if not batchable(job):
                continue
            cid = custom_id(job)
            where = index.get(cid)
            if where is None or ctx.answered(job):  # the store is asked only for lines found
                continue
            del index[cid]
            handle = handles[where[0]]
            handle.seek(where[1])
            _, response = read_line(handle.readline(), job.request.kind, _kind(ctx, job))
            if response.failure is None:
                counts.answered += 1
            else:
                counts.failed += 1
                if not response.failure.retryable:
                    ctx.permanent.add(cid)
            await ctx.deliver(job, response, via)
            counts.spend_usd += response.spend_usd or 0.0
    counts.unmatched = len(index)
    return counts


def _kind(ctx: BatchContext, job) -> str | None:
    endpoint = ctx.prepared.profile.endpoints.get(job.model.endpoint)
    return None if endpoint is None else endpoint.kind


def cache_answers(ctx: BatchContext, batch: BatchState, paths: list[Path]) -> Ingested:
    """Put a judge batch's answers in the response cache, priced at the judge's batch rate
    (their spend settles the batch's budget hold)."""
    judge = ctx.prepared.profile.judge
    price = ctx.batch_price(judge) if judge is not None else None
    kind = "responses" if batch.url == URLS["responses"] else "chat"
    cache = ctx.engine.cache
    counts = Ingested()
    for path in paths:
        with path.open("rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                key, response = read_line(line, kind)
                if response.failure is not None or cache is None:
                    counts.failed += 1
                    continue
                response.cost_usd = cost_usd(response.usage, price)
                cache.put(key, response.cache_entry())
                counts.answered += 1
                counts.spend_usd += response.cost_usd or 0.0
    return counts
