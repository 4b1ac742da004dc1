"""`evals ingest`: answers of a batch run's files, read back into the run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="read batch output files (vllm run-batch, the Batch API) back into their run",
    )
    p.add_argument("run_id", metavar="RUN_ID", help="the run the files were written for")
    p.add_argument("files", nargs="+", type=Path, metavar="OUTPUT.jsonl")


def cmd_ingest(args: argparse.Namespace) -> int:
    from evals.report.table import print_summary
    from evals.run.api import load_summary
    from evals.run.batch.offline import ingest_run
    from evals.store import open_store

    store = open_store()
    try:
        outcome = ingest_run(args.run_id, args.files, store)
    finally:
        store.close()
    counts = outcome.counts
    print(
        f"ingested {counts.answered:,} answers and {counts.failed:,} errors into run "
        f"{outcome.run_id}"
        + (
            f"; {counts.unmatched:,} lines matched no open request of it"
            if counts.unmatched
            else ""
        ),
        file=sys.stderr,
    )
    print_summary(load_summary(outcome.run_id), sys.stdout)
    print(f"report: {outcome.report_dir / 'index.html'}", file=sys.stderr)
    if not outcome.complete:
        print(
            f"run {outcome.run_id} is incomplete: {outcome.missing:,} requests have no answer "
            f"yet; ingest their output too, or `evals run --resume {outcome.run_id}` writes "
            "them to new files",
            file=sys.stderr,
        )
        return 3
    return 0
