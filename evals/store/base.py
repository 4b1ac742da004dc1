"""What the rest of evals asks of a store, whatever holds the data (SQLite today).

A backend implements `ResultStore` and hands out a `ResponseCache`;
tests/test_store_contract.py is the behaviour every backend must show.

Semantics every backend keeps:
- a *sample* is a result of role 'sample' (an embeddings suite also stores rows of
  role 'corpus', which carry cost but are never counted as samples);
- a sample *got an answer* when its error is None or its error is a grader's
  (error_class 'grader'): the request itself succeeded;
- results are keyed by (run_id, suite, case_id, prompt, model, repeat); adding a
  result with an existing key replaces it (a resumed run retries its errors);
- runs are listed newest first: by started_at, then run_id, both descending.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from evals.store.rows import (
    BatchState,
    GroupTotals,
    PairedCounts,
    ResultRecord,
    ResultRow,
    SampleOutcome,
    SampleText,
)


@runtime_checkable
class ResponseCache(Protocol):
    """Responses by request hash (JSON text), replayed instead of sent again."""

    def get(self, request_hash: str) -> str | None: ...

    def put(self, request_hash: str, entry: str) -> None: ...


@runtime_checkable
class ResultStore(Protocol):
    """Runs, their results and the response cache.

    Run dicts (`run`, `runs`, `unfinished_runs`) have the keys run_id, suites (list),
    started_at, finished_at, complete (bool), planned, config (dict), stopped_reason;
    `runs` and `unfinished_runs` add results (how many rows the run has).
    """

    @property
    def path(self) -> Path | str:
        """Where the data lives, for messages (a file, or a server's address)."""
        ...

    @property
    def cache(self) -> ResponseCache: ...

    def close(self) -> None: ...

    # runs

    def start_run(self, run_id: str, suites: list[str], started_at: str, config: dict) -> None: ...

    def set_planned(self, run_id: str, planned: int) -> None: ...

    def finish_run(
        self, run_id: str, finished_at: str, complete: bool, stopped_reason: str | None = None
    ) -> None: ...

    def run(self, run_id: str) -> dict[str, Any] | None: ...

    def runs(self) -> list[dict[str, Any]]: ...

    def latest_run_id(self) -> str | None: ...

    def unfinished_runs(self, suites: list[str]) -> list[dict[str, Any]]:
        """Incomplete runs of exactly these suites (any order), newest first."""
        ...

    # batch state: what a resumed batch run re-attaches to

    def add_batch(self, batch: BatchState) -> None:
        """Record a batch file as soon as it is written (batch_no unique per run)."""
        ...

    def update_batch(self, run_id: str, batch_no: int, **changes: Any) -> None:
        """Change fields of a recorded batch (file id, batch id, status...) at once."""
        ...

    def batches(self, run_id: str) -> list[BatchState]:
        """A run's batches by batch_no; [] for a run sent online."""
        ...

    # results: written

    def add_result(self, record: ResultRecord, cache_entry: str | None = None) -> None:
        """Store one result, and its cache entry when given, in one transaction."""
        ...

    def set_grade(
        self,
        run_id: str,
        suite: str,
        case_id: str,
        prompt: str,
        model: str,
        repeat: int,
        *,
        passed: bool | None,
        score: float | None,
        grades: str,
        error: str | None,
        error_class: str | None,
        grader_cost_usd: float | None,
        brier: float | None = None,
    ) -> None:
        """Replace the verdict of one stored result (one commit); KeyError if there is none."""
        ...

    # results: read

    def has_result(
        self, run_id: str, suite: str, case_id: str, prompt: str, model: str, repeat: int
    ) -> bool:
        """True when this sample is stored without an error (a resume skips it)."""
        ...

    def result_state(
        self, run_id: str, suite: str, case_id: str, prompt: str, model: str, repeat: int
    ) -> str | None:
        """None: no row; 'ok': stored without an error; else its error class ('grader',
        'ungraded', 'server:500', ...; 'error' when the row has none)."""
        ...

    def results(
        self, run_id: str, problems_first: bool = False, limit: int | None = None
    ) -> Iterator[ResultRow]:
        """A run's samples by suite, prompt, model, then insertion; optionally errors,
        then failures, first."""
        ...

    def sample_texts(
        self, run_id: str, problems_first: bool = False, limit: int | None = None
    ) -> Iterator[SampleText]:
        """The samples of `results` (same order), JSON columns as stored text: what the
        report's case explorer embeds."""
        ...

    def records(self, run_id: str) -> Iterator[ResultRecord]:
        """Every row of a run, corpus rows too, as stored (JSON as text), in insertion
        order: what copying a run to another store reads."""
        ...

    def answered_results(self, run_id: str) -> Iterator[ResultRow]:
        """The samples that got an answer, in insertion order: the input of a re-grade.

        Safe to call `set_grade` on each row while iterating.
        """
        ...

    def count_results(self, run_id: str, errors: bool = True) -> int:
        """Samples stored (with `errors=False`: only those without an error)."""
        ...

    def count_answered(self, run_id: str) -> int: ...

    def count_group(self, run_id: str, suite: str, prompt: str, model: str) -> int:
        """Error-free samples of one group."""
        ...

    def count_model_results(self, run_id: str, model: str) -> int:
        """Error-free samples of one model."""
        ...

    def spent(self, run_id: str) -> float:
        """New money spent by the run (every role), 0.0 when none."""
        ...

    # aggregates for the summary

    def groups(self, run_id: str) -> list[GroupTotals]:
        """Sums per (suite, prompt, model), ordered by suite, prompt, model."""
        ...

    def error_kinds(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> list[tuple[str, int, str]]:
        """(error class or 'error', count, the least message) per kind, commonest first."""
        ...

    def timing_percentile(
        self, run_id: str, suite: str, prompt: str, model: str, column: str, q: float
    ) -> float | None:
        """Linear-interpolated percentile q of latency_s, ttft_s or tokens_per_s over a
        group's error-free samples that have it; None when none does."""
        ...

    def grade_means(self, run_id: str, suite: str, prompt: str, model: str) -> dict[str, float]:
        """Mean score per grade type over a group's error-free samples (None scores skipped)."""
        ...

    def metric_means(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> dict[str, tuple[float, int]]:
        """Per named metric (graders' `metric:`): (mean score, grades counted) over a
        group's error-free samples."""
        ...

    def per_case_passes(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> Iterator[tuple[int, int]]:
        """(error-free samples, passed) per case of a group."""
        ...

    def per_cluster_passes(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> tuple[list[tuple[int, int]], bool]:
        """(samples, passed) per cluster (a case without one is its own); any named?"""
        ...

    def score_moments(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> tuple[int, float | None, float | None, int]:
        """(n, mean, sum of squares, count neither 0 nor 1) of a row's error-free scores."""
        ...

    def paired_counts(
        self, run_id: str, suite: str, a: tuple[str, str], b: tuple[str, str]
    ) -> PairedCounts:
        """Agreement of rows a and b ((prompt, model)) over the samples both have."""
        ...

    def sample_outcomes(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> Iterator[SampleOutcome]:
        """The error-free samples of one row, ordered by (case_id, repeat)."""
        ...
