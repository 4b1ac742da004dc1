"""`evals ingest`: a batch's output files, run anywhere (`vllm run-batch`, the Batch API
downloaded by hand), read back into the run they were written for, stored and graded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evals.errors import InputError
from evals.run.batch.ingest import Ingested

if TYPE_CHECKING:
    from evals.store import ResultStore


@dataclass
class IngestOutcome:
    run_id: str
    counts: Ingested
    missing: int  # batchable requests of the run still without an answer
    complete: bool
    report_dir: Path


def ingest_run(run_id: str, paths: list[Path], store: ResultStore) -> IngestOutcome:
    from evals.pricing import PriceBook
    from evals.report.writer import REPORTS, write_report
    from evals.run.batch.context import WAITING, BatchContext
    from evals.run.batch.session import count_missing, ingest_into
    from evals.run.execute import now_iso
    from evals.run.options import RunOptions
    from evals.run.prepare import prepare, resumed_options
    from evals.run.session import open_run

    resolved = store.latest_run_id() if run_id == "latest" else run_id
    if resolved is None or store.run(resolved) is None:
        raise InputError(f"no run '{run_id}' in the store: `evals runs` lists them")
    for path in paths:
        if not path.is_file():
            raise InputError("no such output file", path)
    options = resumed_options(RunOptions([], Path("."), resume=resolved), store)
    prepared = prepare(options)
    prices = PriceBook(prepared.profile)
    with open_run(options, prepared, store, resolved, prices, None) as live:
        ctx = BatchContext.of(live, options, None)
        counts = ingest_into(ctx, paths)
        missing = count_missing(ctx)
    if not missing:
        for batch in store.batches(resolved):
            if batch.state == "offline":
                store.update_batch(resolved, batch.batch_no, state="ingested")
    complete = not missing and store.count_results(resolved) == prepared.planned
    store.finish_run(resolved, now_iso(), complete, None if complete else WAITING)
    write_report(store, resolved)
    return IngestOutcome(resolved, counts, missing, complete, REPORTS / resolved)
