"""`evals store push`, and `--store URL|PATH` on every command that reads or writes runs."""

from __future__ import annotations

import argparse
import os
import sys

STORE_COMMANDS = (
    "run",
    "worker",
    "report",
    "runs",
    "regrade",
    "compare",
    "export",
    "forecast",
    "load",
    "ingest",
    "store",
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="copy runs between stores (SQLite, PostgreSQL)")
    actions = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    push = actions.add_parser(
        "push", help="copy runs (results, batch state, their cached responses) into a store"
    )
    push.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="run ids, or `latest`")
    push.add_argument(
        "--to", required=True, metavar="URL|PATH", help="the store to copy into (postgresql://...)"
    )


def add_store_option(sub: argparse._SubParsersAction) -> None:
    """`--store` on each command that opens the store (it sets EVALS_STORE for the run)."""
    for name in STORE_COMMANDS:
        sub.choices[name].add_argument(
            "--store",
            metavar="URL|PATH",
            help="the store: a postgresql:// URL (credentials from PGPASSWORD or ~/.pgpass) "
            "or a SQLite file (default: $EVALS_STORE, else $EVALS_HOME/evals.sqlite)",
        )


def apply_store_option(args: argparse.Namespace) -> None:
    if getattr(args, "store", None):
        os.environ["EVALS_STORE"] = args.store


def cmd_store(args: argparse.Namespace) -> int:
    from evals.store import open_store
    from evals.store.copy import push_runs

    source = open_store()
    try:
        target = open_store(args.to)
        try:
            copied = push_runs(source, target, args.run_ids)
        finally:
            target.close()
    finally:
        source.close()
    for run_id, results in copied:
        print(f"{run_id}: {results} results in {target.path}", file=sys.stderr)
    return 0
