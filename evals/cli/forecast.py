"""`evals forecast`: what N requests per month (week, day) would cost, from a past run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from evals.decide.forecast import Forecast

_PERIODS = ("month", "week", "day")  # evals.decide.forecast.PERIODS (not imported: --help)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="what N requests would cost, from a past run's usage")
    p.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    p.add_argument("--requests", type=int, required=True, metavar="N", help="requests per period")
    p.add_argument("--per", choices=_PERIODS, default="month", help="the period (default month)")
    p.add_argument("--batch", action="store_true", help="price at batch (Batch API) rates")
    p.add_argument(
        "--cache-hit-rate",
        type=float,
        metavar="R",
        help="bill this share of prompt tokens at the cached rate (0..1) instead of the observed",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the forecast as JSON")


def cmd_forecast(args: argparse.Namespace) -> int:
    from evals.decide.forecast import forecast
    from evals.errors import InputError
    from evals.store import open_store

    if args.requests < 1:
        raise InputError("--requests is a number of requests, at least 1")
    rate = args.cache_hit_rate
    if rate is not None and not 0.0 <= rate <= 1.0:
        raise InputError("--cache-hit-rate is a share of prompt tokens, between 0 and 1")
    store = open_store()
    try:
        run_id = store.latest_run_id() if args.run_id == "latest" else args.run_id
        run = None if run_id is None else store.run(run_id)
        if run is None:
            raise InputError(f"no run '{args.run_id}' in {store.path}: `evals runs` lists them")
        results = list(store.results(run_id))
    finally:
        store.close()
    if not results:
        raise InputError(f"run {run_id} has no results to forecast from")
    result = forecast(run, results, args.requests, args.per, args.batch, rate, args.seed)
    print_forecast(result, sys.stdout)
    for row in result.rows:
        if row.note:
            print(f"note: {row.suite}/{row.prompt}/{row.model}: {row.note}", file=sys.stderr)
    if args.json:
        import json

        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"forecast: {args.json}", file=sys.stderr)
    return 0


def _usd(value: float | None) -> str:
    """Whole dollars from $100, cents from $1, four significant digits below."""
    import math

    if value is None:
        return "unknown"
    if value >= 100 or value == 0:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.{3 - math.floor(math.log10(value))}f}"


def print_forecast(result: Forecast, file: TextIO) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    how = []
    if result.batch:
        how.append("batch rates")
    if result.cache_hit_rate is not None:
        how.append(f"{result.cache_hit_rate:.0%} of prompt tokens billed as cached")
    title = f"forecast: {result.requests:,} requests per {result.per}, from run {result.run_id}" + (
        f" ({'; '.join(how)})" if how else ""
    )
    table = Table(title=escape(title), title_justify="left", caption_justify="left")
    table.caption = escape(f"prices: {result.prices}")
    headers = ("suite", "prompt", "model", f"per {result.per}", "95% CI", "input", "cached")
    headers += ("output", "(reasoning)", "per request", "price as_of")
    for header in headers:
        numeric = header not in ("suite", "prompt", "model", "price as_of")
        table.add_column(header, justify="right" if numeric else "left")
    for row in result.rows:
        ci = "—" if row.ci_low_usd is None else f"{_usd(row.ci_low_usd)}–{_usd(row.ci_high_usd)}"
        as_of = "hourly" if row.cost_basis == "hourly" else (row.price_as_of or "—")
        table.add_row(
            *(escape(text) for text in (row.suite, row.prompt, row.model)),
            _usd(row.expected_usd),
            ci,
            *(
                "—" if value is None else _usd(value)
                for value in (row.input_usd, row.cached_input_usd, row.output_usd)
            ),
            "—" if row.reasoning_usd is None else _usd(row.reasoning_usd),
            _usd(row.per_request_usd),
            escape(as_of),
        )
    Console(file=file, width=200, highlight=False).print(table)
