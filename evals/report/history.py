"""`reports/index.html`: every run in the store, and per suite a trend of accuracy and
of cost per 1,000 samples across runs, so that a regression over weeks is visible.

Gathered through the store interface from SQL sums only: `runs()`, then one
`groups(run_id)` per run. No result is read one by one, so a store of many
100,000-result runs costs only SQLite's sums (about 0.25 s per 100,000 results).

- Accuracy is passed / (samples - errors) with a plain Wilson interval per row and
  run (the run report widens it for repeats and clusters; that needs per-case
  queries, and plain Wilson keeps the history cheap and comparable run to run).
  A drop whose intervals do not overlap the previous run's is a *regression*.
- Cost is the stored per-token cost. A model on an endpoint billed per hour is
  marked "hourly": its hourly share needs every result's timing
  (evals.report.costing.RunCosting), so it is in the run's own report, not here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from evals.pricing import hourly_endpoints
from evals.report.files import page_env, write_atomically
from evals.report.header_view import duration_text, state_text
from evals.report.history_charts import accuracy_chart, cost_chart, line_style
from evals.report.html import fmt_pct, fmt_usd
from evals.stats import wilson_interval
from evals.store import ResultStore

__all__ = ["RunHistory", "RunLine", "Series", "SuiteTrend", "TrendPoint", "run_history"]
__all__ += ["render_history", "write_history"]


# --------------------------------------------------------------------------- gather


@dataclass
class RunLine:
    """One run, as the history table shows it."""

    run_id: str
    started_at: str | None
    finished_at: str | None
    duration: str | None
    complete: bool
    state: str  # in words: "complete", "incomplete: stopped by the --max-cost budget", ...
    suites: list[str]
    models: list[str]
    planned: int | None
    samples: int
    errors: int
    passed: int
    accuracy: float | None  # None when no sample got graded
    cost_usd: float | None  # None when some result has no known price
    spend_usd: float  # new money, as the engine recorded it
    hourly_models: list[str]  # billed per hour: per-token cost shown (see module doc)
    report_href: str | None  # "<run_id>/index.html", None when the id is no safe path


@dataclass
class TrendPoint:
    """One (suite, prompt, model) row of one run."""

    run_id: str
    position: int  # index into the suite's runs, oldest first
    complete: bool
    samples: int
    errors: int
    passed: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    cost_per_1k: float | None  # cost_usd / samples * 1000; None when unpriced
    previous: TrendPoint | None = field(default=None, repr=False)  # last one with accuracy
    change_pts: float | None = None  # accuracy change since `previous`, in points
    regression: bool = False  # a drop whose Wilson intervals do not overlap
    improvement: bool = False  # a rise whose intervals do not overlap


@dataclass
class Series:
    """One model · prompt of a suite across the runs that have it, oldest first."""

    prompt: str
    model: str
    hourly: bool
    points: list[TrendPoint] = field(default_factory=list)

    @property
    def graded(self) -> list[TrendPoint]:
        return [p for p in self.points if p.accuracy is not None]

    @property
    def priced(self) -> list[TrendPoint]:
        return [p for p in self.points if p.cost_per_1k is not None]

    @property
    def cost_change(self) -> float | None:
        """The latest cost per 1,000 less the previous priced run's (None if either lacks one)."""
        priced = self.priced
        if len(priced) < 2 or priced[-1] is not self.points[-1]:
            return None
        return priced[-1].cost_per_1k - priced[-2].cost_per_1k


@dataclass
class SuiteTrend:
    suite: str
    runs: list[RunLine]  # the runs with rows of this suite, oldest first
    series: list[Series]


@dataclass
class RunHistory:
    runs: list[RunLine]  # oldest first
    suites: list[SuiteTrend]


def _report_href(run_id: str) -> str | None:
    if not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\x00"):
        return None
    return f"{quote(run_id, safe='')}/index.html"


def _state(run: dict[str, Any]) -> str:
    if not run.get("complete") and not run.get("finished_at"):
        return "incomplete: not finished (still running, or stopped without a trace)"
    return state_text(run)


def run_history(store: ResultStore) -> RunHistory:
    """Every run, oldest first, and per suite the trend of each model · prompt."""
    lines: list[RunLine] = []
    suites: dict[str, SuiteTrend] = {}
    series: dict[tuple[str, str, str], Series] = {}
    for run in reversed(store.runs()):  # runs() is newest first
        config = run.get("config") or {}
        hourly = hourly_endpoints(config)
        groups = store.groups(run["run_id"])
        samples = sum(g.samples or 0 for g in groups)
        errors = sum(g.errors or 0 for g in groups)
        passed = sum(g.passed or 0 for g in groups)
        graded = samples - errors
        unpriced = any(g.unpriced for g in groups)
        models = [str(m.get("id")) for m in config.get("models") or [] if isinstance(m, dict)]
        group_models = list(dict.fromkeys(g.model for g in groups))
        line = RunLine(
            run_id=run["run_id"],
            started_at=run.get("started_at"),
            finished_at=run.get("finished_at"),
            duration=duration_text(run.get("started_at"), run.get("finished_at")),
            complete=bool(run.get("complete")),
            state=_state(run),
            suites=[str(s) for s in run.get("suites") or []],
            models=models or group_models,
            planned=run.get("planned"),
            samples=samples,
            errors=errors,
            passed=passed,
            accuracy=passed / graded if graded else None,
            cost_usd=None if unpriced else sum(g.cost_usd or 0.0 for g in groups),
            spend_usd=sum(g.spend_usd or 0.0 for g in groups),  # == store.spent(run_id)
            hourly_models=[m for m in group_models if m in hourly],
            report_href=_report_href(run["run_id"]),
        )
        lines.append(line)
        for g in groups:
            if not g.samples:
                continue  # corpus rows only: nothing was asked
            trend = suites.setdefault(g.suite, SuiteTrend(g.suite, [], []))
            if not trend.runs or trend.runs[-1] is not line:
                trend.runs.append(line)
            key = (g.suite, g.prompt, g.model)
            if key not in series:
                series[key] = Series(g.prompt, g.model, g.model in hourly)
                trend.series.append(series[key])
            series[key].hourly |= g.model in hourly
            series[key].points.append(_point(line, len(trend.runs) - 1, g))
    for s in series.values():
        _mark_changes(s.points)
    return RunHistory(lines, list(suites.values()))


def _point(line: RunLine, position: int, g: Any) -> TrendPoint:
    errors, passed = g.errors or 0, g.passed or 0
    graded = g.samples - errors
    low, high = wilson_interval(passed, graded) if graded else (None, None)
    cost = None if g.unpriced else (g.cost_usd or 0.0)
    per_1k = None if cost is None else cost / g.samples * 1000
    accuracy = passed / graded if graded else None
    return TrendPoint(
        line.run_id, position, line.complete, g.samples, errors, passed, accuracy, low, high, per_1k
    )


def _mark_changes(points: list[TrendPoint]) -> None:
    """Each point against the series' previous point that has an accuracy."""
    previous: TrendPoint | None = None
    for point in points:
        if point.accuracy is None:
            continue
        if previous is not None:
            point.previous = previous
            point.change_pts = (point.accuracy - previous.accuracy) * 100
            point.regression = point.ci_high < previous.ci_low
            point.improvement = point.ci_low > previous.ci_high
        previous = point


# --------------------------------------------------------------------------- render


def _ci(p: TrendPoint | None) -> str | None:
    if p is None or p.ci_low is None or p.ci_high is None:
        return None
    return f"[{p.ci_low * 100:.1f}–{p.ci_high * 100:.1f}]"


def _signed(value: float | None) -> str | None:
    """A change in points: "+12.5 pts", "−100.0 pts", "±0.0 pts"."""
    if value is None:
        return None
    text = f"{abs(value):.1f}"
    sign = "±" if float(text) == 0 else ("+" if value > 0 else "−")
    return f"{sign}{text} pts"


def _cost_change(value: float | None) -> str | None:
    text = None if value is None else fmt_usd(abs(value))
    if text is None or text == "$0.00":
        return None if text is None else "±0"
    return ("+" if value > 0 else "−") + text


_ENV = page_env(pct=fmt_pct, usd=fmt_usd, ci=_ci, pts=_signed, cost_change=_cost_change)


def render_history(history: RunHistory, folder: Path) -> str:
    """The page; `folder` is where it will live (run report links are checked there)."""
    reported = {
        line.run_id
        for line in history.runs
        if line.report_href and (folder / line.run_id / "index.html").is_file()
    }
    suites = [
        {
            "trend": t,
            # a trend needs two runs: one run's figures are in its table row and report
            "accuracy_svg": accuracy_chart(t) if len(t.runs) > 1 else None,
            "cost_svg": cost_chart(t) if len(t.runs) > 1 else None,
            "styles": [line_style(i) for i in range(len(t.series))],
            "regressions": sorted(
                ((s, p) for s in t.series for p in s.points if p.regression),
                key=lambda pair: -pair[1].position,
            ),
        }
        for t in history.suites
    ]
    template = _ENV.get_template("history.html.j2")
    return template.render(
        runs=list(reversed(history.runs)),
        reported=reported,
        suites=suites,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


def write_history(store: ResultStore, path: Path) -> Path:
    """Write the history page to `path` (a temporary file, then renamed) and return it."""
    path = Path(path)
    return write_atomically(path, render_history(run_history(store), path.parent))
