"""`evals load`: an open-loop load test of the models of a runner profile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from evals.load.generator import StepResult

DEFAULT_RUNNER = Path("runners/local.yaml")
DEFAULT_DURATION = "60s"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from evals.cli.run import add_selection

    p = sub.add_parser(
        "load", help="open-loop load test: latency, throughput and goodput at target rates"
    )
    p.add_argument("suites", nargs="+", type=Path, metavar="SUITE", help="the requests to send")
    add_selection(p)
    p.add_argument("--limit", type=int, metavar="N", help="only the first N cases of each suite")
    p.add_argument("--rate", metavar="R[,R...]", help="target requests per second: 1,2,5,10")
    p.add_argument(
        "--concurrency-sweep",
        metavar="N[,N...]",
        help="also (or instead) a closed loop of N workers sending back to back: 1,8,32",
    )
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--duration",
        metavar="TIME",
        help=f"length of each step: 500ms, 60s, 2m (default {DEFAULT_DURATION})",
    )
    length.add_argument("--requests", type=int, metavar="N", help="requests per step instead")
    p.add_argument(
        "--arrival",
        choices=("poisson", "constant"),
        default="constant",
        help="constant gaps (default) or a Poisson process (exponential gaps)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the Poisson arrivals (default 0)")
    p.add_argument(
        "--slo", metavar="BOUNDS", help="goodput bounds: ttft=0.5s,e2e=5s,itl=50ms (any of them)"
    )
    p.add_argument(
        "--max-in-flight",
        type=int,
        default=1024,
        metavar="N",
        help="requests in flight at most; more are dropped and counted (default 1024)",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where the HTML report goes (default: reports/<run id>/)",
    )
    p.add_argument(
        "--records", type=Path, metavar="PATH", help="also write every request's record (JSONL)"
    )


def options_from(args: argparse.Namespace):
    from evals.errors import InputError
    from evals.load import LoadOptions
    from evals.load.schedule import parse_counts, parse_duration, parse_rates, parse_slo

    if args.rate is None and args.concurrency_sweep is None:
        raise InputError("give --rate R[,R...] (requests per second) or --concurrency-sweep N,...")
    rates = parse_rates(args.rate) if args.rate is not None else []
    sweep = parse_counts(args.concurrency_sweep) if args.concurrency_sweep is not None else []
    if args.requests is not None and args.requests < 1:
        raise InputError("--requests must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1")
    if args.max_in_flight < 1:
        raise InputError("--max-in-flight must be at least 1")
    duration = None
    if args.requests is None:
        duration = parse_duration(args.duration or DEFAULT_DURATION)
    if not args.runner.exists():
        raise InputError(f"runner profile {args.runner} not found: pass one with -r FILE")
    return LoadOptions(
        suite_paths=list(args.suites),
        runner_path=args.runner,
        model_ids=args.models,
        prompts=args.prompts,
        limit=args.limit,
        rates=rates,
        concurrencies=sweep,
        duration_s=duration,
        requests=args.requests,
        arrival=args.arrival,
        seed=args.seed,
        slo=parse_slo(args.slo) if args.slo else {},
        max_in_flight=args.max_in_flight,
    )


def _progress(step: StepResult) -> None:
    what = f"{step.rate:g} req/s" if step.rate is not None else f"concurrency {step.concurrency}"
    failed = sum(1 for r in step.records if not r.ok)
    print(
        f"{step.model} @ {what}: {len(step.records)} sent, {failed} failed, "
        f"{step.dropped} dropped in {step.wall_s:.2f} s",
        file=sys.stderr,
        flush=True,
    )


def cmd_load(args: argparse.Namespace) -> int:
    from evals.load import run_load
    from evals.run.execute import new_run_id, now_iso

    options = options_from(args)
    run_id, started_at = new_run_id(), now_iso()
    result = run_load(options, on_step=_progress)
    print(f"run: {run_id}", file=sys.stderr, flush=True)  # stored when it is over
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print_rows(result.rows, sys.stdout)
    for row in result.rows:
        if row["client_bound"]:
            print(
                f"warning: {row['model']} @ {_step_name(row)}: the sender ran late "
                f"(lateness p99 {row['lateness_p99_s'] * 1000:.1f} ms): the client, not the "
                "server, may be the bottleneck",
                file=sys.stderr,
            )
        if row["dropped"]:
            print(
                f"warning: {row['model']} @ {_step_name(row)}: {row['dropped']} requests "
                f"dropped (already {row['max_in_flight']} in flight)",
                file=sys.stderr,
            )
    report = {"run_id": run_id, **result.to_json()}
    _store_run(run_id, started_at, args, report)
    if args.json:
        import json

        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    from evals.report.load_page import write_load_report

    out = args.out or Path("reports") / run_id
    print(f"report: {write_load_report(report, out / 'index.html')}", file=sys.stderr)
    if args.records:
        import json

        args.records.parent.mkdir(parents=True, exist_ok=True)
        with args.records.open("w", encoding="utf-8") as out:
            for step in result.steps:
                for record in step.records:
                    out.write(json.dumps(record.to_json(), default=str) + "\n")
    return 0


def _store_run(run_id: str, started_at: str, args: argparse.Namespace, report: dict) -> None:
    """Keep the load test in the run store as a complete run of mode `load` (its rows in
    the config), so `evals runs` lists it and `evals report RUN_ID` redraws its page."""
    from evals.run.execute import now_iso
    from evals.store import open_store

    config = {
        "mode": "load",
        "argv": sys.argv[1:],
        "suite_paths": [str(p.resolve()) for p in args.suites],
        "runner_path": str(args.runner.resolve()),
        "load": report,
    }
    store = open_store()
    try:
        store.start_run(run_id, list(report.get("suites") or []), started_at, config)
        store.finish_run(run_id, now_iso(), complete=True)
    finally:
        store.close()


def _step_name(row: dict[str, Any]) -> str:
    if row["rate"] is not None:
        return f"{row['rate']:g} req/s"
    return f"concurrency {row['concurrency']}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f}"


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def print_rows(rows: list[dict[str, Any]], file: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="load", title_justify="left")
    headers = (
        "model",
        "target",
        "sent/n",
        "ok",
        "req/s",
        "ttft p50 ms",
        "ttft p99 ms",
        "itl p50 ms",
        "itl p99 ms",
        "e2e p50 ms",
        "e2e p99 ms",
        "tok/s",
        "tok/s/req",
        "err",
        "429",
        "goodput",
        "accuracy",
        "late p99 ms",
        "$/1M blend",
    )
    for header in headers:
        table.add_column(header, justify="left" if header == "model" else "right")
    for row in rows:
        cost = row["cost_per_1m_blended"]
        if cost is None and row["cost_basis"] == "per_hour":
            cost = row["cost_per_1m_output"]
        table.add_row(
            row["model"],
            _step_name(row),
            f"{row['sent']}/{row['requests']}",
            str(row["completed"]),
            _num(row["achieved_rate"], ".2f"),
            _ms(row["ttft_p50_s"]),
            _ms(row["ttft_p99_s"]),
            _ms(row["itl_p50_s"]),
            _ms(row["itl_p99_s"]),
            _ms(row["e2e_p50_s"]),
            _ms(row["e2e_p99_s"]),
            _num(row["output_tokens_per_s"], ".1f"),
            _num(row["output_tokens_per_s_per_request_p50"], ".1f"),
            str(sum(row["errors"].values())),
            str(row["rate_limited"]),
            "—" if row["goodput"] is None else f"{row['goodput'] * 100:.1f}%",
            "—" if row.get("accuracy") is None else f"{row['accuracy'] * 100:.1f}%",
            "—" if row["lateness_p99_s"] is None else f"{row['lateness_p99_s'] * 1000:.2f}",
            "—" if cost is None else f"${cost:.4f}",
        )
    console = Console(file=file, width=220 if not file.isatty() else None)
    console.print(table)
