"""The report's header: what was run, when, for how long, at what cost, and in what
state, in plain words (every value is escaped by the template)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from evals.report.values import finite_number as _num

_STOPPED = {
    "budget": "incomplete: stopped by the --max-cost budget",
    "interrupted": "incomplete: interrupted",
    "failed": "incomplete: no request succeeded",
    "batch-waiting": "waiting for its batches (`evals run --resume` or `evals ingest`)",
}


def _time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def duration_text(started: Any, finished: Any) -> str | None:
    """ "1 h 02 min", "1 min 30 s", "12.3 s"; None when either end is unknown."""
    a, b = _time(started), _time(finished)
    if a is None or b is None or b < a:
        return None
    s = (b - a).total_seconds()
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def state_text(summary: Mapping[str, Any]) -> str:
    if summary.get("complete"):
        return "complete"
    reason = summary.get("stopped_reason")
    if not reason:
        return "incomplete"
    return _STOPPED.get(str(reason), f"incomplete: {reason}")


def _total(rows: list[Mapping[str, Any]], key: str) -> float | None:
    """The sum over rows; None (unknown) when any row's value is unknown."""
    values = [_num(r.get(key)) for r in rows]
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def header_view(summary: Mapping[str, Any], fmt_usd: Callable[[Any], str | None]) -> dict:
    rows = [r for r in summary.get("rows") or [] if isinstance(r, Mapping)]
    setup = summary.get("setup") if isinstance(summary.get("setup"), Mapping) else {}
    models = [
        {
            "id": str(m.get("id") or ""),
            "endpoint": None if m.get("endpoint") is None else str(m["endpoint"]),
            "api_model": None if m.get("api_model") is None else str(m["api_model"]),
            "adapted": [str(note) for note in m.get("adapted") or []],
        }
        for m in setup.get("models") or []
        if isinstance(m, Mapping)
    ]
    if not models:  # old summaries: the model names the rows carry
        names = dict.fromkeys(str(r.get("model", "")) for r in rows)
        models = [{"id": n, "endpoint": None, "api_model": None, "adapted": []} for n in names]
    prompts: dict[str, list[str]] = {}
    recorded = setup.get("prompts_by_suite")
    if isinstance(recorded, Mapping):
        prompts = {str(s): [str(p) for p in ps] for s, ps in recorded.items()}
    else:
        for r in rows:
            names = prompts.setdefault(str(r.get("suite", "")), [])
            if str(r.get("prompt", "")) not in names:
                names.append(str(r.get("prompt", "")))
    cases_by_suite: dict[str, int] = {}
    for r in rows:
        suite = str(r.get("suite", ""))
        cases_by_suite[suite] = max(cases_by_suite.get(suite, 0), int(_num(r.get("cases")) or 0))
    errors = sum(int(_num(r.get("errors")) or 0) for r in rows)
    cache_hits = sum(int(_num(r.get("cache_hits")) or 0) for r in rows)
    return {
        "models": models,
        "adapted": [m for m in models if m["adapted"]],
        "prompts": [{"suite": s, "names": ", ".join(ps)} for s, ps in prompts.items()],
        "cases": f"{sum(cases_by_suite.values()):,}",
        "samples": f"{sum(int(_num(r.get('samples')) or 0) for r in rows):,}",
        "duration": duration_text(summary.get("started_at"), summary.get("finished_at")),
        "total_cost": fmt_usd(_total(rows, "cost_usd")),
        "new_spend": fmt_usd(summary.get("spend_usd")),
        "cache_hits": f"{cache_hits:,}" if cache_hits else None,
        "grader_cost": fmt_usd(_total(rows, "grader_cost_usd")),
        "state": state_text(summary),
        "errors": f"{errors:,} error{'s' if errors != 1 else ''}" if errors else None,
        "batch": _batch_text(summary, fmt_usd),
    }


def _batch_text(
    summary: Mapping[str, Any], fmt_usd: Callable[[Any], str | None]
) -> dict[str, Any] | None:
    """A batch run: how it was sent, and its cost beside the same answers bought online."""
    batch = summary.get("batch")
    if not isinstance(batch, Mapping):
        return None
    how = "Batch API" if summary.get("mode") == "batch" else "batch files (evals ingest)"
    count = int(_num(batch.get("batches")) or 0)
    waiting = int(_num(batch.get("waiting")) or 0)
    sent = f"{how}, {count:,} batch{'es' if count != 1 else ''}"
    if waiting:
        sent += f", {waiting:,} still waiting"
    cost, online = _num(batch.get("cost_usd")), _num(batch.get("online_cost_usd"))
    saved = None
    if cost is not None and online:
        saved = f"{1 - cost / online:.0%} less than online"
    return {"sent": sent, "online": fmt_usd(online), "saved": saved}
