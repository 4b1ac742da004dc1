"""One run, orchestrated: prepare -> create (or resume) -> session -> finish -> report.

Nothing here prints or picks an exit code: what a user should hear goes to a
`RunEvents` listener (the CLI prints it), and the outcome comes back as a
`RunResult` for the caller to judge.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evals.run.options import RunOptions
from evals.run.prepare import Prepared, prepare, resumed_options, run_config

if TYPE_CHECKING:
    from evals.run.plan import Job
    from evals.store import ResultStore


class RunEvents(Protocol):
    """What a run tells its caller while it goes (the CLI prints these to stderr)."""

    def started(self, run_id: str) -> None: ...
    def warning(self, text: str) -> None: ...
    def note(self, text: str) -> None: ...


class QuietEvents:
    """For library callers: hear nothing."""

    def started(self, run_id: str) -> None:
        pass

    def warning(self, text: str) -> None:
        pass

    def note(self, text: str) -> None:
        pass


@dataclass
class RunResult:
    run_id: str
    prepared: Prepared
    summary: dict[str, Any] | None = None  # None when nothing was run (already complete)
    complete: bool = False
    stop_reason: str | None = None
    stored: int = 0  # results in the store for this run
    report_dir: Path | None = None
    already_complete: bool = False


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def _resume_hint(store: ResultStore, prepared: Prepared, events: RunEvents) -> None:
    for run in store.unfinished_runs(list(prepared.case_counts))[:1]:
        events.note(
            f"run {run['run_id']} of these suites is unfinished "
            f"({run['results']}/{run['planned']} results): "
            f"`evals run --resume {run['run_id']}` finishes it"
        )


def _already_done(store: ResultStore, run_id: str) -> Callable[[Job], bool]:
    def done(job: Job) -> bool:
        return store.has_result(
            run_id, job.suite.name, job.case.id, job.prompt, job.model.id, job.repeat
        )

    return done


def plan_only(options: RunOptions, store: ResultStore) -> Prepared:
    """What `--dry-run` shows: the checked plan, with nothing created or sent."""
    if options.resume:
        options = resumed_options(options, store)
    return prepare(options)


def execute(options: RunOptions, store: ResultStore, events: RunEvents) -> RunResult:
    """Run (or resume) what `options` name; every result is in `store` as it arrives."""
    from evals.engine.budget import Budget
    from evals.pricing import PriceBook
    from evals.report.writer import REPORTS, write_report, write_summary_json
    from evals.run.session import run_session

    if options.resume:
        options = resumed_options(options, store)
    prepared = prepare(options)
    if options.distributed:  # before a run exists: a worker-shared run needs PostgreSQL
        from evals.run.fleet import require_shared

        require_shared(store)
    run_id = options.resume or new_run_id()
    events.started(run_id)
    for warning in prepared.warnings:
        events.warning(warning)
    resumed = bool(options.resume)
    if options.resume:
        if store.run(run_id)["complete"]:
            return RunResult(run_id, prepared, complete=True, already_complete=True)
        already_done = _already_done(store, run_id)
    else:
        _resume_hint(store, prepared, events)
        store.start_run(
            run_id, list(prepared.case_counts), now_iso(), run_config(options, prepared, store)
        )
        store.set_planned(run_id, prepared.planned)
        already_done = None
    remaining = {
        m.id: prepared.per_model[m.id] - store.count_model_results(run_id, m.id)
        for m in prepared.models
    }
    budget = None
    if options.max_cost is not None:
        budget = Budget(cap_usd=options.max_cost, spent_usd=store.spent(run_id))
    if options.distributed:
        from evals.run.fleet import fleet_session

        prices = PriceBook(prepared.profile)
        session = fleet_session(options, prepared, store, run_id, prices, create=not resumed)
    elif options.mode == "online":
        session = run_session(
            options,
            prepared,
            store,
            run_id,
            PriceBook(prepared.profile),
            budget,
            already_done,
            remaining,
        )
    else:
        from evals.run.batch.session import run_batch_session

        session = run_batch_session(
            options, prepared, store, run_id, PriceBook(prepared.profile), budget, resumed
        )
    stop_reason = session.stop_reason
    if prepared.planned and store.count_answered(run_id) == 0:
        stop_reason = stop_reason or "failed"  # a run of errors measured nothing
    complete = store.count_results(run_id) == prepared.planned and stop_reason is None
    store.finish_run(run_id, now_iso(), complete, None if complete else stop_reason)
    report_dir = None if options.mode == "batch-file" else options.out_dir
    summary = write_report(store, run_id, report_dir).to_json()
    if options.summary_json:
        write_summary_json(summary, options.summary_json)
    return RunResult(
        run_id,
        prepared,
        summary,
        complete,
        None if complete else stop_reason,
        store.count_results(run_id),
        report_dir or REPORTS / run_id,
    )
