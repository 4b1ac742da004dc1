"""Everything checked before a run is created: suites, cases, models, keys, prices.

A mistake found here costs nothing: no run exists yet and nothing was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evals.config.runner import ModelSpec, RunnerProfile, load_runner
from evals.config.suite import Suite, check_cases, load_suite
from evals.errors import InputError
from evals.run.options import RunOptions


@dataclass
class Prepared:
    """Everything checked before the first request is sent."""

    suites: list[Suite]
    case_counts: dict[str, int]
    profile: RunnerProfile
    models: list[ModelSpec]
    per_model: dict[str, int]  # samples planned for each model (suites of its kind)
    warnings: list[str]

    @property
    def planned(self) -> int:
        return sum(self.per_model.values())


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


def prepare(options: RunOptions) -> Prepared:
    from evals.pricing import PriceBook
    from evals.run.plan import count_planned

    suites = [load_suite(path) for path in options.suite_paths]
    names = [suite.name for suite in suites]
    if len(set(names)) != len(names):
        raise InputError(f"two suites share a name ({', '.join(names)}): names must differ")
    case_counts = {suite.name: check_cases(suite) for suite in suites}
    profile = load_runner(options.runner_path)
    models = _select_models(profile, options.model_ids, options.runner_path)
    _check_prompts(suites, options.prompts)
    per_model = {
        model.id: count_planned(
            [suite for suite in suites if suite.kind == model.kind],
            options.prompts,
            options.repeat,
            options.limit,
            case_counts,
        )
        for model in models
    }
    kinds = {model.kind for model in models}
    orphans = [suite for suite in suites if suite.kind not in kinds]
    if orphans:
        raise InputError(
            f"suite(s) {', '.join(s.name for s in orphans)} need a model of kind "
            f"{', '.join(sorted({s.kind for s in orphans}))}: add one to the runner profile "
            "(`kind:` on a model) or select it with -m",
            options.runner_path,
        )
    # Asked for by name with nothing to do is a mistake; a resumed run re-selects
    # what it ran (older runs stored every model), so it is not asked for by name.
    asked = options.model_ids and not options.resume
    idle = [m.id for m in models if per_model[m.id] == 0 and asked]
    if idle:
        raise InputError(
            f"model(s) {', '.join(idle)} have no suite of their kind to run "
            "(a model's `kind:` must match a suite's: chat, embeddings or transcription)"
        )
    _check_keys(profile, models, options.runner_path)
    _check_suite_efforts(suites, models)
    prices = PriceBook(profile)
    unpriced = [m for m in models if prices.for_model(m) is None]
    hourly_notes = _hourly_notes(profile, models, prices)
    if options.max_cost is not None and unpriced:
        raise InputError(
            f"--max-cost needs a price for every model; none is known for "
            f"{', '.join(m.id for m in unpriced)}: add them under `pricing:` in the runner profile",
            options.runner_path,
        )
    warnings = (
        [
            f"no price known for model '{m.id}' ({m.api_model}): its cost is shown as unknown; "
            f"add it under `pricing:` in the runner profile"
            for m in unpriced
            if profile.endpoints[m.endpoint].price_per_hour is None
        ]
        + hourly_notes
        + _batch_notes(options, profile, models, prices)
    )
    return Prepared(suites, case_counts, profile, models, per_model, warnings)


def _hourly_notes(profile: RunnerProfile, models: list[ModelSpec], prices: Any) -> list[str]:
    """A model on an endpoint priced per hour that also has a per-token price: hourly wins."""
    return [
        f"model '{m.id}' has a per-token price, but its endpoint '{m.endpoint}' is priced "
        f"per hour (price_per_hour: {profile.endpoints[m.endpoint].price_per_hour}): "
        "its cost is hourly, the per-token price is not used for it"
        for m in models
        if profile.endpoints[m.endpoint].price_per_hour is not None
        and prices.for_model(m) is not None
    ]


def _batch_notes(
    options: RunOptions, profile: RunnerProfile, models: list[ModelSpec], prices: Any
) -> list[str]:
    """A batch run of a model with no known batch rate is priced at its online rate."""
    if options.mode != "batch":
        return []
    return [
        f"no batch price known for model '{m.id}': its batch answers are priced at online "
        f"rates; set batch_input/batch_output under `pricing:` or batch_discount on "
        f"endpoint '{m.endpoint}'"
        for m in models
        if prices.for_model(m) is not None and prices.batch_for_model(m) is None
    ]


def used_endpoints(profile: RunnerProfile, models: list[ModelSpec]) -> set[str]:
    """The endpoints a run talks to: its models', its judge's and its embedder's."""
    used = {model.endpoint for model in models}
    return used | {helper.endpoint for helper in (profile.judge, profile.embedder) if helper}


def _check_keys(profile: RunnerProfile, models: list[ModelSpec], path: Path) -> None:
    """A missing API key is found before a run is created, not at the first request."""
    from evals.endpoints.client import missing_key

    for name in sorted(used_endpoints(profile, models)):
        problem = missing_key(name, profile.endpoints[name])
        if problem:
            raise InputError(problem, path)


def _check_suite_efforts(suites: list[Suite], models: list[ModelSpec]) -> None:
    """A suite's reasoning_effort that one of the models would reject is bad input.

    (A model's own params are checked when the runner profile loads.)
    """
    from evals.endpoints.capabilities import capabilities_for, reasoning_effort_problem

    for suite in suites:
        if "reasoning_effort" not in suite.params:
            continue
        for model in models:
            if model.kind != suite.kind or "reasoning_effort" in model.params:
                continue
            caps = capabilities_for(model.api_model, model.capabilities or None)
            problem = reasoning_effort_problem(caps, suite.params["reasoning_effort"])
            if problem:
                raise InputError(
                    f"suite '{suite.name}' params: {problem} (model '{model.id}'); "
                    "set a value it takes, or override it in the model's params",
                    suite.path,
                )


def run_config(options: RunOptions, prepared: Prepared, store: Any = None) -> dict[str, Any]:
    """What the store keeps about how the run was made (never a key: only env var names).

    `store` (the run's, before the run is in it) gives the estimates their history.
    """
    from evals.config.fingerprint import suite_fingerprint
    from evals.pricing import PriceBook, PriceTable
    from evals.redact import redact
    from evals.run.estimates import estimate_plan

    # The prices this run used, per model (judge and embedder too), as they were at
    # its start: `evals report` of an old run shows these, not today's table.
    prices = PriceBook(prepared.profile, f"runner profile {options.runner_path}")
    helpers = [h for h in (prepared.profile.judge, prepared.profile.embedder) if h is not None]
    return {
        "argv": [redact(arg) for arg in options.argv],  # a --store URL's password: never
        "suite_paths": [str(p.resolve()) for p in options.suite_paths],
        "runner_path": str(options.runner_path.resolve()),
        "model_ids": [m.id for m in prepared.models],
        "requested_model_ids": options.model_ids,  # what -m asked for (resume re-asks it)
        "models": [m.model_dump() for m in prepared.models],
        # How requests were rewritten per model (dropped or renamed parameters), for the report.
        "adapted": {m.id: adaptation_notes(prepared.suites, m) for m in prepared.models},
        "endpoints": {
            name: spec.model_dump(exclude={"serve"})
            for name, spec in prepared.profile.endpoints.items()
        },
        "suite_kinds": {suite.name: suite.kind for suite in prepared.suites},
        "suite_fingerprints": {suite.name: suite_fingerprint(suite) for suite in prepared.suites},
        "repeat": options.repeat,
        "limit": options.limit,
        "prompts": options.prompts,
        "max_cost": options.max_cost,
        "score_ci": options.score_ci,
        **_batch_config(options),
        "warnings": prepared.warnings,
        "prices_as_of": PriceTable.bundled().as_of,  # the bundled table's date, always
        "prices": prices.provenance([*prepared.models, *helpers]),
        # Every rate (batch too), so `evals forecast` of this run never reads a later table.
        "price_rates": prices.rates([*prepared.models, *helpers]),
        # What the run was expected to take, per row, for the summary's estimate vs actual.
        "estimates": [row.to_json() for row in estimate_plan(prepared, options, store)],
    }


def resumed_options(options: RunOptions, store: Any) -> RunOptions:
    """The options of the run being resumed: same suites, models, prompts, repeats."""
    run = store.run(options.resume)
    if run is None:
        raise InputError(f"--resume {options.resume}: no such run (`evals runs` lists them)")
    config = run["config"]
    suite_paths = [Path(p) for p in config["suite_paths"]]
    if options.suite_paths and [p.resolve() for p in options.suite_paths] != suite_paths:
        raise InputError(
            f"--resume {options.resume}: that run used {', '.join(map(str, suite_paths))}; "
            "give no SUITE (or the same ones) to resume it"
        )
    return replace(
        options,
        suite_paths=suite_paths,
        runner_path=Path(config["runner_path"]),
        model_ids=config.get("requested_model_ids", config["model_ids"]),
        prompts=config["prompts"],
        repeat=config["repeat"],
        limit=config["limit"],
        max_cost=options.max_cost if options.max_cost is not None else config.get("max_cost"),
        mode=config.get("mode") if config.get("mode") in ("batch", "batch-file") else "online",
        fallback=options.fallback
        if options.fallback != "batch"
        else config.get("fallback", "batch"),
        judge_mode=config.get("judge_mode", "online"),
        out_dir=options.out_dir or _batch_file_dir(config),
        distributed=bool(config.get("distributed")),
        chunk_size=config.get("chunk_size", options.chunk_size),
    )


def _batch_config(options: RunOptions) -> dict[str, Any]:
    """How a batch run is sent (an online run records nothing: its mode stays "run"),
    or how a run is shared by workers."""
    if options.distributed:
        return {"distributed": True, "chunk_size": options.chunk_size}
    if options.mode == "online":
        return {}
    config: dict[str, Any] = {
        "mode": options.mode,
        "fallback": options.fallback,
        "judge_mode": options.judge_mode,
    }
    if options.mode == "batch-file" and options.out_dir is not None:
        config["batch_file_dir"] = str(options.out_dir.resolve())
    return config


def _batch_file_dir(config: dict[str, Any]) -> Path | None:
    """Where a batch-file run wrote its files (its next files go there too)."""
    if config.get("mode") != "batch-file" or not config.get("batch_file_dir"):
        return None
    return Path(config["batch_file_dir"])


def adaptation_notes(suites: list[Suite], model: ModelSpec) -> list[str]:
    """How requests to this model are rewritten (reasoning models), from a sample request."""
    from evals.run.kinds import kind_of
    from evals.run.plan import build_body

    notes: list[str] = []
    for suite in suites:
        case = next(suite.cases(), None)
        if case is None or suite.kind != model.kind or not kind_of(suite).per_request:
            continue
        for template in suite.prompts.values():
            _, sample_notes = build_body(model, suite.params, template.render(case.vars))
            notes += [note for note in sample_notes if note not in notes]
    return notes
