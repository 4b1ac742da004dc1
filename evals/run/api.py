"""The library entry points: run suites, read a past run. No printing, no exit codes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.errors import InputError
from evals.run.execute import QuietEvents, RunEvents, execute
from evals.run.options import RunOptions

if TYPE_CHECKING:
    import pandas as pd

    from evals.store.base import ResultStore


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


def load_summary(
    run_id: str = "latest",
    store: ResultStore | str | Path | None = None,
    *,
    store_path: str | Path | None = None,
) -> Any:
    """The summary of a stored run (`latest` for the newest), rebuilt from the store.

    `store`: a store file, a `postgresql://` URL, an open ResultStore (left open), or
    None for the default (`$EVALS_STORE`, else `$EVALS_HOME/evals.sqlite`); `store_path=`
    is the older name for a file.
    """
    from evals.report.summary import build_summary

    with _store(store, store_path) as opened:
        return build_summary(opened, _resolve(opened, run_id)).to_json()


def load_run(
    run_id: str = "latest",
    store: ResultStore | str | Path | None = None,
    *,
    store_path: str | Path | None = None,
) -> pd.DataFrame:
    """A stored run's results as a pandas DataFrame, one row per sample (`latest` for the
    newest run; `store` as in `load_summary`).

    The columns are those of `evals export` in its order (every stored field, `tags`
    included); JSON columns (request, vars, expect, tool_calls, grades, tags) hold Python
    objects; token counts are nullable Int64 (<NA> when the response had no usage);
    `passed` is the nullable boolean (<NA> for a sample that errored, so `mean()` is the
    accuracy over error-free samples); floats are float64 (NaN for unknown).
    """
    from evals.store.export import results_frame

    with _store(store, store_path) as opened:
        return results_frame(opened, _resolve(opened, run_id))


@contextmanager
def _store(
    store: ResultStore | str | Path | None, store_path: str | Path | None
) -> Iterator[ResultStore]:
    """The store asked for; one opened here from a path or a URL is closed on exit."""
    from evals.store import is_postgres_url, open_store

    if store is not None and store_path is not None:
        raise TypeError("give store or store_path, not both")
    if store is not None and not isinstance(store, str | os.PathLike):
        yield store
        return
    location = store if store is not None else store_path
    if location is not None and not is_postgres_url(location):
        location = Path(location)
    opened = open_store(location)
    try:
        yield opened
    finally:
        opened.close()


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
        write_report(store, resolved)
    finally:
        store.close()
    return resolved, count
