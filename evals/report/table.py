"""The comparison table printed at the end of `evals run` (rich)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from evals.report.model import Summary, as_json


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _cost(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def print_summary(summary: Summary | Mapping[str, Any], file: TextIO) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    summary = as_json(summary)

    table = Table(title=f"run {summary['run_id']}", title_justify="left")
    for header in (
        "suite",
        "prompt",
        "model",
        "accuracy",
        "95% CI",
        "pass/n",
        "err",
        "p50 s",
        "p95 s",
        "prompt tok",
        "cached",
        "compl tok",
        "reason",
        "cost",
        "grader $",
    ):
        numeric = header not in ("suite", "prompt", "model")
        table.add_column(header, justify="right" if numeric else "left")
    for row in summary["rows"]:
        ci = f"{_pct(row['ci_low'])}–{_pct(row['ci_high'])}" if row["ci_low"] is not None else "—"
        table.add_row(
            row["suite"],
            row["prompt"],
            row["model"],
            _pct(row["accuracy"]),
            ci,
            f"{row['passed']}/{row['samples'] - row['errors']}",
            str(row["errors"]),
            _num(row["latency_p50_s"], ".2f"),
            _num(row["latency_p95_s"], ".2f"),
            _num(row["prompt_tokens"], ","),
            _num(row["cached_tokens"], ","),
            _num(row["completion_tokens"], ","),
            _num(row["reasoning_tokens"], ","),
            _cost(row["cost_usd"]),
            _cost(row["grader_cost_usd"]) if row["grader_cost_usd"] else "—",
        )
    console = Console(file=file, width=200 if not file.isatty() else None)
    console.print(table)
    for row in summary["rows"]:
        if row.get("recall_at_k"):
            recall = "  ".join(f"recall@{k} {v:.2f}" for k, v in row["recall_at_k"].items())
            mrr = row.get("mrr")
            console.print(
                f"{row['suite']} / {row['prompt']} / {row['model']}: {recall}"
                + (f"  MRR {mrr:.2f}" if mrr is not None else ""),
                markup=False,
                highlight=False,
            )
    for row in summary["rows"]:
        if row.get("metrics"):
            named = " · ".join(f"{k} {v['mean']:.3f}" for k, v in row["metrics"].items())
            console.print(
                f"{row['suite']} / {row['prompt']} / {row['model']}: {named}",
                markup=False,
                highlight=False,
            )
        if row.get("brier") is not None:
            console.print(
                f"{row['suite']} / {row['prompt']} / {row['model']}: Brier {row['brier']:.3f} "
                f"over {row['brier_samples']} samples scored from logprobs",
                markup=False,
                highlight=False,
            )
    for row in summary["rows"]:
        for kind in row.get("error_kinds", []):
            where = f"{row['suite']} / {row['prompt']} / {row['model']}"
            what = f"{kind['count']} of {row['samples']} {kind['kind']}: {kind['example']}"
            console.print(
                f"[red]errors:[/red] {escape(where)}: {escape(what)}",
                markup=True,
                highlight=False,
            )
    line = batch_line(summary)
    if line:
        console.print(line, markup=False, highlight=False)
    _print_decisions(console, summary, escape)
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", markup=True, highlight=False)


def batch_line(summary: Mapping[str, Any]) -> str | None:
    """A batch run's cost beside what the same answers would have cost online."""
    batch = summary.get("batch")
    if not batch:
        return None
    answered = sum(row.get("batch_samples") or 0 for row in summary["rows"])
    text = f"{summary.get('mode')}: {answered:,} answers from {batch['batches']} batch(es)"
    if batch.get("waiting"):
        text += f", {batch['waiting']} still waiting"
    cost, online = batch.get("cost_usd"), batch.get("online_cost_usd")
    if cost is not None and online is not None:
        saved = f", {1 - cost / online:.0%} less" if online > 0 else ""
        text += f"; cost {_cost(cost)}, online it would have cost {_cost(online)}{saved}"
    return text


def _print_decisions(console: Any, summary: Mapping[str, Any], escape: Any) -> None:
    """Per suite: the recommendation, then the comparisons whose difference is shown."""
    for suite, decision in (summary.get("per_suite") or {}).items():
        console.print(
            f"[bold]{escape(suite)}[/bold]: {escape(decision.get('recommendation') or '')}",
            highlight=False,
        )
        for c in decision.get("comparisons") or []:
            if not c.get("significant"):
                continue
            a, b = c["a"], c["b"]
            console.print(
                escape(
                    f"  {a['model']} ({a['prompt']}) vs {b['model']} ({b['prompt']}): "
                    f"{c['diff'] * 100:+.1f} points [{c['ci_low'] * 100:+.1f}, "
                    f"{c['ci_high'] * 100:+.1f}], Holm p {c['p_adjusted']:.2g} "
                    f"({c['test']}, {c['n_paired']} paired)"
                ),
                highlight=False,
            )
