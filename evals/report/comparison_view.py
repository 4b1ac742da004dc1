"""The report's per-suite sections: each suite's comparison table (its sort keys, the
pass@k column of repeated rows, the "best" accuracy badge the statistics support),
its decisions and its charts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Column order of a suite's comparison table; each data cell carries its raw value as
# data-sort (pass_at_k only in a suite with repeats).
SORT_COLUMNS = (
    "prompt", "model", "accuracy", "pass_at_k", "passed", "errors", "mean_score",
    "latency_p50_s", "latency_p95_s", "ttft_p50_s", "prompt_tokens", "cached_tokens",
    "completion_tokens", "reasoning_tokens", "cost_usd", "spend_usd", "cost_per_1k",
    "grader_cost_usd",
)  # fmt: skip
TEXT_COLUMNS = frozenset({"prompt", "model"})


def sort_keys(row: Mapping[str, Any], num: Any, per_case: float | None) -> dict[str, str | None]:
    """Raw value per column ("" never: None is unknown and always sorts last)."""
    keys: dict[str, str | None] = {}
    for name in SORT_COLUMNS:
        if name in TEXT_COLUMNS:
            keys[name] = str(row.get(name, ""))
            continue
        if name == "cost_per_1k":
            value = None if per_case is None else per_case * 1000
        else:
            value = num(row.get(name))
        keys[name] = None if value is None else repr(float(value))
    return keys


def _key(side: Any) -> tuple[str, str] | None:
    if not isinstance(side, Mapping):
        return None
    return (str(side.get("prompt", "")), str(side.get("model", "")))


def mark_supported_best(rows: list[dict[str, Any]], per_suite: Mapping[str, Any]) -> None:
    """ "best" only on a row significantly more accurate than every other scored row of
    its suite: it is `a` of a significant comparison with each of them, and of no
    comparison that is not significant. Never on 0%. Rows are the html row views."""
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        r["best_accuracy"] = False
        if r["_acc"] is not None:
            by_suite.setdefault(r["suite"], []).append(r)
    for suite, group in by_suite.items():
        decision = per_suite.get(suite)
        if len(group) < 2 or not isinstance(decision, Mapping):
            continue
        keys = {(r["prompt"], r["model"]) for r in group}
        comparisons = [
            c
            for c in decision.get("comparisons") or []
            if isinstance(c, Mapping) and _key(c.get("a")) in keys and _key(c.get("b")) in keys
        ]
        for r in group:
            me = (r["prompt"], r["model"])
            mine = [c for c in comparisons if me in (_key(c.get("a")), _key(c.get("b")))]
            beaten = {_key(c.get("b")) for c in mine if _key(c.get("a")) == me}
            r["best_accuracy"] = (
                r["_acc"] > 0
                and bool(mine)
                and all(_key(c.get("a")) == me and c.get("significant") is True for c in mine)
                and beaten == keys - {me}
            )


def pass_at_k_cell(
    row: Mapping[str, Any], num: Callable[[Any], float | None], pct: Callable[[Any], str | None]
) -> dict[str, Any]:
    """A row's repeats (k, 1 when not repeated), its pass@k as a percentage (None when
    unknown) and the cell's title: k, pass@1 and the cases both are over."""
    k = max(1, int(num(row.get("repeats")) or 1))
    value = pct(row.get("pass_at_k")) if k > 1 else None
    title = None
    if value is not None:
        parts = [f"pass@{k}: at least one of {k} repeats passed"]
        at_1 = pct(row.get("pass_at_1"))
        if at_1 is not None:
            parts.append(f"pass@1 {at_1}%")
        cases = num(row.get("pass_at_k_cases"))
        if cases is not None:
            parts.append(f"over {round(cases):,} cases")
        title = "; ".join(parts)
    return {"repeats": k, "pass_at_k": value, "pass_at_k_title": title}


def suite_sections(
    rows: Sequence[dict[str, Any]],
    suites: Sequence[str],
    decisions: Sequence[dict[str, Any]],
    charts: Mapping[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """One section per suite: the summary's suites in order, then suites of rows (and
    of decisions) it does not list. Each holds its rows, its pass@k header (None when
    no row is repeated; "pass@k" when rows differ in k), its decision and its charts."""
    names = list(dict.fromkeys([*suites, *(r["suite"] for r in rows)]))
    names += [d["suite"] for d in decisions if d["suite"] not in names]
    decision = {d["suite"]: d for d in decisions}
    sections = []
    for index, name in enumerate(names, 1):
        mine = [r for r in rows if r["suite"] == name]
        ks = {r["repeats"] for r in mine if r["repeats"] > 1}
        metrics = sorted({name for r in mine for name in r.get("metrics") or {}})
        sections.append(
            {
                "id": f"suite-{index}",
                "suite": name,
                "rows": mine,
                "pass_at_k": (f"pass@{min(ks)}" if len(ks) == 1 else "pass@k") if ks else None,
                "metrics": metrics,  # named metrics: one column each, after the mean score
                "decision": decision.get(name),
                "charts": charts.get(name) or [],
            }
        )
    return sections
