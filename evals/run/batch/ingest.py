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
from evals.run.batch.lines import batchable, custom_id, read_line

if TYPE_CHECKING:
    from evals.config.runner import ModelSpec
    from evals.run.batch.context import BatchContext


@dataclass
class Ingested:
    answered: int = 0  # lines with an answer, stored
    failed: int = 0  # lines with an error, stored as errors
    unmatched: int = 0  # lines naming no unanswered sample of the run
    spend_usd: float = 0.0  # what the stored answers cost

    def add(self, other: Ingested) -> None:
        self.answered += other.answered
        self.failed += other.failed
        self.unmatched += other.unmatched
        self.spend_usd += other.spend_usd


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
        skip = (lambda job: not batchable(job) or ctx.answered(job)) if index else None
        for job in ctx.jobs(skip, models) if index else ():
            where = index.pop(custom_id(job), None)
            if where is None:
                continue
            handle = handles[where[0]]
            handle.seek(where[1])
            _, response = read_line(handle.readline(), job.request.kind, _kind(ctx, job))
            if response.failure is None:
                counts.answered += 1
            else:
                counts.failed += 1
                if not response.failure.retryable:
                    ctx.permanent.add(custom_id(job))
            await ctx.deliver(job, response, via)
            counts.spend_usd += response.spend_usd or 0.0
    counts.unmatched = len(index)
    return counts


def _kind(ctx: BatchContext, job) -> str | None:
    endpoint = ctx.prepared.profile.endpoints.get(job.model.endpoint)
    return None if endpoint is None else endpoint.kind
