"""The library entry points: run suites, read a past run. No printing, no exit codes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.errors import InputError
from evals.run.execute import QuietEvents, RunEvents, execute
from evals.run.options import RunOptions


def run(
    suites: Sequence[str | Path],
    runner: str | Path,
    *,
    events: RunEvents | None = None,
    store_path: Path | None = None,
    **options: Any,
) -> Any:
    """Run `suites` against the models of `runner`; returns the run's summary.

    `options` are RunOptions fields (model_ids, prompts, repeat, limit, max_cost,
    no_cache, resume, out_dir, summary_json, ...). Bad input raises InputError;
    an incomplete run still returns its summary (`summary["complete"]` says so).
    """
    from evals.store import open_store

    run_options = RunOptions(
        suite_paths=[Path(p) for p in suites], runner_path=Path(runner), **options
    )
    store = open_store(store_path)
    try:
        result = execute(run_options, store, events or QuietEvents())
    finally:
        store.close()
    if result.summary is None:  # resuming a complete run: its summary as stored
        return load_summary(result.run_id, store_path)
    return result.summary


def load_summary(run_id: str, store_path: Path | None = None) -> Any:
    """The summary of a stored run (`latest` for the newest), rebuilt from the store."""
    from evals.report.summary import build_summary
    from evals.store import open_store

    store = open_store(store_path)
    try:
        return build_summary(store, _resolve(store, run_id)).to_json()
    finally:
        store.close()


def load_run(run_id: str, store_path: Path | None = None) -> Any:
    """A stored run's results as a pandas DataFrame: one row per sample, every stored
    field (JSON columns decoded), for notebooks: `load_run("latest").groupby("model")`."""
    import pandas as pd

    from evals.store import open_store
    from evals.store.export import result_dict

    store = open_store(store_path)
    try:
        rows = [result_dict(row) for row in store.results(_resolve(store, run_id))]
    finally:
        store.close()
    return pd.DataFrame(rows)


def _resolve(store: Any, run_id: str) -> str:
    resolved = store.latest_run_id() if run_id == "latest" else run_id
    if resolved is None or store.run(resolved) is None:
        raise InputError(f"no run '{run_id}' in the store: `evals runs` lists them")
    return resolved


def regrade_run(run_id: str, store_path: Path | None = None) -> tuple[str, int]:
    """Grade a stored run again with its suite files' current graders, sending nothing to
    the models under test; rewrites its report. Returns (run id, samples graded)."""
    from evals.config.runner import load_runner
    from evals.config.suite import load_suite
    from evals.report.writer import write_report
    from evals.run.session import regrade_session
    from evals.store import open_store

    store = open_store(store_path)
    try:
        resolved = _resolve(store, run_id)
        config = store.run(resolved)["config"]
        suites = [load_suite(Path(path)) for path in config["suite_paths"]]
        profile = load_runner(Path(config["runner_path"]))
        count = regrade_session(profile, store, resolved, suites)
        write_report(store, resolved, Path("reports") / resolved)
    finally:
        store.close()
    return resolved, count
