"""Write a run's report folder (summary.json, index.html) from the store."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from evals.report.explorer import Flips
from evals.report.model import Summary, as_json
from evals.report.summary import build_summary
from evals.store import ResultStore
from evals.store.rows import SampleText

MAX_CASE_ROWS = 100_000  # a page that opens in seconds, and a report that stays flat in memory


def case_rows(
    store: ResultStore, run_id: str, limit: int | None = None, flips: Flips | None = None
) -> Iterator[SampleText]:
    """The samples for the case explorer, streamed; with a limit, flipped samples
    (a baseline comparison's "pass->fail" / "fail->pass"), then problems, come first."""
    if limit is None:
        yield from store.sample_texts(run_id)
        return

    def key(row: SampleText) -> tuple[str, str, str, str, int]:
        return (row.suite, row.case_id, row.prompt, row.model, row.repeat)

    shown = 0
    if flips:
        for row in store.sample_texts(run_id):
            if key(row) in flips and shown < limit:
                shown += 1
                yield row
    for row in store.sample_texts(run_id, problems_first=True, limit=max(limit - shown, 0)):
        if not flips or key(row) not in flips:
            yield row


def chart_samples(store: ResultStore, run_id: str, summary: Summary) -> dict[Any, Any]:
    """Per row, the latencies, TTFTs and per-case outcomes its charts summarise."""
    from evals.report.charts import RowSamples

    samples = {}
    for row in summary.rows:
        found = RowSamples()
        repeated = row.repeats > 1  # per-case outcomes feed only the consistency chart
        for outcome in store.sample_outcomes(run_id, row.suite, row.prompt, row.model):
            if outcome.latency_s is not None:
                found.latencies.append(outcome.latency_s)
            if outcome.ttft_s is not None:
                found.ttfts.append(outcome.ttft_s)
            if repeated:
                found.case_outcomes.setdefault(outcome.case_id, []).append(outcome.passed)
        samples[(row.suite, row.prompt, row.model)] = found
    return samples


def write_summary_json(summary: Summary | Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(summary), indent=2) + "\n", encoding="utf-8")


REPORTS = Path("reports")  # reports/<run_id>/index.html, and reports/index.html: the history


def write_report(
    store: ResultStore,
    run_id: str,
    out_dir: Path | None = None,
    flips: Flips | None = None,
    score_ci: str | None = None,
) -> Summary:
    """Write `out_dir/summary.json` and `out_dir/index.html`; return the summary.

    Without `out_dir` the report goes to reports/<run_id>/ and the runs history,
    reports/index.html, is written again beside it. `flips` (from a baseline
    comparison) marks the samples that flipped, which the case explorer shows first."""
    from evals.report.charts import suite_charts
    from evals.report.history import write_history
    from evals.report.html import write_html

    folder = out_dir or REPORTS / run_id
    summary = build_summary(store, run_id, score_ci)
    write_summary_json(summary, folder / "summary.json")
    run = store.run(run_id) or {}
    rates = (run.get("config") or {}).get("price_rates") or {}
    charts = suite_charts(as_json(summary), chart_samples(store, run_id, summary), rates)
    shown, limit = summary, None
    total = store.count_results(run_id)
    if total > MAX_CASE_ROWS:
        note = (
            f"the case explorer holds {MAX_CASE_ROWS:,} of {total:,} samples, errors and "
            f"failures first; every sample is in the store (`evals export {run_id}`)"
        )
        shown, limit = replace(summary, warnings=[*summary.warnings, note]), MAX_CASE_ROWS
    rows = case_rows(store, run_id, limit, flips)
    write_html(folder / "index.html", shown, rows, flips=flips, charts=charts)
    if out_dir is None:
        write_history(store, REPORTS / "index.html")
    return summary
