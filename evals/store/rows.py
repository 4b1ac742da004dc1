"""What goes into a store and what comes back: plain values, the same for every backend.

`ResultRecord` is the row written (JSON columns as text, as stored); `ResultRow`
is a row read back, its JSON columns decoded once here so no reader parses them
itself; `GroupTotals` holds one (suite, prompt, model) group's sums for the summary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(slots=True)
class ResultRecord:
    run_id: str
    suite: str
    case_id: str
    prompt: str
    model: str
    repeat: int
    request_hash: str
    request: str
    vars: str
    expect: str
    output: str | None
    tool_calls: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    latency_s: float | None
    cost_usd: float | None
    error: str | None
    error_class: str | None
    attempts: int
    passed: bool | None
    score: float | None
    grades: str
    created_at: str
    cache_hit: bool = False
    spend_usd: float | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    backoff_s: float | None = None
    grader_cost_usd: float | None = 0.0
    audio_s: float | None = None
    role: str = "sample"
    cluster: str | None = None  # the case's `cluster:` (cases that are not independent)
    tags: str = "[]"  # JSON list: the case's `tags:`
    logprobs: str | None = None  # JSON: the first output tokens' logprobs, when asked for
    brier: float | None = None  # Brier score of a probabilistic verdict (choice by logprobs)
    via: str | None = None  # how the answer came: None online, 'batch' (Batch API), 'file'
    online_cost_usd: float | None = None  # what it would have cost online (batch answers)


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One stored result, read back: every column, JSON decoded, flags as bool."""

    id: int
    run_id: str
    suite: str
    case_id: str
    prompt: str
    model: str
    repeat: int
    request_hash: str
    request: Any  # the JSON body sent (messages, params)
    vars: Any
    expect: Any
    output: str | None
    tool_calls: list[dict[str, Any]] | None  # None when the model called no function
    finish_reason: str | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    latency_s: float | None
    cost_usd: float | None
    error: str | None
    error_class: str | None
    attempts: int
    passed: bool | None
    score: float | None
    grades: list[dict[str, Any]]  # {type, passed, score, reason, error} per grader
    created_at: str
    cache_hit: bool
    spend_usd: float | None
    ttft_s: float | None
    tokens_per_s: float | None
    backoff_s: float | None
    grader_cost_usd: float | None
    audio_s: float | None
    role: str
    cluster: str | None
    tags: list[str]
    logprobs: list[Any] | None  # [[token, logprob, [[token, logprob], ...]], ...]
    brier: float | None
    via: str | None  # None: sent online (or replayed); 'batch': the Batch API; 'file': ingested
    online_cost_usd: float | None  # the cost at online rates, for answers that came by batch

    @classmethod
    def from_db(cls, row: Mapping[str, Any]) -> ResultRow:
        """From a database row addressed by column name (sqlite3.Row, a dict row)."""
        data = {name: row[name] for name in _ROW_FIELDS}
        for name in ("request", "vars", "expect", "grades", "tags"):
            data[name] = json.loads(data[name])
        for name in ("tool_calls", "logprobs"):
            data[name] = json.loads(data[name]) if data[name] else None
        data["passed"] = None if data["passed"] is None else bool(data["passed"])
        data["cache_hit"] = bool(data["cache_hit"])
        return cls(**data)


_ROW_FIELDS = tuple(field.name for field in fields(ResultRow))


@dataclass(frozen=True, slots=True)
class SampleText:
    """A stored sample as the report's case explorer reads it: its JSON columns
    (request, vars, expect, tool_calls, grades, tags) left as the stored text, so
    100,000 of them are not decoded and encoded again only to be embedded."""

    suite: str
    case_id: str
    prompt: str
    model: str
    repeat: int
    request: str
    vars: str
    expect: str
    output: str | None
    tool_calls: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    latency_s: float | None
    ttft_s: float | None
    cost_usd: float | None
    error: str | None
    passed: bool | None
    score: float | None
    grades: str
    cache_hit: bool
    tags: str


SAMPLE_TEXT_COLUMNS = tuple(field.name for field in fields(SampleText))


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """Sums over one (suite, prompt, model) group of a run, as the database returns them.

    A sum over nothing is None (SQL's SUM); the summary decides what None means.
    Counts of samples leave out the `corpus` rows; token and cost sums include them.
    """

    suite: str
    prompt: str
    model: str
    cases: int  # distinct case ids among the samples
    samples: int
    errors: int | None
    passed: int | None  # error-free samples that passed
    mean_score: float | None  # over error-free samples
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: float | None
    unpriced: int | None  # error-free results without a cost
    no_usage: int | None  # error-free samples whose response carried no usage
    spend_usd: float | None
    cache_hits: int | None
    retries: int | None  # attempts beyond the first
    backoff_s: float | None
    grader_cost_usd: float | None
    audio_s: float | None
    grader_unpriced: int | None  # error-free results whose grader cost is unknown
    repeats: int  # the highest repeat index + 1
    brier: float | None  # mean Brier score over the samples that have one
    brier_samples: int | None  # samples scored with probabilities (choice by logprobs)
    batch_samples: int | None  # samples answered through a batch (the Batch API or a file)
    online_cost_usd: float | None  # the group's cost had every answer been bought online

    @classmethod
    def from_db(cls, row: Mapping[str, Any]) -> GroupTotals:
        return cls(**{name: row[name] for name in _GROUP_FIELDS})


_GROUP_FIELDS = tuple(field.name for field in fields(GroupTotals))


@dataclass(frozen=True, slots=True)
class SampleOutcome:
    """One error-free sample of a row, as statistics and comparisons read it.

    Comparisons pair samples of two rows by (case_id, repeat).
    """

    case_id: str
    repeat: int
    passed: bool
    score: float | None
    cluster: str | None
    cost_usd: float | None
    latency_s: float | None
    ttft_s: float | None = None  # streaming only


@dataclass(frozen=True, slots=True)
class PairedCounts:
    """Two rows of one run over the samples both have (same case id and repeat index).

    `a_only`: samples row a passed and row b failed; `b_only` the reverse. With
    `clusters`, per cluster (a case's `cluster:`, else the case itself when the
    row has repeats): (paired samples, sum of a.passed - b.passed), for
    cluster-robust errors; None when every sample is its own cluster.
    """

    n: int
    both: int
    a_only: int
    b_only: int
    clusters: list[tuple[int, int]] | None


@dataclass(slots=True)
class BatchState:
    """One batch file of a run and where it is at the provider: what a resume re-attaches.

    `state`: 'written' (the file is on disk), 'uploaded' (file_id known), 'submitted'
    (batch_id known; `status` is then the provider's), 'ingested' (its results are
    stored), or 'offline' (written for `evals ingest`, never sent). `role` is 'sample'
    (answers of the models under test) or 'judge' (model-graded graders' calls).
    """

    run_id: str
    batch_no: int
    role: str
    endpoint: str
    model: str
    url: str
    input_path: str
    requests: int
    bytes: int
    round: int = 0
    state: str = "written"
    reserved_usd: float = 0.0  # the --max-cost reservation its requests hold
    file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None  # the provider's status (validating, in_progress, ...)
    completed: int | None = None  # request_counts.completed at the last look
    failed: int | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    note: str | None = None  # why it ended as it did (errors of a failed batch)
    updated_at: str | None = None


BATCH_COLUMNS = tuple(field.name for field in fields(BatchState))
