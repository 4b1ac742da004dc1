"""The `evals` command: parse arguments, call the library, set the exit code.

Imports are deferred into each command so `evals --help` stays fast.
Exit codes: 0 ok, 1 a gate failed, 2 bad input or usage, 3 run incomplete.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_RUNNER = Path("runners/local.yaml")


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run suites against the models of a runner profile")
    p.add_argument("suites", nargs="*", type=Path, metavar="SUITE")
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
    p.add_argument("--repeat", type=int, default=1, metavar="K", help="samples per case")
    p.add_argument(
        "--concurrency", type=int, metavar="N", help="cap on requests in flight per endpoint"
    )
    p.add_argument("--limit", type=int, metavar="N", help="only the first N cases of each suite")
    p.add_argument("--dry-run", action="store_true", help="check everything, send nothing")
    p.add_argument("--out", type=Path, metavar="DIR", help="report folder (default reports/RUN_ID)")
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
        "--fail-under",
        type=float,
        metavar="ACCURACY",
        help="exit 1 when any row's accuracy is below this (0..1)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evals",
        description="Evaluate and cost-benchmark OpenAI-compatible LLM endpoints.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub)
    p = sub.add_parser("report", help="rebuild a run's report from the store")
    p.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    p.add_argument("--out", type=Path, metavar="DIR")
    p = sub.add_parser("runs", help="list past runs")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("validate", help="check suites and runner profiles, send nothing")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p = sub.add_parser("sim", help="serve the simulated OpenAI-compatible endpoint")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8089)
    p.add_argument("--config", type=Path, help="YAML of simulated models")
    p.add_argument("--log", type=Path, help="append one JSON line per request here")
    return parser


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from evals.errors import InputError
    from evals.run.execute import RunOptions, execute

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
    if not args.resume and not args.runner.exists():
        raise InputError(f"runner profile {args.runner} not found: pass one with -r FILE")
    return execute(
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
            max_cost=args.max_cost,
            no_cache=args.no_cache,
            resume=args.resume,
            argv=argv,
        )
    )


def cmd_report(args: argparse.Namespace) -> int:
    from evals.errors import InputError
    from evals.report.table import print_summary
    from evals.report.writer import write_report
    from evals.store import Store

    store = Store()
    try:
        run_id = store.latest_run_id() if args.run_id == "latest" else args.run_id
        if run_id is None or store.run(run_id) is None:
            raise InputError(f"no run '{args.run_id}' in {store.path}: `evals runs` lists them")
        out_dir = args.out or Path("reports") / run_id
        summary = write_report(store, run_id, out_dir)
    finally:
        store.close()
    print_summary(summary, sys.stdout)
    print(f"report: {out_dir / 'index.html'}", file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    import json

    from evals.store import Store

    store = Store()
    try:
        runs = store.runs()
    finally:
        store.close()
    if args.json:
        keep = ("run_id", "suites", "started_at", "finished_at", "complete", "planned", "results")
        print(json.dumps([{k: run[k] for k in keep} for run in runs], indent=2))
        return 0
    if not runs:
        print("no runs yet: `evals run SUITE` makes one", file=sys.stderr)
    for run in runs:
        state = "complete" if run["complete"] else "INCOMPLETE"
        print(
            f"{run['run_id']}  {run['started_at']}  {state:10}  "
            f"{run['results']}/{run['planned']}  {', '.join(run['suites'])}"
        )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from evals.config.validate import validate_file

    for path in args.files:
        print(f"{path}: ok ({validate_file(path)})")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    from evals.errors import InputError
    from evals.sim.config import ConfigError, load_config
    from evals.sim.server import serve

    if not 0 <= args.port <= 65535:
        raise InputError(
            f"--port {args.port} is out of range: pass a port from 1 to 65535 (0 picks a free one)"
        )
    try:
        load_config(args.config)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    serve(
        args.host,
        args.port,
        str(args.config) if args.config else None,
        str(args.log) if args.log else None,
    )
    return 0


def _stdout_closed() -> bool:
    """True when stdout is a pipe (or socket) whose reader has gone away."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), stdout not a real fd
        return False


def _broken_pipe() -> int:
    """`evals runs | head -1`: stop quietly, and keep the exit-time flush from raising again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    try:
        print("error: output closed early (broken pipe)", file=sys.stderr, flush=True)
    except OSError:  # stderr went into the same closed pipe (2>&1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())
        os.close(devnull)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from evals.errors import InputError

    try:
        if args.command == "run":
            code = cmd_run(args, argv)
        else:
            handlers = {
                "report": cmd_report,
                "runs": cmd_runs,
                "validate": cmd_validate,
                "sim": cmd_sim,
            }
            code = handlers[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        if not _stdout_closed():
            raise  # a socket of our own, not the reader of our output: a real bug
        return _broken_pipe()
    except InputError as exc:
        from evals.redact import redact

        print(f"error: {redact(exc.render())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 3
