"""One `evals load`: check the suites and runner like `evals run`, start served
endpoints, then run each model × rate (or × concurrency) in turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evals.endpoints.serve import start_servers
from evals.errors import InputError
from evals.load.generator import DEFAULT_MAX_IN_FLIGHT, JobCycle, StepResult
from evals.load.schedule import arrivals

WARMUP_TIMEOUT_S = 10.0  # one unrecorded request per model before its first step


@dataclass
class LoadOptions:
    suite_paths: list[Path]
    runner_path: Path
    model_ids: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    limit: int | None = None
    rates: list[float] = field(default_factory=list)
    concurrencies: list[int] = field(default_factory=list)  # closed-loop sweep
    duration_s: float | None = None
    requests: int | None = None
    arrival: str = "constant"
    seed: int = 0
    slo: dict[str, float] = field(default_factory=dict)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT


@dataclass
class LoadRun:
    models: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    steps: list[StepResult]  # per-request records (with their jobs) for grading and storing
    warnings: list[str]
    suites: list[str] = field(default_factory=list)
    arrival: str = "constant"
    slo: dict[str, float] = field(default_factory=dict)  # bound name (ttft_s, ...) -> seconds

    @property
    def slo_text(self) -> str | None:
        """The SLO as people read it: "ttft ≤ 0.5 s, e2e ≤ 5 s"."""
        if not self.slo:
            return None
        return ", ".join(f"{k.removesuffix('_s')} ≤ {v:g} s" for k, v in self.slo.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "suites": self.suites,
            "arrival": self.arrival,
            "slo_text": self.slo_text,
            "models": self.models,
            "rows": self.rows,
        }


def _chat_jobs(prepared, options: LoadOptions, model, cache_key: str, price):
    from evals.run.plan import plan_model

    jobs = plan_model(prepared.suites, model, cache_key, options.prompts, 1, options.limit, price)
    return (job for job in jobs if job.request.kind == "chat")


def run_load(options: LoadOptions, on_step: Callable[[StepResult], None] | None = None) -> LoadRun:
    """Every step of the load test; bad input raises InputError before anything is sent."""
    from evals.endpoints.client import cache_identity
    from evals.load.stats import step_row
    from evals.pricing import PriceBook
    from evals.run.options import RunOptions
    from evals.run.prepare import prepare

    if not options.rates and not options.concurrencies:
        raise InputError("give --rate (requests per second) or --concurrency-sweep")
    prepared = prepare(
        RunOptions(
            suite_paths=options.suite_paths,
            runner_path=options.runner_path,
            model_ids=options.model_ids,
            prompts=options.prompts,
            limit=options.limit,
        )
    )
    profile = prepared.profile
    prices = PriceBook(profile)
    keys = {
        m.endpoint: cache_identity(m.endpoint, profile.endpoints[m.endpoint])
        for m in prepared.models
    }
    runnable = [
        model
        for model in prepared.models
        if next(_chat_jobs(prepared, options, model, keys[model.endpoint], None), None)
    ]
    idle = [m.id for m in prepared.models if m not in runnable]
    if not runnable or (idle and options.model_ids):
        raise InputError(
            f"model(s) {', '.join(idle)} have no chat completion to send: `evals load` "
            "streams chat completions (suites of kind chat, models without `api: responses`)"
        )
    prepared = replace(prepared, models=runnable)  # others (embeddings) are not load-tested
    models = []
    for model in prepared.models:
        spec = profile.endpoints[model.endpoint]
        models.append(
            {
                "id": model.id,
                "api_model": model.api_model,
                "endpoint": model.endpoint,
                "price": prices.describe(model),
                "price_per_hour": spec.price_per_hour,
            }
        )
    warmups: dict[str, str | None] = {}
    helpers = [helper for helper in (profile.judge, profile.embedder) if helper is not None]
    used = {m.endpoint for m in prepared.models} | {helper.endpoint for helper in helpers}
    base_urls, servers = start_servers(profile, used)
    try:
        steps = asyncio.run(
            _run_steps(options, prepared, prices, keys, base_urls, on_step, warmups)
        )
        gradings = asyncio.run(_grade(profile, prices, steps, helpers, base_urls))
    finally:
        for server in servers:
            server.stop()
    for entry in models:
        entry["warmup_error"] = warmups.get(entry["id"])
    rows = [
        step_row(
            step,
            options.slo,
            prices.for_model(_by_id(prepared, step.model)),
            profile.endpoints[_by_id(prepared, step.model).endpoint].price_per_hour,
        )
        for step in steps
    ]
    for row, graded in zip(rows, gradings, strict=True):
        row.update(graded)  # the accuracy of what each step received
    suites = [suite.name for suite in prepared.suites]
    return LoadRun(models, rows, steps, prepared.warnings, suites, options.arrival, options.slo)


async def _grade(profile, prices, steps, helpers, base_urls) -> list[dict[str, Any]]:
    """Grade every answer after the timing is over; model-graded graders call the
    runner's judge / embedder through the engine (priced, retried, cached), as a run does."""
    from evals.endpoints.client import cache_identity, open_endpoint
    from evals.engine.scheduler import Engine
    from evals.engine.transport import OnlineTransport
    from evals.load.grading import grade_steps
    from evals.run.judging import GraderServices
    from evals.store import open_store

    if not helpers:
        return await grade_steps(steps)
    names = {helper.endpoint for helper in helpers}
    endpoints = {n: open_endpoint(n, profile.endpoints[n], base_urls[n]) for n in names}
    keys = {n: cache_identity(n, profile.endpoints[n]) for n in names}
    store = open_store()
    try:
        engine = Engine(OnlineTransport(endpoints), store.cache)
        services = GraderServices(engine, prices, profile.judge, profile.embedder, keys)
        return await grade_steps(steps, services)
    finally:
        store.close()


def _by_id(prepared, model_id: str):
    return next(m for m in prepared.models if m.id == model_id)


async def _run_steps(
    options, prepared, prices, keys, base_urls, on_step, warmups: dict[str, str | None]
) -> list[StepResult]:
    from evals.endpoints.client import open_endpoint
    from evals.load.generator import closed_loop, open_loop, warm_up

    profile = prepared.profile
    connections = max([options.max_in_flight, *options.concurrencies])
    clients = {}
    steps: list[StepResult] = []
    try:
        for model in prepared.models:
            name = model.endpoint
            if name not in clients:
                # a load test needs as many connections as requests in flight
                spec = profile.endpoints[name].model_copy(update={"max_concurrency": connections})
                clients[name] = open_endpoint(name, spec, base_urls[name]).client
            client = clients[name]
            price = prices.for_model(model)
            first = JobCycle(_chat_jobs(prepared, options, model, keys[name], price)).next()
            timeout = min(WARMUP_TIMEOUT_S, profile.endpoints[name].timeout_s)
            warmups[model.id] = await warm_up(client, first, timeout)
            for rate in options.rates:
                jobs = JobCycle(_chat_jobs(prepared, options, model, keys[name], price))
                offsets = arrivals(
                    rate,
                    duration_s=options.duration_s,
                    requests=options.requests,
                    arrival=options.arrival,
                    seed=options.seed,
                )
                window = options.duration_s or len(offsets) / rate
                step = await open_loop(
                    client,
                    jobs,
                    offsets,
                    model=model.id,
                    rate=rate,
                    arrival=options.arrival,
                    window_s=window,
                    max_in_flight=options.max_in_flight,
                )
                steps.append(step)
                if on_step:
                    on_step(step)
            for concurrency in options.concurrencies:
                jobs = JobCycle(_chat_jobs(prepared, options, model, keys[name], price))
                step = await closed_loop(
                    client,
                    jobs,
                    model=model.id,
                    concurrency=concurrency,
                    duration_s=options.duration_s,
                    requests=options.requests,
                )
                steps.append(step)
                if on_step:
                    on_step(step)
    finally:
        for client in clients.values():
            await client.close()
    return steps
