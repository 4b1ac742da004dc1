"""One run, orchestrated: load -> plan -> engine -> graders -> store -> report."""

from __future__ import annotations

import asyncio
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.errors import InputError
from evals.runner import ModelSpec, RunnerProfile, load_runner
from evals.suite import Suite, check_cases, load_suite

EXIT_OK, EXIT_GATE, EXIT_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3


@dataclass
class RunOptions:
    suite_paths: list[Path]
    runner_path: Path
    model_ids: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    repeat: int = 1
    concurrency: int | None = None
    limit: int | None = None
    dry_run: bool = False
    out_dir: Path | None = None
    summary_json: Path | None = None
    fail_under: float | None = None
    argv: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    """Everything checked before the first request is sent."""

    suites: list[Suite]
    case_counts: dict[str, int]
    profile: RunnerProfile
    models: list[ModelSpec]
    planned: int
    warnings: list[str]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def _select_models(profile: RunnerProfile, ids: list[str], path: Path) -> list[ModelSpec]:
    if not ids:
        return list(profile.models)
    by_id = {model.id: model for model in profile.models}
    unknown = [model_id for model_id in ids if model_id not in by_id]
    if unknown:
        raise InputError(
            f"unknown model id(s) {', '.join(unknown)}: the profile defines {', '.join(by_id)}",
            path,
        )
    return [by_id[model_id] for model_id in ids]


def _check_prompts(suites: list[Suite], names: list[str]) -> None:
    for name in names:
        if not any(name in suite.prompts for suite in suites):
            known = sorted({p for suite in suites for p in suite.prompts})
            raise InputError(f"--prompt {name}: no suite has it (prompts: {', '.join(known)})")


def price_warnings(profile: RunnerProfile, models: list[ModelSpec]) -> list[str]:
    from evals.pricing import PriceTable

    table = PriceTable.bundled().with_overrides(profile.pricing)
    return [
        f"no price known for model '{m.id}' ({m.api_model}): its cost is shown as unknown; "
        f"add it under `pricing:` in the runner profile"
        for m in models
        if table.lookup(m.id) is None and table.lookup(m.api_model) is None
    ]


def prepare(options: RunOptions) -> Prepared:
    from evals.engine.plan import count_planned

    suites = [load_suite(path) for path in options.suite_paths]
    names = [suite.name for suite in suites]
    if len(set(names)) != len(names):
        raise InputError(f"two suites share a name ({', '.join(names)}): names must differ")
    case_counts = {suite.name: check_cases(suite) for suite in suites}
    profile = load_runner(options.runner_path)
    models = _select_models(profile, options.model_ids, options.runner_path)
    _check_prompts(suites, options.prompts)
    planned = count_planned(
        suites, options.prompts, options.repeat, options.limit, case_counts, len(models)
    )
    return Prepared(suites, case_counts, profile, models, planned, price_warnings(profile, models))


def run_config(options: RunOptions, prepared: Prepared) -> dict[str, Any]:
    """What the store keeps about how the run was made (never a key: only env var names)."""
    from evals.pricing import PriceTable

    return {
        "argv": options.argv,
        "suite_paths": [str(p) for p in options.suite_paths],
        "runner_path": str(options.runner_path),
        "models": [m.model_dump() for m in prepared.models],
        "endpoints": {
            name: spec.model_dump(exclude={"serve"})
            for name, spec in prepared.profile.endpoints.items()
        },
        "repeat": options.repeat,
        "limit": options.limit,
        "prompts": options.prompts,
        "warnings": prepared.warnings,
        "prices_as_of": PriceTable.bundled().as_of,
    }


def execute(options: RunOptions) -> int:
    from evals.report.table import print_summary
    from evals.report.writer import write_report, write_summary_json
    from evals.store import Store

    prepared = prepare(options)
    if options.dry_run:
        _print_dry_run(prepared)
        return EXIT_OK
    run_id = new_run_id()
    print(f"run: {run_id}", file=sys.stderr, flush=True)
    for warning in prepared.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    store = Store()
    try:
        store.start_run(
            run_id, list(prepared.case_counts), now_iso(), run_config(options, prepared)
        )
        store.set_planned(run_id, prepared.planned)
        stored = _engine_phase(options, prepared, store, run_id)
        complete = stored == prepared.planned
        store.finish_run(run_id, now_iso(), complete)
        out_dir = options.out_dir or Path("reports") / run_id
        summary = write_report(store, run_id, out_dir)
        if options.summary_json:
            write_summary_json(summary, options.summary_json)
        print_summary(summary, sys.stdout)
        print(f"report: {out_dir / 'index.html'}", file=sys.stderr)
    finally:
        store.close()
    if not complete:
        print(
            f"run {run_id} is incomplete: {stored} of {prepared.planned} results stored",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
    return _gate(summary, options.fail_under)


def _gate(summary: dict[str, Any], fail_under: float | None) -> int:
    if fail_under is None:
        return EXIT_OK
    failing = [
        row for row in summary["rows"] if row["accuracy"] is None or row["accuracy"] < fail_under
    ]
    for row in failing:
        print(
            f"gate: {row['suite']}/{row['prompt']}/{row['model']} accuracy "
            f"{row['accuracy']} is under {fail_under}",
            file=sys.stderr,
        )
    return EXIT_GATE if failing else EXIT_OK


def _print_dry_run(prepared: Prepared) -> None:
    print(f"plan: {prepared.planned} requests", file=sys.stderr)
    for suite in prepared.suites:
        print(
            f"  suite {suite.name}: {prepared.case_counts[suite.name]} cases, "
            f"prompts {', '.join(suite.prompts)}",
            file=sys.stderr,
        )
    for model in prepared.models:
        print(f"  model {model.id} -> {model.endpoint} ({model.api_model})", file=sys.stderr)
        for note in _adaptation_notes(prepared.suites, model):
            print(f"    {note}", file=sys.stderr)


def _adaptation_notes(suites: list[Suite], model: ModelSpec) -> list[str]:
    """How requests to this model are rewritten (reasoning models), from a sample request."""
    from evals.engine.plan import build_body

    notes: list[str] = []
    for suite in suites:
        case = next(suite.cases())
        for template in suite.prompts.values():
            _, sample_notes = build_body(model, suite.params, template.render(case.vars))
            notes += [note for note in sample_notes if note not in notes]
    return notes


def _engine_phase(options: RunOptions, prepared: Prepared, store: Any, run_id: str) -> int:
    """Start servers, run every job, store each result as it arrives; returns results stored."""
    from evals.collect import Collector
    from evals.endpoints.client import open_endpoint
    from evals.engine.plan import plan_model
    from evals.engine.scheduler import run_jobs
    from evals.progress import Progress
    from evals.serve import ServedEndpoint

    used = {model.endpoint for model in prepared.models}
    servers: list[ServedEndpoint] = []
    progress = Progress(prepared.planned)
    collector = Collector(store, run_id, prepared.profile, progress)
    try:
        base_urls = {}
        for name in sorted(used):
            spec = prepared.profile.endpoints[name]
            if spec.serve is not None:
                print(f"starting endpoint '{name}'...", file=sys.stderr, flush=True)
                server = ServedEndpoint(name, spec)
                servers.append(server)
                server.wait_ready()
                base_urls[name] = server.base_url
            else:
                base_urls[name] = spec.base_url
        endpoints = {
            name: open_endpoint(name, prepared.profile.endpoints[name], base_urls[name])
            for name in used
        }
        plans: dict[str, list] = {name: [] for name in used}
        for model in prepared.models:
            plans[model.endpoint].append(
                plan_model(
                    prepared.suites,
                    model,
                    base_urls[model.endpoint],
                    options.prompts,
                    options.repeat,
                    options.limit,
                )
            )
        try:
            asyncio.run(run_jobs(endpoints, plans, collector.on_outcome, options.concurrency))
        except KeyboardInterrupt:
            print("interrupted: results received so far are stored", file=sys.stderr)
    finally:
        progress.close()
        for server in servers:
            server.stop()
    return collector.stored
