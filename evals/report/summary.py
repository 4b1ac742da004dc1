"""The summary JSON (DESIGN.md contract), computed from the store alone."""

from __future__ import annotations

from typing import Any

from evals.stats import percentile, wilson_interval
from evals.store import Store


def _row(store: Store, run_id: str, group: Any) -> dict[str, Any]:
    samples = group["samples"]
    errors = group["errors"] or 0
    passed = group["passed"] or 0
    graded = samples - errors
    ci_low, ci_high = wilson_interval(passed, graded)
    latencies = sorted(store.latencies(run_id, group["suite"], group["prompt"], group["model"]))
    cost = group["cost_usd"]
    if group["unpriced"]:
        cost = None  # some results have no known price: a partial sum would mislead
    elif cost is None:
        cost = 0.0  # nothing was billed (every request failed)
    return {
        "suite": group["suite"],
        "prompt": group["prompt"],
        "model": group["model"],
        "cases": group["cases"],
        "samples": samples,
        "errors": errors,
        "passed": passed,
        "accuracy": passed / graded if graded else None,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "mean_score": group["mean_score"],
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "ttft_p50_s": None,
        "prompt_tokens": group["prompt_tokens"],
        "cached_tokens": group["cached_tokens"],
        "completion_tokens": group["completion_tokens"],
        "reasoning_tokens": group["reasoning_tokens"],
        "cost_usd": cost,
        "grader_cost_usd": 0.0,
    }


def build_summary(store: Store, run_id: str) -> dict[str, Any]:
    run = store.run(run_id)
    if run is None:
        raise KeyError(run_id)
    config = run["config"]
    summary: dict[str, Any] = {
        "run_id": run_id,
        "suites": run["suites"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "complete": run["complete"],
        "rows": [_row(store, run_id, group) for group in store.groups(run_id)],
    }
    summary["warnings"] = list(config.get("warnings", []))
    if config.get("prices_as_of"):
        summary["prices_as_of"] = config["prices_as_of"]
    return summary
