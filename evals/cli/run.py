"""`evals run`: its arguments, what it prints, and its exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.run.options import RunOptions
    from evals.run.prepare import Prepared

DEFAULT_RUNNER = Path("runners/local.yaml")
EXIT_OK, EXIT_GATE, EXIT_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3


def add_selection(p: argparse.ArgumentParser) -> None:
    """-r RUNNER, -m MODEL_ID..., --prompt NAME...: which runner, models and prompts (the
    same for `evals run` and `evals load`)."""
    p.add_argument(
        "-r",
        "--runner",
        type=Path,
        default=DEFAULT_RUNNER,
        help=f"runner profile (default: {DEFAULT_RUNNER})",
    )
    p.add_argument(
        "-m",
        "--model",
        dest="models",
        action="append",
        default=[],
        metavar="MODEL_ID",
        help="only this model id (repeatable)",
    )
    p.add_argument(
        "--prompt",
        dest="prompts",
        action="append",
        default=[],
        metavar="NAME",
        help="only this prompt variant (repeatable)",
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run suites against the models of a runner profile")
    p.add_argument("suites", nargs="*", type=Path, metavar="SUITE")
    add_selection(p)
    p.add_argument("--repeat", type=int, default=1, metavar="K", help="samples per case")
    p.add_argument(
        "--concurrency", type=int, metavar="N", help="cap on requests in flight per endpoint"
    )
    p.add_argument("--limit", type=int, metavar="N", help="only the first N cases of each suite")
    p.add_argument("--dry-run", action="store_true", help="check everything, send nothing")
    p.add_argument("--out", type=Path, metavar="DIR", help="report folder (default reports/RUN_ID)")
    p.add_argument(
        "--score-ci",
        choices=("t", "bootstrap"),
        default="t",
        help="interval of partial-credit mean scores: t (default) or a seeded bootstrap",
    )
    p.add_argument("--summary-json", type=Path, metavar="PATH")
    p.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="stop before new spend could pass this; the run stays resumable",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="do not replay cached responses (fresh ones are still cached)",
    )
    p.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    p.add_argument(
        "--mode",
        choices=("online", "batch", "batch-file"),
        default="online",
        help="online (default); batch: the provider's Batch API (batch rates, answers within "
        "24 h); batch-file: write batch JSONL files to --out for `vllm run-batch`, then "
        "`evals ingest`",
    )
    p.add_argument(
        "--fallback",
        choices=("batch", "online"),
        default="batch",
        help="batch mode: send what a batch left unanswered (failed, expired, cancelled) as "
        "a new batch (default) or online",
    )
    p.add_argument(
        "--judge-mode",
        choices=("online", "batch"),
        default="online",
        help="batch mode: model-graded graders' judge calls online (default) or as a second batch",
    )
    p.add_argument(
        "--detach",
        action="store_true",
        help="batch mode: submit the batches and exit; `--resume RUN_ID` re-attaches later",
    )
    add_fleet_options(p)
    p.add_argument(
        "--distributed",
        action="store_true",
        help="share the run with workers on other machines (`evals worker RUN_ID`) through "
        "a PostgreSQL store (--store postgresql://...)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=50,
        metavar="N",
        help="distributed: cases per chunk a worker claims (default 50)",
    )
    p.add_argument(
        "--poll-max",
        type=float,
        default=60.0,
        metavar="S",
        help="batch mode: longest wait between two looks at a batch (default 60 s)",
    )
    p.add_argument(
        "--fail-under",
        type=float,
        metavar="ACCURACY",
        help="exit 1 when any row's accuracy is below this (0..1)",
    )
    p.add_argument(
        "--baseline",
        metavar="RUN_ID|latest|FILE",
        help="compare with this run (or an `evals export` file) after the run; "
        "exit 1 on a regression",
    )
    p.add_argument(
        "--baseline-store",
        metavar="URL|PATH",
        help="look --baseline (latest or a run id) up in this store instead of the run's "
        "own: e.g. the team's shared store while this run stays local",
    )
    p.add_argument(
        "--junit",
        type=Path,
        metavar="PATH",
        help="JUnit XML: the --baseline comparison, else one test per row (--fail-under)",
    )


def add_fleet_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lease",
        type=float,
        default=30.0,
        metavar="S",
        help="distributed: a chunk whose worker has been silent this long is claimed by "
        "another (default 30 s)",
    )


def add_worker_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="join a distributed run and work on it until it is done")
    p.add_argument("run_id", metavar="RUN_ID")
    add_fleet_options(p)
    p.add_argument(
        "--concurrency", type=int, metavar="N", help="cap on requests in flight per endpoint"
    )
    p.add_argument(
        "--max-cost", type=float, metavar="USD", help="the fleet's cap (default: the run's)"
    )


def cmd_worker(args: argparse.Namespace, argv: list[str]) -> int:
    from evals.errors import InputError
    from evals.run.options import RunOptions

    if args.lease <= 0:
        raise InputError("--lease is a number of seconds above 0")
    return run_command(
        RunOptions(
            suite_paths=[],
            runner_path=Path("."),
            resume=args.run_id,
            concurrency=args.concurrency,
            max_cost=args.max_cost,
            distributed=True,
            lease_s=args.lease,
            argv=argv,
        )
    )


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from evals.errors import InputError
    from evals.run.options import RunOptions

    if args.repeat < 1 or (args.concurrency is not None and args.concurrency < 1):
        raise InputError("--repeat and --concurrency must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1")
    if args.fail_under is not None and not 0 <= args.fail_under <= 1:
        raise InputError("--fail-under is an accuracy between 0 and 1")
    if args.max_cost is not None and args.max_cost < 0:
        raise InputError("--max-cost is an amount in USD, 0 or more")
    if not args.suites and not args.resume:
        raise InputError("name at least one SUITE file (or --resume RUN_ID)")
    if args.mode == "batch-file" and not args.out and not args.resume:
        raise InputError("--mode batch-file writes its files to a folder: give --out DIR")
    batch_only = [
        flag
        for flag, given in (
            ("--detach", args.detach),
            ("--fallback online", args.fallback != "batch"),
            ("--judge-mode batch", args.judge_mode != "online"),
        )
        if given
    ]
    if batch_only and args.mode != "batch" and not args.resume:
        raise InputError(f"{', '.join(batch_only)} only apply with --mode batch")
    if args.distributed and (args.mode != "online" or args.chunk_size < 1 or args.lease <= 0):
        raise InputError("--distributed runs online, with --chunk-size >= 1 and --lease > 0")
    if args.poll_max <= 0:
        raise InputError("--poll-max is a number of seconds above 0")
    if not args.resume and not args.runner.exists():
        raise InputError(f"runner profile {args.runner} not found: pass one with -r FILE")
    return run_command(
        RunOptions(
            suite_paths=args.suites,
            runner_path=args.runner,
            model_ids=args.models,
            prompts=args.prompts,
            repeat=args.repeat,
            concurrency=args.concurrency,
            limit=args.limit,
            dry_run=args.dry_run,
            out_dir=args.out,
            summary_json=args.summary_json,
            fail_under=args.fail_under,
            baseline=args.baseline,
            baseline_store=args.baseline_store,
            score_ci=args.score_ci,
            junit=args.junit,
            max_cost=args.max_cost,
            no_cache=args.no_cache,
            resume=args.resume,
            mode=args.mode,
            fallback=args.fallback,
            judge_mode=args.judge_mode,
            detach=args.detach,
            poll_max_s=args.poll_max,
            distributed=args.distributed,
            chunk_size=args.chunk_size,
            lease_s=args.lease,
            argv=argv,
        )
    )


class PrintedEvents:
    """A run's news, printed to stderr (`run: ID` first, so scripts can read it)."""

    def started(self, run_id: str) -> None:
        print(f"run: {run_id}", file=sys.stderr, flush=True)

    def warning(self, text: str) -> None:
        print(f"warning: {text}", file=sys.stderr)

    def note(self, text: str) -> None:
        print(f"note: {text}", file=sys.stderr)


def run_command(options: RunOptions) -> int:
    from evals.report.table import print_summary
    from evals.run.execute import execute, plan_only
    from evals.store import open_store

    store = open_store()
    try:
        if options.baseline:  # a baseline that cannot be found fails before any spend
            from evals.decide.sources import check_source

            with _baseline_store(store, options.baseline_store) as source:
                check_source(source, options.baseline)
        if options.dry_run:
            _print_plan(plan_only(options, store), options, store)
            return EXIT_OK
        result = execute(options, store, PrintedEvents())
    finally:
        store.close()
    if result.already_complete:
        print(f"run {result.run_id} is already complete: nothing to resume", file=sys.stderr)
        return EXIT_OK
    if result.summary["rows"] or result.stop_reason != "batch-waiting":
        print_summary(result.summary, sys.stdout)
    print(f"report: {result.report_dir / 'index.html'}", file=sys.stderr)
    if result.stop_reason == "batch-waiting":  # incomplete, as the contract says: exit 3
        _explain_waiting(result.run_id, result.prepared, options)
        return EXIT_INCOMPLETE
    if not result.complete:
        _explain_incomplete(result.run_id, result.stored, result.prepared, result.stop_reason)
        if options.baseline:
            print("baseline: not compared, the run is incomplete", file=sys.stderr)
        return EXIT_INCOMPLETE
    # precedence: incomplete (3) > regression against --baseline (1) > --fail-under (1) > 0
    gate = _gate(result.summary, options.fail_under)
    if not options.baseline:
        if options.junit:
            from evals.decide.outputs import gate_junit, write_text

            write_text(
                options.junit, gate_junit(result.run_id, result.summary["rows"], options.fail_under)
            )
        return gate
    from evals.cli.compare import baseline_gate
    from evals.report.writer import write_report

    store = open_store()
    try:
        with _baseline_store(store, options.baseline_store) as source:
            regression, flips = baseline_gate(
                store, result.run_id, options.baseline, options.junit, source
            )
        if flips:  # the report shows what changed since the baseline first
            write_report(store, result.run_id, result.report_dir, flips)
    finally:
        store.close()
    return regression or gate


@contextmanager
def _baseline_store(store: Any, location: str | None) -> Iterator[Any]:
    """Where --baseline is looked up: `--baseline-store`, else the run's own store."""
    if location is None:
        yield store
        return
    from evals.store import open_store

    other = open_store(location)
    try:
        yield other
    finally:
        other.close()


def _explain_incomplete(run_id: str, stored: int, prepared: Prepared, reason: str | None) -> None:
    why = {
        "budget": "the --max-cost budget would have been exceeded",
        "interrupted": "it was interrupted",
        "failed": "no request succeeded (the errors are listed above)",
    }.get(reason or "", reason or "some requests got no result")
    print(
        f"run {run_id} is incomplete ({stored} of {prepared.planned} results): {why}. "
        f"`evals run --resume {run_id}` finishes it"
        + (" (raise --max-cost)" if reason == "budget" else ""),
        file=sys.stderr,
    )


def _explain_waiting(run_id: str, prepared: Prepared, options: RunOptions) -> None:
    """A batch run that is waiting for its answers: how to get them."""
    if options.mode == "batch-file":
        print(
            f"run {run_id} waits for its answers: run each file as above (or with any runner "
            f"of the OpenAI batch format), then `evals ingest {run_id} OUTPUT...`",
            file=sys.stderr,
        )
        return
    print(
        f"run {run_id}: its batches are at the provider; `evals run --resume {run_id}` "
        "re-attaches, stores and grades the answers (`evals runs` shows it waiting)",
        file=sys.stderr,
    )


def _gate(summary: dict[str, Any], fail_under: float | None) -> int:
    if fail_under is None:
        return EXIT_OK
    failing = [
        row for row in summary["rows"] if row["accuracy"] is None or row["accuracy"] < fail_under
    ]
    for row in failing:
        print(
            f"gate: {row['suite']}/{row['prompt']}/{row['model']} accuracy "
            f"{row['accuracy']} is under {fail_under}",
            file=sys.stderr,
        )
    return EXIT_GATE if failing else EXIT_OK


def _print_plan(prepared: Prepared, options: RunOptions, store: Any) -> None:
    from evals.run.estimates import estimate_plan
    from evals.run.prepare import adaptation_notes, resumed_options

    if options.resume:
        options = resumed_options(options, store)
    estimates = estimate_plan(prepared, options, store)
    for warning in prepared.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"plan: {prepared.planned} requests", file=sys.stderr)
    for suite in prepared.suites:
        print(
            f"  suite {suite.name}: {prepared.case_counts[suite.name]} cases, "
            f"prompts {', '.join(suite.prompts)}",
            file=sys.stderr,
        )
    for model in prepared.models:
        api = ", Responses API" if model.api == "responses" else ""
        print(f"  model {model.id} -> {model.endpoint} ({model.api_model}{api})", file=sys.stderr)
        for note in adaptation_notes(prepared.suites, model):
            print(f"    {note}", file=sys.stderr)
        rows = [row for row in estimates if row.model == model.id]
        print(f"    {_estimate_text(prepared.per_model[model.id], rows)}", file=sys.stderr)
        for row in rows:
            where = row.basis if row.history_run is None else f"history: run {row.history_run}"
            one = _estimate_text(row.requests, [row])
            print(f"      {row.suite}/{row.prompt}: {one} [{where}]", file=sys.stderr)
    if estimates:
        print(
            "  estimate: history = the mean tokens per request of the newest earlier run of "
            "the row; characters = prompt characters / 3 + 4 per message + 3, completion = "
            "the request's max tokens (4096 when it sets none): both err high",
            file=sys.stderr,
        )


def _estimate_text(requests: int, rows: list) -> str:
    """`N requests, about P prompt + C completion tokens, $X` (the sums of `rows`)."""
    if not rows:
        return f"{requests} requests (no token estimate for this kind of suite)"
    prompt = sum(row.prompt_tokens for row in rows)
    completion = sum(row.completion_tokens for row in rows)
    costs = [row.cost_usd for row in rows]
    hourly = any(row.cost_basis == "hourly" for row in rows)
    if None in costs:
        dollars = "cost unknown" + (" (hourly: no earlier run to time)" if hourly else "")
    else:
        dollars = f"${sum(costs):.6f}" + (" (hourly)" if hourly else "")
    tokens = f"about {prompt:,} prompt + {completion:,} completion tokens"
    return f"{requests} requests, {tokens}, {dollars}"
