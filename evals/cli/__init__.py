"""The `evals` command: parse arguments, call the library, set the exit code.

One module per command family (run; report and runs; validate and sim); this
one parses and turns user errors into one line and exit 2. Imports are deferred
into each command so `evals --help` stays fast.
Exit codes: 0 ok, 1 a gate failed, 2 bad input or usage, 3 run incomplete.
"""

from __future__ import annotations

import argparse
import sys

from evals.cli import batch, compare, forecast, history, importers, load, store, tools
from evals.cli import run as run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evals",
        description="Evaluate and cost-benchmark OpenAI-compatible LLM endpoints.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_cli.add_parser(sub)
    run_cli.add_worker_parser(sub)
    history.add_parsers(sub)
    compare.add_parsers(sub)
    forecast.add_parsers(sub)
    tools.add_parsers(sub)
    importers.add_parsers(sub)
    load.add_parsers(sub)
    batch.add_parsers(sub)
    store.add_parsers(sub)
    store.add_store_option(sub)
    return parser


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

    store.apply_store_option(args)
    try:
        if args.command == "run":
            code = run_cli.cmd_run(args, argv)
        elif args.command == "worker":
            code = run_cli.cmd_worker(args, argv)
        else:
            handlers = {
                "report": history.cmd_report,
                "runs": history.cmd_runs,
                "regrade": history.cmd_regrade,
                "compare": compare.cmd_compare,
                "export": compare.cmd_export,
                "forecast": forecast.cmd_forecast,
                "validate": tools.cmd_validate,
                "sim": tools.cmd_sim,
                "import": importers.cmd_import,
                "load": load.cmd_load,
                "ingest": batch.cmd_ingest,
                "store": store.cmd_store,
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
