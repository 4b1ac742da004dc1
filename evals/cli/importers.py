"""`evals import promptfoo CONFIG` and `evals import openai-evals REGISTRY_YAML`.

Both write a suite (its cases, a runner profile) and list what they could not carry
over; exit 0 when something was imported (the list is a warning), 2 when nothing was.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="turn another tool's config into suites and a runner")
    tools = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    pf = tools.add_parser("promptfoo", help="a promptfoo config (promptfooconfig.yaml)")
    pf.add_argument("config", type=Path, metavar="CONFIG")
    pf.add_argument(
        "--out", type=Path, metavar="DIR", help="default: imported/<the config's folder name>"
    )
    oe = tools.add_parser("openai-evals", help="an openai/evals registry YAML")
    oe.add_argument("registry", type=Path, metavar="REGISTRY_YAML")
    oe.add_argument("--out", type=Path, metavar="DIR", help="default: imported/<registry name>")
    oe.add_argument("--eval", dest="eval_name", metavar="NAME", help="import this eval only")
    oe.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="where samples_jsonl paths start (default: the registry's data/ folder)",
    )


def cmd_import(args: argparse.Namespace) -> int:
    from evals.errors import InputError

    if args.source == "promptfoo":
        from evals.importers.promptfoo import import_config

        source = args.config
        result = import_config(args.config, args.out)
    else:
        from evals.importers.openai_evals import import_registry

        source = args.registry
        out = args.out or Path("imported") / args.registry.stem
        result = import_registry(args.registry, out, args.eval_name, data_dir=args.data)
    for path in result.written:
        print(f"wrote {path}")
    for item in result.skipped:
        print(f"warning: {item}", file=sys.stderr)
    print(
        f"imported {len(result.suites)} suite(s), {len(result.skipped)} item(s) not carried over",
        file=sys.stderr,
    )
    if not result.imported_anything:
        raise InputError(
            "nothing could be imported (no prompt or no test carried over; see the warnings)",
            source,
        )
    return 0
