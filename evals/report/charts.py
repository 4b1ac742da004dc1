"""The run report's charts per suite, drawn with matplotlib into inline SVG (evals.report.svg).

Pure functions of the summary JSON, per-row samples and price rates: no store access,
so they are testable on plain data and cost nothing beyond a percentile per sample
list (box plots summarise; no per-sample markers). Model, prompt and suite names are
untrusted: they only ever reach the SVG as matplotlib text (escaped, math parsing off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evals.pricing.split import cost_split
from evals.report.svg import PALETTE, figure_svg, house_style, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

RowKey = tuple[str, str, str]  # (suite, prompt, model)

WIDTH_IN = 6.4
ROW_COLOURS = PALETTE[:6]  # black reads as filled when hollow, yellow as nothing on white
MAX_LABEL = 48  # longer names are cut on the chart (the table has them whole)
SPLIT_COLOURS = {  # cost kind -> colour, fixed so every suite's chart reads alike
    "input": PALETTE[0],
    "cached input": PALETTE[5],
    "output": PALETTE[1],
    "reasoning": PALETTE[3],
    "hourly": PALETTE[2],
}


@dataclass(slots=True)
class RowSamples:
    """What one (suite, prompt, model) row's samples give the charts."""

    latencies: list[float] = field(default_factory=list)  # latency_s of error-free samples
    ttfts: list[float] = field(default_factory=list)  # ttft_s when streamed
    case_outcomes: dict[str, list[bool]] = field(default_factory=dict)  # case -> passed per repeat


@dataclass(frozen=True, slots=True)
class Chart:
    suite: str
    kind: str  # "accuracy_cost" | "latency" | "cost_split" | "consistency"
    title: str
    caption: str  # one plain sentence: how to read it (plain text: the template escapes it)
    svg: str


def suite_charts(
    summary: Mapping[str, Any],
    samples: Mapping[RowKey, RowSamples],
    rates: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, list[Chart]]:
    """Each suite's charts (those it has data for), by suite name in summary order."""
    rows = list(summary.get("rows") or [])
    suites = list(summary.get("suites") or [])
    suites += [s for s in dict.fromkeys(r["suite"] for r in rows) if s not in suites]
    per_suite = summary.get("per_suite") or {}
    out: dict[str, list[Chart]] = {}
    for suite in suites:
        suite_rows = [r for r in rows if r["suite"] == suite]
        frontier = {
            (p.get("prompt"), p.get("model"))
            for p in (per_suite.get(suite) or {}).get("pareto") or []
        }
        ctx = _Suite(suite, suite_rows, _labels(suite_rows), frontier, samples, rates)
        with house_style():
            out[suite] = [c for build in _BUILDERS if (c := build(ctx)) is not None]
    return out


@dataclass(frozen=True, slots=True)
class _Suite:
    name: str
    rows: list[Mapping[str, Any]]
    labels: list[str]  # per row, for the chart
    frontier: set[tuple[Any, Any]]  # (prompt, model) on the Pareto frontier
    samples: Mapping[RowKey, RowSamples]
    rates: Mapping[str, Mapping[str, Any] | None]

    def samples_of(self, row: Mapping[str, Any]) -> RowSamples | None:
        return self.samples.get((row["suite"], row["prompt"], row["model"]))

    def chart(self, kind: str, title: str, caption: str, fig: Any) -> Chart:
        svg = figure_svg(fig, label=f"{self.name}: {title}")
        return Chart(self.name, kind, title, caption, svg)


def _labels(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The model id, or "model · prompt" when the suite compares prompts too."""
    several = len({r["prompt"] for r in rows}) > 1
    labels = [f"{r['model']} · {r['prompt']}" if several else str(r["model"]) for r in rows]
    return [_short(label) for label in labels]


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _per_1k(value: float, row: Mapping[str, Any]) -> float:
    return value / row["samples"] * 1000


def _usd(value: float, _pos: object = None) -> str:
    """Tick text for dollars: enough digits for fractions of a cent, none wasted."""
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 0.1:
        return f"${value:,.2f}"
    return f"${value:.2g}" if abs(value) >= 1e-4 else f"${value:.1e}"


def _usd_axis(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(_usd))


def _row_ticks(ax: Axes, labels: Sequence[str]) -> None:
    """Rows top to bottom, names as plain text (a `$` in a model id is not math)."""
    ax.set_yticks(range(len(labels)), labels, parse_math=False)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.grid(False, axis="y")


def _height(rows: int, per_row: float = 0.42) -> float:
    return 1.3 + per_row * rows


# --- 1. accuracy against cost -------------------------------------------------------


def _accuracy_cost(s: _Suite) -> Chart | None:
    scored = [
        (r, lab) for r, lab in zip(s.rows, s.labels, strict=True) if r.get("accuracy") is not None
    ]
    priced = [(r, lab) for r, lab in scored if r.get("cost_usd") is not None and r["samples"]]
    if not priced:
        return None
    unpriced = [lab for r, lab in scored if r.get("cost_usd") is None or not r["samples"]]
    fig, ax = new_figure(WIDTH_IN, 3.8)
    points: list[tuple[float, float]] = []
    for i, (row, label) in enumerate(priced):
        x, y = _per_1k(row["cost_usd"], row), row["accuracy"] * 100
        colour = ROW_COLOURS[i % len(ROW_COLOURS)]
        on_front = (row["prompt"], row["model"]) in s.frontier
        if row.get("ci_low") is not None and row.get("ci_high") is not None:
            low, high = y - row["ci_low"] * 100, row["ci_high"] * 100 - y
            ax.errorbar(x, y, yerr=[[max(low, 0)], [max(high, 0)]], color=colour, lw=1, capsize=3)
        ax.plot(
            x, y, "o", ms=7, mew=1.5, color=colour, mfc=colour if on_front else "white", zorder=3
        )
        ax.annotate(
            label,
            (x, y),
            xytext=(6, 0),
            textcoords="offset points",
            fontsize=7,
            va="center",
            color="#333333",
            parse_math=False,
            annotation_clip=False,
        )
        if on_front:
            points.append((x, y))
    costs = [_per_1k(r["cost_usd"], r) for r, _ in priced]
    _cost_scale(ax, costs)
    if points:
        xs, ys = zip(*sorted(points), strict=True)
        ax.step(xs, ys, where="post", color="#777777", lw=1, ls="--", zorder=2)
    ax.set_xlabel("Cost per 1,000 samples (USD)")
    ax.set_ylabel("Accuracy (%)")
    low = min(r["accuracy"] if r.get("ci_low") is None else r["ci_low"] for r, _ in priced)
    low = min(low, min(r["accuracy"] for r, _ in priced)) * 100
    ax.set_ylim(max(0.0, low - 5), 101)
    _frontier_legend(ax, bool(points))
    caption = (
        "Each point is a row's accuracy against its cost per 1,000 samples, with whiskers"
        " for the accuracy's confidence interval; "
        + (
            "filled points joined by the dashed step line are on the Pareto frontier"
            " (accuracy, cost, latency), hollow ones have a row at least as good on all three"
            if points
            else "no row is marked as on the Pareto frontier"
        )
    )
    if all(c == 0 for c in costs):
        caption += "; every plotted row cost $0 (local models)"
    if unpriced:
        caption += "; unpriced, so not plotted: " + ", ".join(unpriced)
    title = "Accuracy against cost"
    return s.chart("accuracy_cost", title, caption + ".", fig)


def _cost_scale(ax: Axes, costs: Sequence[float]) -> None:
    """Log dollars when costs span orders of magnitude; a plain axis at $0 when all are 0."""
    positive = [c for c in costs if c > 0]
    if all(c == 0 for c in costs):
        ax.set_xlim(-1, 1)
        ax.set_xticks([0])
    elif len(positive) == len(costs) and max(positive) / min(positive) > 20:
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        ax.margins(x=0.15)
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:  # room left of $0 for a point's marker and whisker, right for its label
        ax.set_xlim(-0.04 * max(costs), max(costs) * 1.25)
    _usd_axis(ax)


def _frontier_legend(ax: Axes, any_front: bool) -> None:
    from matplotlib.lines import Line2D

    grey = "#555555"
    handles = [Line2D([], [], ls="--", marker="o", color=grey, label="Pareto frontier")][:any_front]
    handles.append(
        Line2D([], [], ls="", marker="o", color=grey, mfc="white", label="not on frontier")
    )
    ax.legend(handles=handles, loc="best", fontsize=7)


def _legend_below(ax: Axes, columns: int, **kwargs: Any) -> None:
    """Under the plot, where it cannot cover a bar or a whisker."""
    ax.figure.legend(loc="outside lower center", ncol=columns, fontsize=7, **kwargs)


# --- 2. latency ---------------------------------------------------------------------


def _latency(s: _Suite) -> Chart | None:
    entries = []
    for row, label in zip(s.rows, s.labels, strict=True):
        got = s.samples_of(row)
        if got is not None and got.latencies:
            entries.append((label, got.latencies, got.ttfts))
    if not entries:
        return None
    any_ttft = any(ttfts for _, _, ttfts in entries)
    fig, ax = new_figure(WIDTH_IN, _height(len(entries), 0.55 if any_ttft else 0.42))
    latency = [_box(lat, i - 0.2 if t else i) for i, (_, lat, t) in enumerate(entries)]
    _draw_boxes(ax, latency, PALETTE[0], 0.34 if any_ttft else 0.5)
    ttft = [_box(t, i + 0.2) for i, (_, _, t) in enumerate(entries) if t]
    if ttft:
        _draw_boxes(ax, ttft, PALETTE[1], 0.34)
    _row_ticks(ax, [label for label, _, _ in entries])
    ax.set_xlabel("Seconds")
    ax.set_xlim(left=0)
    if any_ttft:
        from matplotlib.patches import Patch

        handles = [Patch(color=PALETTE[0], label="latency"), Patch(color=PALETTE[1], label="TTFT")]
        _legend_below(ax, 2, handles=handles)
    caption = (
        "Each box spans a row's 25th to 75th percentile latency of error-free samples with"
        " the median marked, and its whiskers reach the 5th and 95th percentiles"
    )
    if any_ttft:
        caption += "; the second box is the time to first token of streamed samples"
    return s.chart("latency", "Latency per row", caption + ".", fig)


def _box(values: Sequence[float], position: float) -> dict[str, Any]:
    """Box-plot statistics from percentiles alone: the cost is one sort, not one artist each."""
    import numpy as np

    p5, q1, med, q3, p95 = np.percentile(np.asarray(values, dtype=float), [5, 25, 50, 75, 95])
    return {"whislo": p5, "q1": q1, "med": med, "q3": q3, "whishi": p95, "pos": position}


def _draw_boxes(ax: Axes, stats: list[dict[str, Any]], colour: str, width: float) -> None:
    positions = [st.pop("pos") for st in stats]
    style = {
        "positions": positions,
        "widths": width,
        "showfliers": False,
        "patch_artist": True,
        "boxprops": {"facecolor": colour, "edgecolor": colour, "alpha": 0.55},
        "medianprops": {"color": "#000000", "linewidth": 1.2},
        "whiskerprops": {"color": colour},
        "capprops": {"color": colour},
        "manage_ticks": False,
    }
    try:  # matplotlib >= 3.10 names the direction; 3.9 only knows `vert`
        ax.bxp(stats, orientation="horizontal", **style)
    except TypeError:
        ax.bxp(stats, vert=False, **style)


# --- 3. cost split ------------------------------------------------------------------


def _cost_split(s: _Suite) -> Chart | None:
    bars: list[tuple[str, dict[str, float]]] = []
    unpriced: list[str] = []
    for row, label in zip(s.rows, s.labels, strict=True):
        split = cost_split(row, s.rates.get(row["model"]))
        if split is None or not row.get("samples"):
            unpriced.append(label)
        else:
            bars.append((label, {kind: _per_1k(usd, row) for kind, usd in split.items()}))
    if not bars or all(sum(parts.values()) == 0 for _, parts in bars):
        return None
    fig, ax = new_figure(WIDTH_IN, _height(len(bars)))
    left = [0.0] * len(bars)
    for kind, colour in SPLIT_COLOURS.items():
        widths = [parts.get(kind, 0.0) for _, parts in bars]
        if any(widths):
            ax.barh(range(len(bars)), widths, left=left, color=colour, height=0.6, label=kind)
            left = [a + b for a, b in zip(left, widths, strict=True)]
    _row_ticks(ax, [label for label, _ in bars])
    ax.set_xlim(left=0, right=max(left) * 1.05)
    _usd_axis(ax)
    ax.set_xlabel("Cost per 1,000 samples (USD)")
    _legend_below(ax, 5)
    caption = (
        "Each bar is a row's cost per 1,000 samples split into uncached input, cached input,"
        " output and reasoning tokens (billed as output), or an endpoint's hourly rate"
    )
    if unpriced:
        caption += "; unpriced, so not shown: " + ", ".join(unpriced)
    return s.chart("cost_split", "Where the cost goes", caption + ".", fig)


# --- 4. consistency across repeats -------------------------------------------------


def _consistency(s: _Suite) -> Chart | None:
    bars: list[tuple[str, int, list[float]]] = []  # label, k, share of cases passing j of k
    for row, label in zip(s.rows, s.labels, strict=True):
        got = s.samples_of(row)
        k = int(row.get("repeats") or 1)
        if k <= 1 or got is None or not got.case_outcomes:
            continue
        counts = [0] * (k + 1)
        for outcomes in got.case_outcomes.values():
            counts[min(sum(map(bool, outcomes)), k)] += 1
        total = sum(counts)
        bars.append((label, k, [c / total * 100 for c in counts]))
    if not bars:
        return None
    import matplotlib as mpl

    max_k = max(k for _, k, _ in bars)
    same_k = all(k == max_k for _, k, _ in bars)
    cmap = mpl.colormaps["RdYlBu"]
    fig, ax = new_figure(WIDTH_IN, _height(len(bars)))
    left = [0.0] * len(bars)
    for j in range(max_k + 1):
        widths = [shares[j] if j < len(shares) else 0.0 for _, _, shares in bars]
        name = f"{j} of {max_k}" if same_k else f"passed {j}×"
        colour = cmap(0.1 + 0.8 * j / max_k)
        bar = ax.barh(range(len(bars)), widths, left=left, color=colour, height=0.6, label=name)
        ax.bar_label(
            bar, [f"{w:.0f}%" if w >= 8 else "" for w in widths], label_type="center", fontsize=7
        )
        left = [a + b for a, b in zip(left, widths, strict=True)]
    _row_ticks(ax, [label for label, _, _ in bars])
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of cases (%)")
    _legend_below(ax, min(max_k + 1, 6))
    caption = (
        "Each bar splits a row's cases by how many of its repeats passed: a consistent"
        " row has its cases at the two ends (never or always), a flaky one in between"
    )
    return s.chart("consistency", "Consistency across repeats", caption + ".", fig)


_BUILDERS: tuple[Callable[[_Suite], Chart | None], ...] = (
    _accuracy_cost,
    _latency,
    _cost_split,
    _consistency,
)
