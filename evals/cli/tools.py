"""`evals validate` and `evals sim`: checking files, serving the simulated endpoint."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check suites and runner profiles, send nothing")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p = sub.add_parser("sim", help="serve the simulated OpenAI-compatible endpoint")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8089)
    p.add_argument("--config", type=Path, help="YAML of simulated models")
    p.add_argument("--log", type=Path, help="append one JSON line per request here")


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
