"""The summary (DESIGN.md, "Summary JSON") as typed values; `to_json()` is the contract.

Field names are the JSON keys. Keys that only some rows or runs have are fields
that are None when absent; each such group has one key that is never null when
present, and that key decides whether the group is written:
- `error_kinds`: present when the row has errors;
- `pass_at_k_cases` (with pass_at_1, pass_at_k, consistency, cases_short): rows
  of repeated samples;
- `recall_at_k` (with mrr, cost_per_1m_tokens): rows of an embeddings suite;
- `brier` (with brier_samples): rows with samples scored from probabilities (a `choice`
  grader reading logprobs); the mean Brier score over those samples;
- `metrics` ({name: {mean, count}}): rows whose graders name a `metric:`, the mean score of
  each named metric over the row's error-free samples;
- `batch_samples` (with online_cost_usd, batch_savings_usd): rows with answers that came
  through a batch (`evals run --mode batch|batch-file`); `cost_usd` is what they cost at
  batch rates, `online_cost_usd` what the same answers would have cost sent online;
- `cost_basis` ("tokens" or "hourly"): when the run recorded its models' endpoints;
- `estimate` ({requests, prompt_tokens, completion_tokens, cost_usd, basis, ...}):
  when the run recorded its estimates at start (evals.run.estimates);
- top level: `prices_as_of`, `prices`, `suite_fingerprints`, `setup`, when the run recorded
  them; `mode` ("batch" or "batch-file") and `batch` ({batches, waiting, online_cost_usd,
  cost_usd}) for runs sent as batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_REPEAT_KEYS = (
    "pass_at_1",
    "pass_at_k",
    "consistency",
    "pass_at_k_cases",
    "cases_short",
    "variance",
)
_RETRIEVAL_KEYS = ("recall_at_k", "mrr", "cost_per_1m_tokens")
_CALIBRATION_KEYS = ("brier", "brier_samples")
_BATCH_KEYS = ("batch_samples", "online_cost_usd", "batch_savings_usd")


@dataclass(frozen=True, slots=True)
class ErrorKind:
    kind: str  # the error class, or "error"
    count: int
    example: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "count": self.count, "example": self.example}


@dataclass(slots=True)
class SummaryRow:
    """One (suite, prompt, model) row."""

    suite: str
    prompt: str
    model: str
    cases: int
    samples: int
    errors: int
    passed: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    mean_score: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    ttft_p50_s: float | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: float | None
    grader_cost_usd: float | None
    spend_usd: float | None
    cache_hits: int
    retries: int
    backoff_s: float
    ttft_p95_s: float | None
    tokens_per_s_p50: float | None
    repeats: int
    audio_seconds: float | None
    samples_without_usage: int
    clustered: bool = False  # the interval treats samples of one cluster as one unit
    mean_score_ci_low: float | None = None
    mean_score_ci_high: float | None = None
    mean_score_ci_method: str | None = None  # "t" or "bootstrap" (partial-credit scores)
    mde: float | None = None  # smallest accuracy difference detectable (alpha .05, 80%)
    mde_basis: str | None = None
    # optional groups (see the module docstring)
    error_kinds: list[ErrorKind] | None = None
    pass_at_1: float | None = None
    pass_at_k: float | None = None
    consistency: float | None = None
    pass_at_k_cases: int | None = None
    cases_short: int | None = None
    variance: dict[str, float | None] | None = None  # repeats: within / between case
    recall_at_k: dict[str, float] | None = None
    mrr: float | None = None
    cost_per_1m_tokens: float | None = None
    brier: float | None = None  # mean Brier score of the probabilistic verdicts (0 best, 2 worst)
    brier_samples: int | None = None  # samples whose verdict came with probabilities
    metrics: dict[str, dict[str, float | int]] | None = None  # named metrics: {mean, count}
    batch_samples: int | None = None  # answers that came through a batch
    online_cost_usd: float | None = None  # what the row's answers would have cost online
    batch_savings_usd: float | None = None  # online_cost_usd - cost_usd
    cost_basis: str | None = None  # "tokens" | "hourly" (evals.report.costing)
    estimate: dict[str, Any] | None = None  # recorded at run start (evals.run.estimates)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _ALWAYS_ROW_KEYS}
        if self.error_kinds is not None:
            data["error_kinds"] = [kind.to_json() for kind in self.error_kinds]
        if self.pass_at_k_cases is not None:
            data.update((name, getattr(self, name)) for name in _REPEAT_KEYS)
        if self.recall_at_k is not None:
            data.update((name, getattr(self, name)) for name in _RETRIEVAL_KEYS)
        if self.brier is not None:
            data.update((name, getattr(self, name)) for name in _CALIBRATION_KEYS)
        if self.metrics:
            data["metrics"] = self.metrics
        if self.batch_samples:
            data.update((name, getattr(self, name)) for name in _BATCH_KEYS)
        for name in _COSTING_KEYS:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


_COSTING_KEYS = ("cost_basis", "estimate")
_OPTIONAL_ROW_KEYS = (
    "error_kinds",
    *_REPEAT_KEYS,
    *_RETRIEVAL_KEYS,
    *_CALIBRATION_KEYS,
    "metrics",
    *_BATCH_KEYS,
    *_COSTING_KEYS,
)
_ALWAYS_ROW_KEYS = tuple(f.name for f in fields(SummaryRow) if f.name not in _OPTIONAL_ROW_KEYS)


@dataclass(slots=True)
class Summary:
    """A run's summary, built from the store alone (evals.report.summary.build_summary)."""

    run_id: str
    suites: list[str]
    started_at: str
    finished_at: str | None
    complete: bool
    rows: list[SummaryRow]
    spend_usd: float
    stopped_reason: str | None
    warnings: list[str] = field(default_factory=list)
    prices_as_of: str | None = None  # the bundled price table's date
    prices: list[dict[str, Any]] | None = None  # where each model's price came from
    suite_fingerprints: dict[str, str] | None = None  # suite name -> evals.config.fingerprint
    # suite -> {comparisons, pareto, recommendation, recommended} (evals.decide.selection)
    per_suite: dict[str, dict[str, Any]] | None = None
    # {models: [{id, endpoint, api_model, adapted: [notes]}], prompts_by_suite: {suite: [...]}},
    # from the run's recorded config; absent for runs that did not record their models
    setup: dict[str, Any] | None = None
    mode: str | None = None  # "batch" | "batch-file"; None: sent online
    batch: dict[str, Any] | None = None  # {batches, waiting, cost_usd, online_cost_usd}

    def to_json(self) -> dict[str, Any]:
        """The summary JSON dict (what summary.json holds)."""
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "suites": self.suites,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "complete": self.complete,
            "rows": [row.to_json() for row in self.rows],
            "spend_usd": self.spend_usd,
            "stopped_reason": self.stopped_reason,
            "warnings": self.warnings,
        }
        for name in (
            "prices_as_of",
            "prices",
            "suite_fingerprints",
            "per_suite",
            "setup",
            "mode",
            "batch",
        ):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


def as_json(summary: Summary | Mapping[str, Any]) -> Mapping[str, Any]:
    """The summary JSON dict of a typed Summary; a dict (e.g. a read summary.json) as is."""
    return summary.to_json() if isinstance(summary, Summary) else summary
