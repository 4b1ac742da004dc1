"""The HTML page of a load test: its rows (model × offered rate), the knee per model, the
charts (evals.report.load_charts), and a warning for rows the client could not drive.

Input is the load JSON (`evals load --json`): `{"models", "rows", ...}`; the page is one
self-contained file with no script.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.report.files import page_env, write_atomically
from evals.report.load_charts import GOODPUT_TARGET, knee, load_charts

_ENV = page_env()


def _s(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3f}"


def _triple(row: Mapping[str, Any], name: str, quantiles: Sequence[str]) -> str:
    return " / ".join(_s(row.get(f"{name}_{q}_s")) for q in quantiles)


def _num(value: Any, fmt: str) -> str | None:
    return None if value is None else format(float(value), fmt)


def _cost(row: Mapping[str, Any]) -> str | None:
    parts = [row.get(k) for k in ("cost_per_1m_input", "cost_per_1m_output", "cost_per_1m_blended")]
    if all(p is None for p in parts):
        return None
    text = " · ".join("—" if p is None else f"${float(p):,.2f}" for p in parts)
    return text + (" (hourly)" if row.get("cost_basis") == "per_hour" else "")


def _row_view(row: Mapping[str, Any]) -> dict[str, Any]:
    errors = row.get("errors") or {}
    return {
        "model": str(row.get("model", "")),
        "rate": row.get("rate"),
        "offered": "—" if row.get("rate") is None else f"{float(row['rate']):g}/s",
        "achieved": _num(row.get("achieved_rate"), ".2f"),
        "requests": int(row.get("requests") or 0),
        "completed": int(row.get("completed") or 0),
        "errors": sum(int(n) for n in errors.values()),
        "error_kinds": ", ".join(f"{k}: {n}" for k, n in errors.items()) or "no errors",
        "rate_limited": int(row.get("rate_limited") or 0),
        "ttft": _triple(row, "ttft", ("p50", "p90", "p99")),
        "itl": _triple(row, "itl", ("p50", "p99")),
        "e2e": _triple(row, "e2e", ("p50", "p90", "p99")),
        "tps": _num(row.get("output_tokens_per_s"), ",.1f"),
        "tps_request": _num(row.get("output_tokens_per_s_per_request_p50"), ",.1f"),
        "goodput": None if row.get("goodput") is None else f"{float(row['goodput']):.0%}",
        "accuracy": None if row.get("accuracy") is None else f"{float(row['accuracy']):.0%}",
        "graded": int(row.get("graded") or 0),
        "lateness": None
        if row.get("lateness_p99_s") is None
        else f"{row['lateness_p99_s'] * 1e3:.1f} ms",
        "client_bound": bool(row.get("client_bound")),
        "cost": _cost(row),
    }


def _knees(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("rate") is not None and row.get("goodput") is not None:
            by_model.setdefault(str(row["model"]), []).append(row)
    out = []
    for model, model_rows in by_model.items():
        bend = knee(model_rows)
        text = (
            f"{model}: at least {GOODPUT_TARGET:.0%} of requests met the SLO up to {bend:g} "
            "requests/s"
            if bend is not None
            else f"{model}: under {GOODPUT_TARGET:.0%} of requests met the SLO at every rate tried"
        )
        out.append({"model": model, "text": text})
    return out


def render_load(report: Mapping[str, Any]) -> str:
    rows = list(report.get("rows") or [])
    views = [_row_view(r) for r in rows]
    return _ENV.get_template("load.html.j2").render(
        run_id=report.get("run_id"),
        suites=list(report.get("suites") or []),
        models=list(report.get("models") or dict.fromkeys(v["model"] for v in views)),
        arrival=report.get("arrival"),
        slo=report.get("slo_text"),
        rows=views,
        knees=_knees(rows),
        client_bound=[f"{v['model']} {v['offered']}" for v in views if v["client_bound"]],
        charts=load_charts(rows),
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )


def write_load_report(report: Mapping[str, Any], path: Path) -> Path:
    """Write the page (a temporary file, then renamed) and return its path."""
    return write_atomically(Path(path), render_load(report))
