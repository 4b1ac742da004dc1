"""The report's "Decisions" section: per suite, the recommendation and the paired
comparisons behind it, formatted for the template (every value is escaped there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _signed_points(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:+.1f}"


def _p(x: float | None) -> str:
    if x is None:
        return "—"
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def _row_name(side: Mapping[str, Any]) -> str:
    return f"{side.get('model', '')} · {side.get('prompt', '')}"


def decision_views(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    per_suite = summary.get("per_suite") or {}
    views = []
    for suite, decision in per_suite.items():
        comparisons = []
        for c in decision.get("comparisons") or []:
            low, high = c.get("ci_low"), c.get("ci_high")
            comparisons.append(
                {
                    "a": _row_name(c.get("a") or {}),
                    "b": _row_name(c.get("b") or {}),
                    "n": f"{c.get('n_paired', 0):,}",
                    "diff": _signed_points(c.get("diff")),
                    "ci": "—"
                    if low is None or high is None
                    else f"[{low * 100:+.1f}, {high * 100:+.1f}]",
                    "p": _p(c.get("p_value")),
                    "p_adjusted": _p(c.get("p_adjusted")),
                    "test": str(c.get("test") or "—"),
                    "verdict": "differ" if c.get("significant") else "not shown to differ",
                    "significant": bool(c.get("significant")),
                }
            )
        comparisons.sort(key=lambda c: not c["significant"])  # what differs first (stable)
        views.append(
            {
                "suite": str(suite),
                "differ": sum(c["significant"] for c in comparisons),
                "recommendation": str(decision.get("recommendation") or ""),
                "pareto": [_row_name(r) for r in decision.get("pareto") or []],
                "comparisons": comparisons,
            }
        )
    return views
