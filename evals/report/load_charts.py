"""Charts of a load test (`evals load`): how each model behaves as the offered rate grows.

Pure functions of the load JSON's rows (one per model × rate): latency percentiles
against the offered rate (where the curve bends is where the server saturates),
output throughput against the rate achieved, and goodput against the rate with the
SLO knee marked. Model names are untrusted: they reach the SVG only as matplotlib text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.report.history_charts import line_style
from evals.report.svg import figure_svg, house_style, new_figure

GOODPUT_TARGET = 0.9  # the knee: the highest offered rate whose goodput is at least this
MAX_LABEL = 40


@dataclass(frozen=True, slots=True)
class LoadChart:
    kind: str  # "latency" | "throughput" | "goodput" | "cost"
    title: str
    caption: str  # plain text: the template escapes it
    svg: str


def _label(text: Any) -> str:
    text = str(text).replace("$", r"\$")  # math text off: a $ must stay a dollar
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _by_model(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    models: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("rate") is not None:  # closed-loop (concurrency) rows have no rate
            models.setdefault(str(row.get("model")), []).append(row)
    return {m: sorted(rs, key=lambda r: float(r["rate"])) for m, rs in models.items()}


def knee(rows: Sequence[Mapping[str, Any]], target: float = GOODPUT_TARGET) -> float | None:
    """The highest offered rate at which at least `target` of the requests met the SLO
    (rows of one model); None without an SLO or when even the lowest rate misses it."""
    met = [
        float(r["rate"]) for r in rows if r.get("goodput") is not None and r["goodput"] >= target
    ]
    return max(met) if met else None


def load_charts(rows: Sequence[Mapping[str, Any]]) -> list[LoadChart]:
    """The charts the rows have data for."""
    models = _by_model(rows)
    if not models:
        return []
    with house_style():
        charts = [_latency(models), _throughput(models), _goodput(models), _cost(models)]
    return [c for c in charts if c is not None]


def _series(ax: Any, x: list[float], y: list[float | None], label: str, style: dict) -> bool:
    points = [(a, b) for a, b in zip(x, y, strict=True) if b is not None]
    if not points:
        return False
    ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label, **style)
    return True


def _chart(
    fig: Any, ax: Any, drawn: bool, kind: str, title: str, caption: str, axes: tuple[str, str]
) -> LoadChart | None:
    """The finished chart (axes labelled from 0, legend below), or None if nothing was drawn."""
    if not drawn:
        fig.clear()
        return None
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
    return LoadChart(kind, title, caption, figure_svg(fig, label=title))


def _latency(models: Mapping[str, list[Mapping[str, Any]]]) -> LoadChart | None:
    fig, ax = new_figure(6.4, 3.2 + 0.2 * len(models))
    drawn = False
    for index, (model, rows) in enumerate(models.items()):
        x = [float(r["rate"]) for r in rows]
        style = line_style(index)
        drawn |= _series(
            ax, x, [r.get("e2e_p50_s") for r in rows], f"{_label(model)} e2e p50", style
        )
        p99 = {**style, "linestyle": ":", "alpha": 0.7}
        drawn |= _series(ax, x, [r.get("e2e_p99_s") for r in rows], f"{_label(model)} e2e p99", p99)
        ttft = {**style, "linestyle": "--"}
        drawn |= _series(
            ax, x, [r.get("ttft_p50_s") for r in rows], f"{_label(model)} TTFT p50", ttft
        )
    return _chart(
        fig, ax, drawn, "latency", "Latency against offered rate",
        "Each model's end-to-end latency (p50 solid, p99 dotted) and time to first token "
        "(p50 dashed) at each offered rate; where the lines turn up, the server saturates.",
        ("offered rate (requests/s)", "seconds"),
    )  # fmt: skip


def _throughput(models: Mapping[str, list[Mapping[str, Any]]]) -> LoadChart | None:
    fig, ax = new_figure(6.4, 3.0 + 0.2 * len(models))
    drawn = False
    for index, (model, rows) in enumerate(models.items()):
        x = [float(r.get("achieved_rate") or r["rate"]) for r in rows]
        y = [r.get("output_tokens_per_s") for r in rows]
        drawn |= _series(ax, x, y, _label(model), line_style(index))
    return _chart(
        fig, ax, drawn, "throughput", "Output throughput against achieved rate",
        "Output tokens per second over all requests at each achieved request rate; a flat "
        "line while the rate grows means the server is at its capacity.",
        ("achieved rate (requests/s)", "output tokens/s (total)"),
    )  # fmt: skip


def _goodput(models: Mapping[str, list[Mapping[str, Any]]]) -> LoadChart | None:
    if not any(r.get("goodput") is not None for rows in models.values() for r in rows):
        return None
    fig, ax = new_figure(6.4, 3.0 + 0.2 * len(models))
    for index, (model, rows) in enumerate(models.items()):
        x = [float(r["rate"]) for r in rows]
        style = line_style(index)
        _series(ax, x, [r.get("goodput") for r in rows], _label(model), style)
        bend = knee(rows)
        if bend is not None:
            ax.axvline(bend, color=style["color"], linewidth=0.8, linestyle=":", alpha=0.8)
    ax.axhline(GOODPUT_TARGET, color="#888888", linewidth=0.6)
    ax.set_ylim(0, 1.05)
    return _chart(
        fig, ax, True, "goodput", "Goodput against offered rate",
        f"The share of requests that met every SLO bound at each offered rate; the dotted "
        f"line marks each model's knee, the highest rate with at least "
        f"{GOODPUT_TARGET:.0%} of requests within the SLO (grey line).",
        ("offered rate (requests/s)", "goodput (share within the SLO)"),
    )  # fmt: skip


def _cost(models: Mapping[str, list[Mapping[str, Any]]]) -> LoadChart | None:
    """$ per 1M output tokens against offered rate: flat for a per-token price, falling
    with throughput for an hourly one, so where the lines cross self-hosting gets cheaper."""
    fig, ax = new_figure(6.4, 3.0 + 0.2 * len(models))
    drawn = False
    for index, (model, rows) in enumerate(models.items()):
        x = [float(r["rate"]) for r in rows]
        y = [r.get("cost_per_1m_output") for r in rows]
        hourly = any(r.get("cost_basis") == "per_hour" for r in rows)
        label = f"{_label(model)} ({'hourly' if hourly else 'per token'})"
        drawn |= _series(ax, x, y, label, line_style(index))
    return _chart(
        fig, ax, drawn, "cost", "Cost per 1M output tokens against offered rate",
        "A per-token price is the same at every rate; an hourly endpoint's cost per token falls "
        "as its throughput grows: where the lines cross, self-hosting becomes the cheaper one.",
        ("offered rate (requests/s)", "$ per 1M output tokens"),
    )  # fmt: skip
