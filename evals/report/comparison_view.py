"""The comparison table's sort keys and the "best" accuracy badge the statistics support."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Column order of the comparison table; each data cell carries its raw value as data-sort.
SORT_COLUMNS = (
    "suite", "prompt", "model", "accuracy", "passed", "errors", "mean_score",
    "latency_p50_s", "latency_p95_s", "ttft_p50_s", "prompt_tokens", "cached_tokens",
    "completion_tokens", "reasoning_tokens", "cost_usd", "spend_usd", "cost_per_1k",
    "grader_cost_usd",
)  # fmt: skip
TEXT_COLUMNS = frozenset({"suite", "prompt", "model"})


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
