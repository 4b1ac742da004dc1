"""Copying runs from one store into another (`evals store push`): a laptop's SQLite runs
into the team's PostgreSQL store. Idempotent: pushing a run again leaves one copy, brought
up to date (results replace theirs by key, the run's state is the source's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from evals.errors import InputError
from evals.store.base import ResultStore


def push_runs(
    source: ResultStore, target: ResultStore, run_ids: Sequence[str]
) -> list[tuple[str, int]]:
    """Copy each run (`latest`: the newest) with its results, batch state and the cached
    responses of its results; (run id, results copied) per run."""
    resolved = []
    for run_id in run_ids:
        found = source.latest_run_id() if run_id == "latest" else run_id
        if found is None or source.run(found) is None:
            raise InputError(f"no run '{run_id}' in {source.path}: `evals runs` lists them")
        resolved.append(found)
    return [(run_id, _push(source, target, run_id)) for run_id in resolved]


def _push(source: ResultStore, target: ResultStore, run_id: str) -> int:
    run = source.run(run_id)
    assert run is not None
    if target.run(run_id) is None:
        target.start_run(run_id, run["suites"], run["started_at"], run["config"])
    if run["planned"] is not None:
        target.set_planned(run_id, run["planned"])
    if run["finished_at"] is not None:
        target.finish_run(run_id, run["finished_at"], run["complete"], run["stopped_reason"])
    known = {batch.batch_no for batch in target.batches(run_id)}
    for batch in source.batches(run_id):
        if batch.batch_no in known:
            changes = asdict(batch)
            for key in ("run_id", "batch_no"):
                changes.pop(key)
            target.update_batch(run_id, batch.batch_no, **changes)
        else:
            target.add_batch(batch)
    copied = 0
    for record in source.records(run_id):
        entry = source.cache.get(record.request_hash) if not record.cache_hit else None
        target.add_result(record, entry)
        copied += 1
    return copied
