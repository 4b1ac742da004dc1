"""Write a run's report folder (summary.json, index.html) from the store."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from evals.report.model import Summary, as_json
from evals.report.summary import build_summary
from evals.store import ResultStore

MAX_CASE_ROWS = 5000  # a browser stays responsive; the store keeps every sample


Flips = Mapping[tuple[str, str, str, str, int], str]  # (suite, case, prompt, model, repeat)


def _case_row(row: Any, flip: str | None) -> dict[str, Any]:
    return {
        "suite": row.suite,
        "case_id": row.case_id,
        "prompt": row.prompt,
        "model": row.model,
        "repeat": row.repeat,
        "vars": row.vars,
        "expect": row.expect,
        "output": row.output,
        "tool_calls": row.tool_calls,
        "passed": None if row.error else bool(row.passed),
        "score": row.score,
        "grades": row.grades,
        "error": row.error,
        "finish_reason": row.finish_reason,
        "latency_s": row.latency_s,
        "prompt_tokens": row.prompt_tokens,
        "cached_tokens": row.cached_tokens,
        "completion_tokens": row.completion_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "cost_usd": row.cost_usd,
        "cache_hit": row.cache_hit,
        "flip": flip,
    }


def case_rows(
    store: ResultStore, run_id: str, limit: int | None = None, flips: Flips | None = None
) -> Iterator[dict[str, Any]]:
    """Per-sample rows for the HTML report, streamed; with a limit, problems come first.

    With `flips` (a baseline comparison's "pass->fail" / "fail->pass" per sample),
    the flipped samples come before everything else."""

    def key(row: Any) -> tuple[str, str, str, str, int]:
        return (row.suite, row.case_id, row.prompt, row.model, row.repeat)

    shown = 0
    if flips:
        for row in store.results(run_id):
            if key(row) in flips and (limit is None or shown < limit):
                shown += 1
                yield _case_row(row, flips[key(row)])
    rest = None if limit is None else max(limit - shown, 0)
    for row in store.results(run_id, problems_first=limit is not None, limit=rest):
        if not flips or key(row) not in flips:
            yield _case_row(row, None)


def write_summary_json(summary: Summary | Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(summary), indent=2) + "\n", encoding="utf-8")


def write_report(
    store: ResultStore,
    run_id: str,
    out_dir: Path,
    flips: Flips | None = None,
    score_ci: str | None = None,
) -> Summary:
    """Write `out_dir/summary.json` and `out_dir/index.html`; return the summary.

    `flips` (from a baseline comparison) puts the samples that flipped first."""
    from evals.report.html import write_html

    summary = build_summary(store, run_id, score_ci)
    write_summary_json(summary, out_dir / "summary.json")
    shown, limit = summary, None
    total = store.count_results(run_id)
    if total > MAX_CASE_ROWS:
        note = (
            f"the cases table shows {MAX_CASE_ROWS:,} of {total:,} samples, errors and "
            f"failures first; every sample is in {store.path} (table `results`)"
        )
        shown, limit = replace(summary, warnings=[*summary.warnings, note]), MAX_CASE_ROWS
    write_html(out_dir / "index.html", shown, case_rows(store, run_id, limit, flips))
    return summary
