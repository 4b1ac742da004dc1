"""The two sides of a comparison: a run's rows and their samples, from the store or a file.

A side is a stored run (by id, or `latest`) or a file written by
`evals export --format jsonl`. Either way it becomes a `RunSamples`: per
(suite, prompt, model) row, its sample and error counts and its error-free
samples keyed by (case_id, repeat), which is how two runs' samples are paired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.errors import InputError
from evals.stats import percentile
from evals.store import ResultStore, SampleOutcome
from evals.store.export import read_jsonl

RowKey = tuple[str, str, str]  # suite, prompt, model id
CaseKey = tuple[str, int]  # case_id, repeat


@dataclass
class RowSamples:
    """One (suite, prompt, model) row of a run."""

    suite: str
    prompt: str
    model: str
    samples: int = 0  # every sample stored, errors included
    errors: int = 0
    outcomes: dict[CaseKey, SampleOutcome] = field(default_factory=dict)  # error-free ones

    @property
    def key(self) -> RowKey:
        return (self.suite, self.prompt, self.model)

    @property
    def accuracy(self) -> float | None:
        """passed / error-free samples, as in the summary."""
        if not self.outcomes:
            return None
        return sum(o.passed for o in self.outcomes.values()) / len(self.outcomes)

    @property
    def cost_per_case(self) -> float | None:
        """The cost of the error-free samples over the distinct cases among them (all
        repeats of a case count toward it); None when any of those costs is unknown."""
        costs = [o.cost_usd for o in self.outcomes.values()]
        if not costs or any(cost is None for cost in costs):
            return None
        return math.fsum(costs) / len({case for case, _ in self.outcomes})

    def latency(self, q: float) -> float | None:
        values = [o.latency_s for o in self.outcomes.values() if o.latency_s is not None]
        return percentile(values, q)


@dataclass
class RunSamples:
    run_id: str
    suites: list[str]
    started_at: str
    complete: bool
    source: str  # "store", or the export file it was read from
    rows: dict[RowKey, RowSamples] = field(default_factory=dict)  # suite, prompt, model order


def from_store(store: ResultStore, run_id: str) -> RunSamples:
    run = store.run(run_id)
    if run is None:
        raise InputError(f"no run '{run_id}' in {store.path}: `evals runs` lists them")
    side = RunSamples(run_id, run["suites"], run["started_at"], run["complete"], "store")
    for group in store.groups(run_id):
        if not group.samples:  # only an embeddings suite's corpus rows
            continue
        row = RowSamples(group.suite, group.prompt, group.model, group.samples, group.errors or 0)
        for outcome in store.sample_outcomes(run_id, group.suite, group.prompt, group.model):
            row.outcomes[(outcome.case_id, outcome.repeat)] = outcome
        side.rows[row.key] = row
    return side


def from_export(path: Path) -> RunSamples:
    exported = read_jsonl(path)
    run = exported.run
    side = RunSamples(
        str(run["run_id"]),
        list(run.get("suites") or []),
        str(run.get("started_at") or ""),
        bool(run.get("complete")),
        str(path),
    )
    rows: dict[RowKey, RowSamples] = {}
    for data in exported.results():
        if data.get("role", "sample") != "sample":
            continue
        key = (str(data["suite"]), str(data["prompt"]), str(data["model"]))
        row = rows.get(key) or rows.setdefault(key, RowSamples(*key))
        row.samples += 1
        if data["error"] is not None:
            row.errors += 1
            continue
        outcome = _outcome(data)
        row.outcomes[(outcome.case_id, outcome.repeat)] = outcome
    side.rows = dict(sorted(rows.items()))
    return side


def _outcome(data: dict[str, Any]) -> SampleOutcome:
    return SampleOutcome(
        case_id=str(data["case_id"]),
        repeat=int(data["repeat"]),
        passed=bool(data["passed"]),
        score=data.get("score"),
        cluster=data.get("cluster"),
        cost_usd=data.get("cost_usd"),
        latency_s=data.get("latency_s"),
    )


def load_new(store: ResultStore, spec: str) -> RunSamples:
    """NEW_RUN: a run id, `latest` (the newest run in the store), or an export file."""
    if spec == "latest":
        run_id = store.latest_run_id()
        if run_id is None:
            raise InputError(f"no runs in {store.path} yet: `evals run SUITE` makes one")
        return from_store(store, run_id)
    return _by_id_or_file(store, spec)


def load_base(store: ResultStore, spec: str, new: RunSamples) -> RunSamples:
    """BASE_RUN: a run id, an export file, or `latest`: the newest complete run of the
    same suites that started before `new` (never `new` itself, never a load test)."""
    if spec != "latest":
        return _by_id_or_file(store, spec)
    suites = sorted(new.suites)
    for run in store.runs():  # newest first
        if run["run_id"] == new.run_id or not run["complete"]:
            continue
        if (run.get("config") or {}).get("mode") == "load":  # `evals load`: no graded rows
            continue
        if sorted(run["suites"]) == suites and run["started_at"] <= new.started_at:
            return from_store(store, run["run_id"])
    raise InputError(
        f"no complete run of suites {', '.join(suites)} before run {new.run_id} in "
        f"{store.path}: make a baseline run first, or pass a run id or a file written by "
        "`evals export RUN_ID --format jsonl`"
    )


def check_source(store: ResultStore, spec: str) -> None:
    """Fail early (before a run spends anything) on a baseline that cannot be found."""
    if spec != "latest" and store.run(spec) is None:
        path = Path(spec)
        if not path.is_file():
            raise InputError(_unknown(store, spec))
        read_jsonl(path)


def _by_id_or_file(store: ResultStore, spec: str) -> RunSamples:
    if store.run(spec) is not None:
        return from_store(store, spec)
    path = Path(spec)
    if path.is_file():
        return from_export(path)
    raise InputError(_unknown(store, spec))


def _unknown(store: ResultStore, spec: str) -> str:
    return (
        f"no run '{spec}' in {store.path} and no such file: pass a run id "
        "(`evals runs` lists them), `latest`, or a file written by `evals export --format jsonl`"
    )
