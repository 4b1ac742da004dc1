"""`evals compare` and `evals export`, and the baseline gate of `evals run --baseline`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from evals.decide.compare import Comparison
    from evals.store import ResultStore

EXIT_OK, EXIT_GATE = 0, 1
MAX_FLIPS_PRINTED = 50  # per row and direction; --json has them all


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two runs row by row; exit 1 on a significant regression",
    )
    p.add_argument("base", metavar="BASE_RUN", help="run id, 'latest', or an `evals export` file")
    p.add_argument("new", metavar="NEW_RUN", help="run id, 'latest', or an `evals export` file")
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance level, after Holm adjustment across rows (default 0.05)",
    )
    p.add_argument(
        "--max-drop",
        type=float,
        metavar="D",
        help="also worse when accuracy fell by more than D (0.05 = 5 points), significant or not",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="write the comparison as JSON")
    p.add_argument("--junit", type=Path, metavar="PATH", help="write JUnit XML (one test per row)")
    p.add_argument("--markdown", type=Path, metavar="PATH", help="write a Markdown table")

    p = sub.add_parser("export", help="write a run's stored results (JSONL, CSV or Parquet)")
    p.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    p.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    p.add_argument("--out", type=Path, metavar="PATH", help="file to write (default: stdout)")


def cmd_compare(args: argparse.Namespace) -> int:
    from evals.decide.compare import compare_runs
    from evals.decide.sources import load_base, load_new
    from evals.store import open_store

    store = open_store()
    try:
        new = load_new(store, args.new)
        base = load_base(store, args.base, new)
    finally:
        store.close()
    comparison = compare_runs(base, new, alpha=args.alpha, max_drop=args.max_drop)
    write_outputs(comparison, json_path=args.json, junit=args.junit, markdown=args.markdown)
    return report(comparison, sys.stdout)


def write_outputs(
    comparison: Comparison,
    *,
    json_path: Path | None = None,
    junit: Path | None = None,
    markdown: Path | None = None,
) -> None:
    from evals.decide import outputs

    if json_path:
        outputs.write_text(json_path, outputs.comparison_json(comparison))
    if junit:
        outputs.write_text(junit, outputs.comparison_junit(comparison))
    if markdown:
        outputs.write_text(markdown, outputs.comparison_markdown(comparison))


def report(comparison: Comparison, file: TextIO) -> int:
    """Print the comparison; the exit code: 1 when any row is worse."""
    print_comparison(comparison, file)
    worse = comparison.worse
    for row in worse:
        print(f"regression: {row.label}: {row.reason}", file=sys.stderr)
    print(
        f"compare: {len(worse)} of {len(comparison.rows)} rows worse "
        f"({comparison.base.run_id} -> {comparison.new.run_id})",
        file=sys.stderr,
    )
    return EXIT_GATE if worse else EXIT_OK


def baseline_gate(
    store: ResultStore,
    run_id: str,
    baseline: str,
    junit: Path | None,
    baseline_store: ResultStore | None = None,
) -> tuple[int, dict[tuple[str, str, str, str, int], str]]:
    """`evals run --baseline`: compare this run (new) with the baseline (looked up in
    `baseline_store`, default `store`), print it, write the JUnit file when asked; the
    exit code (1 on a regression) and the samples that flipped ("pass->fail" /
    "fail->pass", by (suite, case, prompt, model, repeat))."""
    from evals.decide.compare import compare_runs
    from evals.decide.sources import from_store, load_base

    new = from_store(store, run_id)
    comparison = compare_runs(load_base(baseline_store or store, baseline, new), new)
    write_outputs(comparison, junit=junit)
    flips = {
        (row.key[0], flip["case_id"], row.key[1], row.key[2], flip["repeat"]): (
            "pass->fail" if flip["base_passed"] else "fail->pass"
        )
        for row in comparison.rows
        for flip in row.flips
    }
    return report(comparison, sys.stdout), flips


def cmd_export(args: argparse.Namespace) -> int:
    from evals.errors import InputError
    from evals.store import export, open_store

    if args.format == "parquet" and args.out is None:
        raise InputError("--format parquet writes a binary file: name it with --out PATH")
    store = open_store()
    try:
        run_id = store.latest_run_id() if args.run_id == "latest" else args.run_id
        if run_id is None:
            raise InputError(f"no runs in {store.path} yet: `evals run SUITE` makes one")
        export.run_header(store, run_id)  # an unknown run fails before any file is made
        if args.format == "parquet":
            count = export.write_parquet(store, run_id, args.out)
        else:
            writer = export.write_jsonl if args.format == "jsonl" else export.write_csv
            if args.out is None:
                count = writer(store, run_id, sys.stdout)
            else:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with args.out.open("w", encoding="utf-8", newline="") as out:
                    count = writer(store, run_id, out)
    finally:
        store.close()
    where = args.out if args.out else "stdout"
    print(f"export: {count} results of run {run_id} to {where}", file=sys.stderr)
    return EXIT_OK


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _signed(value: float | None, fmt: str, scale: float = 1.0) -> str:
    return "—" if value is None else format(value * scale, "+" + fmt)


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


_STYLE = {"worse": "[bold red]worse[/bold red]", "better": "[green]better[/green]", "same": "same"}


def print_comparison(comparison: Comparison, file: TextIO) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"compare {comparison.base.run_id} (base) -> {comparison.new.run_id} (new)",
        title_justify="left",
    )
    headers = ("suite", "prompt", "model", "base", "new", "diff", "95% CI", "p", "p adj")
    headers += ("verdict", "paired", "flips -/+", "Δ cost/case", "Δ p50 s", "Δ p95 s")
    for header in headers:
        left = header in ("suite", "prompt", "model", "verdict")
        table.add_column(header, justify="left" if left else "right")
    for row in comparison.rows:
        data: dict[str, Any] = row.to_json()
        ci = "—"
        if row.ci_low is not None and row.ci_high is not None:
            ci = f"{row.ci_low * 100:+.1f}…{row.ci_high * 100:+.1f}"
        table.add_row(
            *(escape(part) for part in row.key),
            _pct(row.base.accuracy),
            _pct(row.new.accuracy),
            _signed(row.diff, ".1f", 100),
            ci,
            _p(row.p_value),
            _p(row.p_adjusted),
            _STYLE[row.verdict],
            str(row.n_paired),
            f"{data['pass_to_fail']}/{data['fail_to_pass']}",
            _signed(data["cost_per_case_usd_change"], ".3g"),
            _signed(data["latency_p50_s_change"], ".3f"),
            _signed(data["latency_p95_s_change"], ".3f"),
        )
    console = Console(file=file, width=200 if not file.isatty() else None)
    console.print(table)

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    say(
        "diff and CI in accuracy points (new - base) over the paired samples; flips -/+: "
        "passed in base and failed in new / the reverse"
    )
    for row in comparison.rows:
        for base_passed, what in ((True, "pass -> fail"), (False, "fail -> pass")):
            flips = [f for f in row.flips if f["base_passed"] is base_passed]
            if not flips:
                continue
            names = [
                f["case_id"] + (f"#{f['repeat']}" if f["repeat"] else "")
                for f in flips[:MAX_FLIPS_PRINTED]
            ]
            more = len(flips) - len(names)
            say(
                f"flips {row.label}: {len(flips)} {what}: {', '.join(names)}"
                + (f", and {more} more (--json lists them all)" if more else "")
            )
        if row.only_in_base or row.only_in_new:
            say(
                f"unpaired {row.label}: {len(row.only_in_base)} samples only in base, "
                f"{len(row.only_in_new)} only in new (errors, or cases added or removed): "
                "left out of the test"
            )
        if row.diff is None:
            say(f"not compared {row.label}: no sample in common")
    for title, keys in (("base", comparison.only_in_base), ("new", comparison.only_in_new)):
        for key in keys:
            say(f"only in {title}: {' / '.join(key)} (not compared)")
