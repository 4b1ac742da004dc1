"""The summary (DESIGN.md contract), computed from the store alone."""

from __future__ import annotations

from typing import Any

from evals.report.costing import RunCosting
from evals.report.model import ErrorKind, Summary, SummaryRow
from evals.stats import (
    bootstrap_interval,
    clustered_interval,
    projected_se,
    repeat_metrics,
    t_interval_from_moments,
    variance_components,
    wilson_interval,
)
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


def _row(
    store: ResultStore, run_id: str, group: GroupTotals, kind: str = "chat", score_ci: str = "t"
) -> SummaryRow:
    samples = group.samples
    errors = group.errors or 0
    passed = group.passed or 0
    graded = samples - errors
    key = (run_id, group.suite, group.prompt, group.model)
    per_cluster, named = store.per_cluster_passes(*key)
    if named:  # cases share a `cluster:`: a cluster is the independent unit
        ci_low, ci_high = clustered_interval(per_cluster)
        ci_method = "wilson_clustered_by_cluster"
    elif group.repeats > 1:  # repeats of a case are not independent samples
        ci_low, ci_high = clustered_interval(per_cluster)
        ci_method = "wilson_clustered_by_case"
    else:
        ci_low, ci_high = wilson_interval(passed, graded)
        ci_method = "wilson"
    moments = store.score_moments(*key)
    score_low, score_high = _score_interval(*moments)
    score_method = "t" if score_low is not None else None
    if score_ci == "bootstrap" and moments[3]:  # partial-credit scores: resample them
        scores = [s.score for s in store.sample_outcomes(*key) if s.score is not None]
        score_low, score_high = bootstrap_interval(scores)
        score_method = "bootstrap"

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
        per_case = list(store.per_case_passes(*key))
        optional.update(repeat_metrics(per_case, group.repeats))
        optional["variance"] = _variance(per_case)
    if kind == "embeddings":
        optional.update(_retrieval_fields(store, key, group.prompt_tokens, cost))
    if group.brier is not None:
        optional.update(brier=group.brier, brier_samples=group.brier_samples)
    if group.batch_samples:
        online = None if group.unpriced or group.online_cost_usd is None else group.online_cost_usd
        optional.update(
            batch_samples=group.batch_samples,
            online_cost_usd=online,
            batch_savings_usd=None if online is None or cost is None else online - cost,
        )
    metrics = store.metric_means(*key)
    if metrics:
        optional["metrics"] = {name: {"mean": m, "count": n} for name, (m, n) in metrics.items()}
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
        clustered=ci_method != "wilson",
        mean_score_ci_low=score_low,
        mean_score_ci_high=score_high,
        mean_score_ci_method=score_method,
        **optional,
    )


def _score_interval(n: int, mean: float | None, squares: float | None, partial: int) -> tuple:
    """95% t interval of the mean score, from its moments (memory-flat). Only for
    partial-credit scores: a 0/1 score is the pass rate, whose interval is Wilson's."""
    if mean is None or squares is None or not partial:
        return (None, None)
    return t_interval_from_moments(n, mean, squares)


def _variance(per_case: list[tuple[int, int]]) -> dict[str, float | None]:
    """Within- and between-case variance of a repeated row, and what more of each buys."""
    groups = [[1.0] * passed + [0.0] * (n - passed) for n, passed in per_case if n]
    if len(groups) < 2:
        return {"within_case": None, "between_case": None}
    parts = variance_components(groups)
    cases, repeats = parts.cases, parts.mean_repeats
    return {
        "within_case": parts.within_var,
        "between_case": parts.between_var,
        "se_now": projected_se(parts, cases, repeats),
        "se_twice_the_repeats": projected_se(parts, cases, repeats * 2),
        "se_twice_the_cases": projected_se(parts, cases * 2, repeats),
    }


def _decisions(store: ResultStore, run_id: str, rows: list[SummaryRow]) -> dict[str, Any]:
    """Per suite: paired comparisons, the Pareto frontier, the recommendation; and
    each row's smallest detectable difference (written onto the rows)."""
    from evals.decide.selection import Candidate, decide

    out: dict[str, Any] = {}
    for suite in dict.fromkeys(row.suite for row in rows):
        members = [row for row in rows if row.suite == suite]
        candidates = [
            Candidate(
                row.prompt,
                row.model,
                row.accuracy,
                None
                if row.cost_usd is None or not row.samples
                else row.cost_usd / row.samples * 1000,
                row.latency_p95_s,
                row.samples - row.errors,
            )
            for row in members
        ]
        decision = decide(candidates, lambda a, b, s=suite: store.paired_counts(run_id, s, a, b))
        for row in members:
            power = decision.power.get((row.prompt, row.model))
            if power is not None:
                row.mde, row.mde_basis = power["mde"], power["mde_basis"]
        out[suite] = {
            "comparisons": decision.comparisons,
            "pareto": decision.pareto,
            "recommendation": decision.recommendation,
            "recommended": decision.recommended,
        }
    return out


def _setup(config: dict[str, Any], rows: list[SummaryRow]) -> dict[str, Any] | None:
    """Models with their endpoints, API model names and how their requests were rewritten
    (`adapted`: the notes of evals.endpoints.capabilities), and each suite's prompts."""
    models = config.get("models")
    if not isinstance(models, list):
        return None
    adapted = config.get("adapted") if isinstance(config.get("adapted"), dict) else {}
    prompts: dict[str, list[str]] = {}
    for row in rows:
        names = prompts.setdefault(row.suite, [])
        if row.prompt not in names:
            names.append(row.prompt)
    return {
        "models": [
            {
                "id": m.get("id"),
                "endpoint": m.get("endpoint"),
                "api_model": m.get("model") or m.get("id"),
                "adapted": list(adapted.get(m.get("id")) or []),
            }
            for m in models
            if isinstance(m, dict)
        ],
        "prompts_by_suite": prompts,
    }


def build_summary(store: ResultStore, run_id: str, score_ci: str | None = None) -> Summary:
    """The run's summary; `score_ci` ("t" or "bootstrap", else the run's own choice)
    picks the interval of a partial-credit mean score."""
    run = store.run(run_id)
    if run is None:
        raise KeyError(run_id)
    method = score_ci or run["config"].get("score_ci") or "t"
    config = run["config"]
    kinds = config.get("suite_kinds", {})
    prices = config.get("prices")
    costing = RunCosting.of(store, run_id, config)  # hourly endpoints, estimates
    rows = [
        costing.apply(_row(store, run_id, group, kinds.get(group.suite, "chat"), method))
        for group in store.groups(run_id)
    ]
    return Summary(
        run_id=run_id,
        suites=run["suites"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        complete=run["complete"],
        rows=rows,
        per_suite=_decisions(store, run_id, rows),
        spend_usd=costing.spend(store.spent(run_id)),
        stopped_reason=run.get("stopped_reason"),
        warnings=list(config.get("warnings", [])),
        prices_as_of=config.get("prices_as_of") or None,  # the bundled table's date
        # Where each model's price came from (bundled or runner override), recorded at
        # run start; absent for runs made before it was recorded.
        prices=prices if isinstance(prices, list) else None,
        # What each suite's files held when the run started (evals.config.fingerprint).
        suite_fingerprints=config.get("suite_fingerprints"),
        setup=_setup(config, rows),
        mode=config.get("mode") if config.get("mode") in BATCH_MODES else None,
        batch=_batch_totals(store, run_id, rows) if config.get("mode") in BATCH_MODES else None,
    )


BATCH_MODES = ("batch", "batch-file")


def _batch_totals(store: ResultStore, run_id: str, rows: list[SummaryRow]) -> dict[str, Any]:
    """A batch run's batches and what it cost against what it would have cost online."""
    batches = store.batches(run_id)
    costs = [row.cost_usd for row in rows]
    online = [row.online_cost_usd if row.batch_samples else row.cost_usd for row in rows]
    return {
        "batches": len(batches),
        "waiting": sum(b.state not in ("ingested",) for b in batches),
        "requests": sum(b.requests for b in batches),
        "cost_usd": None if None in costs else sum(c or 0.0 for c in costs),
        "online_cost_usd": None if None in online else sum(c or 0.0 for c in online),
    }
