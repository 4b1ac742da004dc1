"""Self-contained HTML report: one file, inline CSS and JS, no external URLs.

`render_html` / `write_html` take the summary (a typed `Summary`, or the summary
JSON dict: see DESIGN.md, "Summary JSON"), the samples (stored `SampleText`s, or
dicts with their field names and decoded values) and optionally the charts (evals.report.charts).
Samples are streamed into the case explorer's JSON data (evals.report.explorer),
so a large run is never held as one big string by `write_html`.

Summary data reaches the page through Jinja2 autoescaping; sample data as escaped
JSON that the page's script renders with textContent; charts as SVG that
matplotlib wrote with its text escaped. A Content-Security-Policy (no network at
all, only the report's own inline script, pinned by hash) is defence in depth.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from evals.report.comparison_view import (
    mark_supported_best,
    pass_at_k_cell,
    sort_keys,
    suite_sections,
)
from evals.report.decisions_view import decision_views
from evals.report.explorer import ExplorerData, Flips
from evals.report.files import write_atomically
from evals.report.header_view import header_view
from evals.report.model import Summary, as_json
from evals.report.values import finite_number as _num

if TYPE_CHECKING:
    from evals.report.charts import Chart
    from evals.store.rows import SampleText

__all__ = ["render_html", "write_html"]

_TEMPLATE = "report.html.j2"
_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# --------------------------------------------------------------------------- formatting


def fmt_int(value: Any) -> str | None:
    f = _num(value)
    return None if f is None else f"{round(f):,}"


def fmt_seconds(value: Any) -> str | None:
    f = _num(value)
    return None if f is None else f"{f:.2f}"


def fmt_score(value: Any) -> str | None:
    f = _num(value)
    return None if f is None else f"{f:.3f}"


def fmt_pct(value: Any) -> str | None:
    f = _num(value)
    return None if f is None else f"{f * 100:.1f}"


def fmt_usd(value: Any) -> str | None:
    """Dollars with enough digits for tiny sums: $0.000021, $0.00228, $1,234.57."""
    f = _num(value)
    if f is None:
        return None
    sign = "-" if f < 0 else ""
    a = abs(f)
    if a == 0:
        return "$0.00"
    if a >= 1:
        return f"{sign}${a:,.2f}"
    # three significant digits, at least two decimals, at most twelve
    decimals = min(12, max(2, -math.floor(math.log10(a)) + 2))
    text = f"{a:.{decimals}f}"
    if float(text) == 0:
        return f"<${10**-decimals:.{decimals}f}"
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{sign}${whole}.{frac}"


# --------------------------------------------------------------------------- view models


def _retrieval_text(row: Mapping[str, Any]) -> str | None:
    """recall@k and MRR of an embeddings suite's row, e.g. "R@1 0.62 · R@3 0.88 · MRR 0.74"."""
    recall = row.get("recall_at_k")
    if not isinstance(recall, Mapping):
        return None
    parts = [f"R@{k} {v:.2f}" for k, v in recall.items() if _num(v) is not None]
    mrr = _num(row.get("mrr"))
    if mrr is not None:
        parts.append(f"MRR {mrr:.2f}")
    per_m = _num(row.get("cost_per_1m_tokens"))
    if per_m is not None:
        parts.append(f"{fmt_usd(per_m)}/1M tok")
    return " · ".join(parts) or None


def _row_view(row: Mapping[str, Any]) -> dict[str, Any]:
    acc = _num(row.get("accuracy"))
    lo = _num(row.get("ci_low"))
    hi = _num(row.get("ci_high"))
    cost = _num(row.get("cost_usd"))
    samples = _num(row.get("samples"))
    per_case = cost / samples if cost is not None and samples else None

    bar = None
    if acc is not None:
        clamp = lambda x: min(100.0, max(0.0, x * 100))  # noqa: E731
        bar = {"acc": f"{clamp(acc):.2f}", "lo": None, "width": None}
        if lo is not None and hi is not None and hi >= lo:
            bar["lo"] = f"{clamp(lo):.2f}"
            bar["width"] = f"{clamp(hi) - clamp(lo):.2f}"

    ci = None
    if lo is not None and hi is not None:
        ci = f"[{lo * 100:.1f}–{hi * 100:.1f}]"

    return {
        "suite": str(row.get("suite", "")),
        "prompt": str(row.get("prompt", "")),
        "model": str(row.get("model", "")),
        "accuracy": fmt_pct(acc),
        "ci": ci,
        "bar": bar,
        "passed": fmt_int(row.get("passed")),
        "samples": fmt_int(row.get("samples")),
        "cases": fmt_int(row.get("cases")),
        "errors": fmt_int(row.get("errors")),
        "has_errors": (_num(row.get("errors")) or 0) > 0,
        "mean_score": fmt_score(row.get("mean_score")),
        "p50": fmt_seconds(row.get("latency_p50_s")),
        "p95": fmt_seconds(row.get("latency_p95_s")),
        "ttft": fmt_seconds(row.get("ttft_p50_s")),
        "prompt_tokens": fmt_int(row.get("prompt_tokens")),
        "cached_tokens": fmt_int(row.get("cached_tokens")),
        "completion_tokens": fmt_int(row.get("completion_tokens")),
        "reasoning_tokens": fmt_int(row.get("reasoning_tokens")),
        "cost": fmt_usd(cost),
        "grader_cost": fmt_usd(row.get("grader_cost_usd")),
        "online_cost": fmt_usd(row.get("online_cost_usd")) if row.get("batch_samples") else None,
        "cost_per_1k": fmt_usd(per_case * 1000 if per_case is not None else None),
        "spend": fmt_usd(row.get("spend_usd")),
        "retrieval": _retrieval_text(row),
        "brier": _brier_text(row),
        "metrics": _metric_cells(row),
        "cache_hits": fmt_int(row.get("cache_hits")) if row.get("cache_hits") else None,
        "best_accuracy": False,
        "cheapest": False,
        "sort": sort_keys(row, _num, per_case),
        **pass_at_k_cell(row, _num, fmt_pct),
        "_acc": acc,
        "_per_case": per_case,
    }


def _metric_cells(row: Mapping[str, Any]) -> dict[str, dict[str, str | None]]:
    """Each named metric's cell: the mean score shown and its raw value for sorting."""
    cells = {}
    for name, value in (row.get("metrics") or {}).items():
        mean = _num(value.get("mean")) if isinstance(value, Mapping) else None
        cells[str(name)] = {
            "text": fmt_score(mean),
            "sort": None if mean is None else repr(float(mean)),
            "count": fmt_int(value.get("count")) if isinstance(value, Mapping) else None,
        }
    return cells


def _brier_text(row: Mapping[str, Any]) -> str | None:
    """The calibration line under the mean score: rows scored from probabilities."""
    brier = _num(row.get("brier"))
    if brier is None:
        return None
    return f"Brier {brier:.3f} · {fmt_int(row.get('brier_samples'))} by logprobs"


def _mark_best(rows: list[dict[str, Any]], per_suite: Any = None) -> None:
    """Best accuracy and cheapest cost (per case) within each suite; ties all marked.

    With the summary's `per_suite` statistics, "best" goes only where they support it
    (evals.report.comparison_view); old summaries without them keep the plain maximum.

    Only rows with at least one graded sample compete (a row whose every request
    failed cost nothing and is not "cheapest"), only suites with more than one
    such row get marks (a lone row is trivially "best"), and 0% is never "best".
    """
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["_acc"] is not None:
            by_suite.setdefault(r["suite"], []).append(r)
    for group in by_suite.values():
        if len(group) < 2:
            continue
        best = max(r["_acc"] for r in group)
        if best > 0:
            for r in group:
                r["best_accuracy"] = math.isclose(r["_acc"], best)
        costs = [r["_per_case"] for r in group if r["_per_case"] is not None]
        if costs:
            cheapest = min(costs)
            for r in group:
                pc = r["_per_case"]
                r["cheapest"] = pc is not None and math.isclose(pc, cheapest, abs_tol=1e-15)
    if isinstance(per_suite, Mapping):
        mark_supported_best(rows, per_suite)


# --------------------------------------------------------------------------- template


def _csp_hash(text: Any) -> str:
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


_env: jinja2.Environment | None = None


def _environment() -> jinja2.Environment:
    global _env
    if _env is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(_TEMPLATE_DIR)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["csp_hash"] = _csp_hash
        _env = env
    return _env


def _context(
    summary: Summary | Mapping[str, Any],
    cases: Iterable[SampleText | Mapping[str, Any]],
    title: str | None,
    flips: Flips | None = None,
    charts: Mapping[str, Sequence[Chart]] | None = None,
) -> dict[str, Any]:
    summary = as_json(summary)
    rows = [_row_view(r) for r in summary.get("rows") or [] if isinstance(r, Mapping)]
    _mark_best(rows, summary.get("per_suite"))
    suites = [str(s) for s in summary.get("suites") or sorted({r["suite"] for r in rows})]
    run_id = str(summary.get("run_id") or "")
    warnings = [str(w) for w in summary.get("warnings") or []]
    prices_as_of = summary.get("prices_as_of")
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return {
        "title": title or (f"Eval report · {run_id}" if run_id else "Eval report"),
        "run_id": run_id,
        "suites": suites,
        "started_at": None if summary.get("started_at") is None else str(summary["started_at"]),
        "finished_at": (
            None if summary.get("finished_at") is None else str(summary["finished_at"])
        ),
        "complete": bool(summary.get("complete")),
        "warnings": warnings,
        "sections": suite_sections(
            rows, suites, decision_views(summary), _chart_views(charts or {})
        ),
        "explorer": {"data": ExplorerData(cases, flips), "count_hint": _count_hint(summary)},
        "generated_at": generated,
        "prices_as_of": None if prices_as_of is None else str(prices_as_of),
        "header": header_view(summary, fmt_usd),
    }


def _count_hint(summary: Mapping[str, Any]) -> str | None:
    total = sum(int(_num(r.get("samples")) or 0) for r in summary.get("rows") or [])
    return f"{total:,}" if total else None


def _chart_views(charts: Mapping[str, Sequence[Chart]]) -> dict[str, list[dict[str, Any]]]:
    """Per suite, its charts; each SVG is Markup: matplotlib wrote it and escaped its text
    (evals.report.svg), and nothing else reaches the page unescaped."""
    return {
        str(suite): [
            {"kind": c.kind, "title": c.title, "caption": c.caption, "svg": Markup(c.svg)}
            for c in found
        ]
        for suite, found in charts.items()
    }


def _generate(
    summary: Summary | Mapping[str, Any],
    cases: Iterable[SampleText | Mapping[str, Any]],
    title: str | None,
    flips: Flips | None = None,
    charts: Mapping[str, Sequence[Chart]] | None = None,
) -> Iterator[str]:
    template = _environment().get_template(_TEMPLATE)
    return template.generate(**_context(summary, cases, title, flips, charts))


def render_html(
    summary: Summary | Mapping[str, Any],
    cases: Iterable[SampleText | Mapping[str, Any]],
    *,
    title: str | None = None,
    flips: Flips | None = None,
    charts: Mapping[str, Sequence[Chart]] | None = None,
) -> str:
    """The whole report as one HTML string."""
    return "".join(_generate(summary, cases, title, flips, charts))


def write_html(
    path: Path | str | os.PathLike[str],
    summary: Summary | Mapping[str, Any],
    cases: Iterable[SampleText | Mapping[str, Any]],
    title: str | None = None,
    flips: Flips | None = None,
    charts: Mapping[str, Sequence[Chart]] | None = None,
) -> None:
    """Stream the report to `path` (written to a temporary file, then renamed)."""
    write_atomically(Path(path), _generate(summary, cases, title, flips, charts))
