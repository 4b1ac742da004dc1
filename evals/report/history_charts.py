"""The runs history's trend charts (reports/index.html): accuracy and cost per 1,000
samples per run, one line per model · prompt, drawn with matplotlib (evals.report.svg).

Names are untrusted: they reach the SVG only as matplotlib text (escaped, `$` literal).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from evals.report.html import fmt_usd
from evals.report.svg import PALETTE, figure_svg, new_figure

if TYPE_CHECKING:
    from evals.report.history import RunLine, Series, SuiteTrend

_MAX_TICKS = 12  # x labels shown per chart; more runs than this are labelled every k-th
_WHISKER_RUNS = 24  # more runs than this: intervals as a band, lines without markers
_LEGEND_CHARS = 34  # longer legend labels get a column of their own


def _mpl_text(text: str, limit: int = 48) -> str:
    """Literal text for matplotlib: an unescaped `$` pair would be mathtext (and may not
    parse); the SVG writer escapes <, & and > itself."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _tick(line: RunLine) -> str:
    day = (line.started_at or "")[5:10] or "?"
    short = line.run_id.rsplit("-", 1)[-1][:8]
    return _mpl_text(f"{day}\n{short}", 24)


def line_style(index: int) -> dict[str, Any]:
    dash = ("-", "--", ":", "-.")[(index // len(PALETTE)) % 4]  # colours first, then dashes
    return {"color": PALETTE[index % len(PALETTE)], "linestyle": dash}


def _x_axis(ax: Any, trend: SuiteTrend) -> None:
    n = len(trend.runs)
    step = max(1, math.ceil(n / _MAX_TICKS))
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks, [_tick(trend.runs[i]) for i in ticks])
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_xlabel("run (start date, id), oldest first")


def _figure(labels: list[str]) -> tuple[Any, Any, int]:
    """A figure tall enough for its legend: two columns, or one when a label is long."""
    ncol = 2 if max(map(len, labels)) <= _LEGEND_CHARS else 1
    fig, ax = new_figure(6.4, 2.6 + 0.2 * math.ceil(len(labels) / ncol))
    return fig, ax, ncol


def _finish(fig: Any, ax: Any, trend: SuiteTrend, ncol: int, label: str) -> str:
    _x_axis(ax, trend)
    pairs = sorted(zip(*ax.get_legend_handles_labels(), strict=True), key=lambda h: h[1] == _MARK)
    fig.legend(*zip(*pairs, strict=True), loc="outside lower center", ncol=ncol, frameon=False)
    return figure_svg(fig, label=label)


def _name(s: Series) -> str:
    return _mpl_text(f"{s.model} · {s.prompt}")


def _offset(index: int, count: int) -> float:
    """A small horizontal dodge so that whiskers of several series do not hide each other."""
    return 0.0 if count < 2 else (index - (count - 1) / 2) * min(0.3 / count, 0.08)


_MARK = "regression"


def accuracy_chart(trend: SuiteTrend) -> str | None:
    """Accuracy per run, one line per model · prompt; 95% intervals as whiskers, or as a
    band once there are too many runs for whiskers (and markers) to stay readable."""
    from matplotlib.ticker import PercentFormatter

    plotted = [(i, s) for i, s in enumerate(trend.series) if s.graded]
    if not plotted:
        return None
    dense = len(trend.runs) > _WHISKER_RUNS
    dodge = 1 if dense else len(trend.series)
    marks = [
        (p.position + _offset(i, dodge), min(1.0, p.ci_high) + 0.06)
        for i, s in plotted
        for p in s.points
        if p.regression
    ]
    fig, ax, ncol = _figure([_name(s) for _, s in plotted] + ([_MARK] if marks else []))
    for i, s in plotted:
        pts = s.graded
        x = [p.position + _offset(i, dodge) for p in pts]
        y = [p.accuracy for p in pts]
        style = line_style(i)
        if dense:
            ax.plot(x, y, linewidth=1.3, label=_name(s), **style)
            low, high = [p.ci_low for p in pts], [p.ci_high for p in pts]
            ax.fill_between(x, low, high, color=style["color"], alpha=0.12, linewidth=0)
        else:
            err = [[p.accuracy - p.ci_low for p in pts], [p.ci_high - p.accuracy for p in pts]]
            ax.errorbar(
                x, y, yerr=err, marker="o", markersize=4, linewidth=1.3, elinewidth=0.8,
                capsize=2, label=_name(s), **style,
            )  # fmt: skip
        hollow = [(xx, p.accuracy) for xx, p in zip(x, pts, strict=True) if not p.complete]
        for hx, hy in hollow:  # an incomplete run
            ax.plot(hx, hy, "o", ms=4.5, mfc="white", mec=style["color"], zorder=3)
    if marks:
        ax.plot(
            *zip(*marks, strict=True), "v", color="#cf222e", markersize=7, label=_MARK, zorder=3
        )
    ax.set_ylim(-0.03, 1.12)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("accuracy (95% CI)")
    label = f"{trend.suite}: accuracy per run, 95% Wilson intervals"
    return _finish(fig, ax, trend, ncol, label)


def cost_chart(trend: SuiteTrend) -> str | None:
    """Cost per 1,000 samples per run, one line per model · prompt."""
    from matplotlib.ticker import FuncFormatter

    plotted = [(i, s) for i, s in enumerate(trend.series) if s.priced]
    if not plotted:
        return None
    fig, ax, ncol = _figure([_name(s) for _, s in plotted])
    for i, s in plotted:
        pts = s.priced
        ax.plot(
            [p.position for p in pts], [p.cost_per_1k for p in pts], linewidth=1.3,
            marker="" if len(trend.runs) > _WHISKER_RUNS else "o", markersize=4,
            label=_name(s), **line_style(i),
        )  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _mpl_text(fmt_usd(v) or "")))
    ax.set_ylabel("cost per 1,000 samples")
    label = f"{trend.suite}: cost per 1,000 samples per run"
    return _finish(fig, ax, trend, ncol, label)
