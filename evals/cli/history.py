"""`evals report` and `evals runs`: what the store holds about past runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild a run's report from the store")
    p.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    p.add_argument("--out", type=Path, metavar="DIR")
    p.add_argument(
        "--score-ci",
        choices=("t", "bootstrap"),
        help="interval of partial-credit mean scores (default: what the run chose, else t)",
    )
    p = sub.add_parser("regrade", help="grade a stored run again with its suites' current graders")
    p.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    p = sub.add_parser("runs", help="list past runs")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--html",
        nargs="?",
        const=Path("reports") / "index.html",
        type=Path,
        metavar="PATH",
        help="also write the history page: every run, and accuracy and cost trends per "
        "suite (default: reports/index.html)",
    )


def cmd_report(args: argparse.Namespace) -> int:
    from evals.errors import InputError
    from evals.report.table import print_summary
    from evals.report.writer import REPORTS, write_report
    from evals.store import open_store

    store = open_store()
    try:
        run_id = store.latest_run_id() if args.run_id == "latest" else args.run_id
        run = store.run(run_id) if run_id is not None else None
        if run_id is None or run is None:
            raise InputError(f"no run '{args.run_id}' in {store.path}: `evals runs` lists them")
        out_dir = args.out or REPORTS / run_id
        if run["config"].get("mode") == "load":  # a load test: its page, from its stored rows
            from evals.report.load_page import write_load_report

            page = write_load_report(run["config"]["load"], out_dir / "index.html")
            print(f"report: {page}", file=sys.stderr)
            return 0
        summary = write_report(store, run_id, args.out, score_ci=args.score_ci)
    finally:
        store.close()
    print_summary(summary, sys.stdout)
    print(f"report: {out_dir / 'index.html'}", file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    import json

    from evals.store import open_store

    store = open_store()
    try:
        runs = store.runs()
        waiting = {run["run_id"]: _waiting(store, run) for run in runs if _mode(run) != "run"}
        if args.html is not None:
            from evals.errors import InputError
            from evals.report.history import write_history

            try:
                page = write_history(store, args.html)
            except OSError as exc:
                raise InputError(f"cannot write the history page: {exc}", args.html) from None
            print(f"history: {page}", file=sys.stderr)
    finally:
        store.close()
    if args.json:
        keep = ("run_id", "suites", "started_at", "finished_at", "complete", "planned", "results")
        print(
            json.dumps(
                [
                    {**{k: run[k] for k in keep}, "mode": _mode(run), **_batch_json(run, waiting)}
                    for run in runs
                ],
                indent=2,
            )
        )
        return 0
    if not runs:
        print("no runs yet: `evals run SUITE` makes one", file=sys.stderr)
    for run in runs:
        state = "complete" if run["complete"] else "INCOMPLETE"
        if _mode(run) == "load":
            state = "load test"
        extra = ""
        if waiting.get(run["run_id"]):
            state = "WAITING"
            extra = f"  ({_mode(run)}: {waiting[run['run_id']]} waiting)"
        print(
            f"{run['run_id']}  {run['started_at']}  {state:10}  "
            f"{run['results']}/{run['planned']}  {', '.join(run['suites'])}{extra}"
        )
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    from evals.report.table import print_summary
    from evals.run.api import load_summary, regrade_run

    run_id, count = regrade_run(args.run_id)
    print(f"regraded {count} samples of run {run_id}", file=sys.stderr)
    print_summary(load_summary(run_id), sys.stdout)
    print(f"report: {Path('reports') / run_id / 'index.html'}", file=sys.stderr)
    return 0


def _waiting(store, run: dict) -> int:
    """Batches of a batch run not yet ingested (at the provider, or files to run)."""
    if run["complete"] or _mode(run) not in ("batch", "batch-file"):
        return 0
    return sum(batch.state != "ingested" for batch in store.batches(run["run_id"]))


def _batch_json(run: dict, waiting: dict[str, int]) -> dict:
    if _mode(run) not in ("batch", "batch-file"):
        return {}
    return {"batches_waiting": waiting.get(run["run_id"], 0)}


def _mode(run: dict) -> str:
    """ "run" (an evaluation sent online), "batch" / "batch-file" (sent as batches) or
    "load" (an `evals load` test, its rows in the config)."""
    return str((run.get("config") or {}).get("mode") or "run")
