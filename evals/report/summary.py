"""The summary (DESIGN.md contract), computed from the store alone."""

from __future__ import annotations

from typing import Any

from evals.report.model import ErrorKind, Summary, SummaryRow
from evals.stats import clustered_interval, repeat_metrics, wilson_interval
from evals.store import GroupTotals, ResultStore

GroupKey = tuple[str, str, str, str]  # run_id, suite, prompt, model


def _retrieval_fields(
    store: ResultStore, key: GroupKey, tokens: int | None, cost: float | None
) -> dict[str, Any]:
    """recall@k, MRR and the price per 1M tokens of an embeddings suite's row."""
    means = store.grade_means(*key)
    return {
        "recall_at_k": {
            name.split("@", 1)[1]: value
            for name, value in means.items()
            if name.startswith("recall@")
        },
        "mrr": means.get("mrr"),
        "cost_per_1m_tokens": cost / tokens * 1e6 if cost is not None and tokens else None,
    }


def _row(store: ResultStore, run_id: str, group: GroupTotals, kind: str = "chat") -> SummaryRow:
    samples = group.samples
    errors = group.errors or 0
    passed = group.passed or 0
    graded = samples - errors
    key = (run_id, group.suite, group.prompt, group.model)
    if group.repeats > 1:  # repeats of a case are not independent samples
        ci_low, ci_high = clustered_interval(store.per_case_passes(*key))
        ci_method = "wilson_clustered_by_case"
    else:
        ci_low, ci_high = wilson_interval(passed, graded)
        ci_method = "wilson"

    def pct(column: str, q: float) -> float | None:
        return store.timing_percentile(*key, column, q)

    cost = group.cost_usd
    if group.unpriced:
        cost = None  # some results have no known price: a partial sum would mislead
    elif cost is None:
        cost = 0.0  # nothing was billed (every request failed)
    optional: dict[str, Any] = {}
    if errors:
        optional["error_kinds"] = [ErrorKind(*kind) for kind in store.error_kinds(*key)]
    if group.repeats > 1:
        optional.update(repeat_metrics(store.per_case_passes(*key), group.repeats))
    if kind == "embeddings":
        optional.update(_retrieval_fields(store, key, group.prompt_tokens, cost))
    return SummaryRow(
        suite=group.suite,
        prompt=group.prompt,
        model=group.model,
        cases=group.cases,
        samples=samples,
        errors=errors,
        passed=passed,
        accuracy=passed / graded if graded else None,
        ci_low=ci_low,
        ci_high=ci_high,
        ci_method=ci_method,
        mean_score=group.mean_score,
        latency_p50_s=pct("latency_s", 50),
        latency_p95_s=pct("latency_s", 95),
        ttft_p50_s=pct("ttft_s", 50),
        prompt_tokens=group.prompt_tokens,
        cached_tokens=group.cached_tokens,
        completion_tokens=group.completion_tokens,
        reasoning_tokens=group.reasoning_tokens,
        cost_usd=cost,
        grader_cost_usd=None if group.grader_unpriced else (group.grader_cost_usd or 0.0),
        # new spend vs. what the results cost, replays, retries
        spend_usd=None if group.unpriced else (group.spend_usd or 0.0),
        cache_hits=group.cache_hits or 0,
        retries=group.retries or 0,
        backoff_s=group.backoff_s or 0.0,
        ttft_p95_s=pct("ttft_s", 95),
        tokens_per_s_p50=pct("tokens_per_s", 50),
        repeats=group.repeats,
        audio_seconds=group.audio_s,
        # successes whose response carried no token counts: their cost is unknown
        samples_without_usage=group.no_usage or 0,
        **optional,
    )


def build_summary(store: ResultStore, run_id: str) -> Summary:
    run = store.run(run_id)
    if run is None:
        raise KeyError(run_id)
    config = run["config"]
    kinds = config.get("suite_kinds", {})
    prices = config.get("prices")
    return Summary(
        run_id=run_id,
        suites=run["suites"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        complete=run["complete"],
        rows=[
            _row(store, run_id, group, kinds.get(group.suite, "chat"))
            for group in store.groups(run_id)
        ],
        spend_usd=store.spent(run_id),
        stopped_reason=run.get("stopped_reason"),
        warnings=list(config.get("warnings", [])),
        prices_as_of=config.get("prices_as_of") or None,  # the bundled table's date
        # Where each model's price came from (bundled or runner override), recorded at
        # run start; absent for runs made before it was recorded.
        prices=prices if isinstance(prices, list) else None,
        # What each suite's files held when the run started (evals.config.fingerprint).
        suite_fingerprints=config.get("suite_fingerprints"),
    )
