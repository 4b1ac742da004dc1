"""The live part of a run: start servers, open endpoints, drive the engine, stop servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evals.endpoints.serve import start_servers

if TYPE_CHECKING:
    from evals.config.runner import RunnerProfile
    from evals.config.suite import Suite
    from evals.engine.budget import Budget
    from evals.pricing import PriceBook
    from evals.run.options import RunOptions
    from evals.run.plan import Job
    from evals.run.prepare import Prepared
    from evals.store import Store


@dataclass
class SessionResult:
    stored: int  # results stored in this session
    stop_reason: str | None  # why it stopped early (budget, quota, interrupted), or None


async def _drive(engine, plans, collector, progress, retrieval_work) -> None:
    ticker = asyncio.create_task(progress.run())
    try:
        await engine.run(plans, collector.on_response)
        await collector.drain()  # verdicts of slow graders still on their way
        for work in retrieval_work:
            await work()
    finally:
        ticker.cancel()


def _retrieval_work(
    prepared, engine, store, run_id, prices, stats, resumed: bool, cache_keys
) -> list:
    """One job per (whole-suite kind suite, model of its kind, dimensions) not yet stored."""
    from evals.run.kinds import kind_of
    from evals.run.retrieval import BudgetSpent, RetrievalRun, variant_name, variants

    runner = RetrievalRun(engine, store, run_id, prices, cache_keys)
    work = []
    for suite in prepared.suites:
        if kind_of(suite).per_request:
            continue
        for model in prepared.models:
            if model.kind != suite.kind:
                continue
            for dims in variants(suite):
                if (
                    resumed
                    and store.count_group(run_id, suite.name, variant_name(dims), model.id)
                    >= prepared.case_counts[suite.name]
                ):
                    continue

                async def one(suite=suite, model=model, dims=dims) -> None:
                    try:
                        stored = await runner.run(suite, model, dims)
                    except BudgetSpent:
                        return  # the engine has said why it stopped
                    stats[model.id].done += stored

                work.append(one)
    return work


@dataclass
class LiveRun:
    """A run's open endpoints and the engine and collector over them (`open_run`)."""

    prepared: Prepared
    store: Store
    run_id: str
    prices: PriceBook
    engine: Any
    collector: Any
    endpoints: dict[str, Any]
    cache_keys: dict[str, str]
    stats: dict[str, Any]

    def retrieval(self, resumed: bool) -> list:
        """The whole-suite (embeddings) work of the run, still to do."""
        return _retrieval_work(
            self.prepared,
            self.engine,
            self.store,
            self.run_id,
            self.prices,
            self.stats,
            resumed,
            self.cache_keys,
        )


@contextmanager
def open_run(
    options: RunOptions,
    prepared: Prepared,
    store: Store,
    run_id: str,
    prices: PriceBook,
    budget: Budget | None,
    remaining: dict[str, int] | None = None,
) -> Iterator[LiveRun]:
    """Start the run's servers, open its endpoints, build its engine; stop servers after."""
    from evals.endpoints.client import cache_identity, open_endpoint
    from evals.engine.scheduler import Engine, ModelStats
    from evals.engine.transport import OnlineTransport
    from evals.run.collect import Collector
    from evals.run.judging import GraderServices
    from evals.run.prepare import used_endpoints

    profile = prepared.profile
    used = used_endpoints(profile, prepared.models)
    base_urls, servers = start_servers(profile, used)
    cache_keys = {name: cache_identity(name, profile.endpoints[name]) for name in used}
    totals = remaining or {}
    stats = {model.id: ModelStats(total=totals.get(model.id, 0)) for model in prepared.models}
    collector = Collector(store, run_id)
    try:
        endpoints = {
            name: open_endpoint(name, profile.endpoints[name], base_urls[name]) for name in used
        }
        transport = OnlineTransport(endpoints, options.concurrency)
        engine = Engine(transport, store.cache, budget, stats, replay=not options.no_cache)
        if profile.judge or profile.embedder:
            collector.services = GraderServices(
                engine, prices, profile.judge, profile.embedder, cache_keys
            )
        yield LiveRun(
            prepared, store, run_id, prices, engine, collector, endpoints, cache_keys, stats
        )
    finally:
        for server in servers:
            server.stop()


def run_session(
    options: RunOptions,
    prepared: Prepared,
    store: Store,
    run_id: str,
    prices: PriceBook,
    budget: Budget | None,
    already_done: Callable[[Job], bool] | None,
    remaining: dict[str, int],
) -> SessionResult:
    """Send everything not yet stored; every result is committed as it arrives."""
    from evals.run.plan import plan_model
    from evals.run.progress import Progress

    stop_reason = None
    with open_run(options, prepared, store, run_id, prices, budget, remaining) as live:
        progress = Progress(live.stats)
        try:
            plans: dict[str, list] = {model.endpoint: [] for model in prepared.models}
            for model in prepared.models:
                plans[model.endpoint].append(
                    plan_model(
                        prepared.suites,
                        model,
                        live.cache_keys[model.endpoint],
                        options.prompts,
                        options.repeat,
                        options.limit,
                        prices.for_model(model),
                        already_done,
                    )
                )
            retrieval = live.retrieval(already_done is not None)
            try:
                asyncio.run(_drive(live.engine, plans, live.collector, progress, retrieval))
            except KeyboardInterrupt:
                stop_reason = "interrupted"
            stop_reason = stop_reason or live.engine.stop_reason
        finally:
            progress.close()
    return SessionResult(live.collector.stored, stop_reason)


def regrade_session(profile: RunnerProfile, store: Store, run_id: str, suites: list[Suite]) -> int:
    """Grade a stored run again with the suites' current graders; returns samples graded.

    No model under test is asked anything. Only when a grader calls the judge or the
    embedder are their endpoints started and opened; those calls go through the
    engine and its cache, so an unchanged judge prompt is replayed, not paid again.
    """
    from evals.config.suite import graders_for
    from evals.endpoints.client import cache_identity, open_endpoint
    from evals.engine.scheduler import Engine
    from evals.engine.transport import OnlineTransport
    from evals.pricing import PriceBook
    from evals.run.grade import needs_await, regrade
    from evals.run.judging import GraderServices

    helpers = [helper for helper in (profile.judge, profile.embedder) if helper]
    calls = any(needs_await(graders_for(suite, case)) for suite in suites for case in suite.cases())
    if not (helpers and calls):
        return asyncio.run(regrade(store, run_id, suites, None))
    used = {helper.endpoint for helper in helpers}
    base_urls, servers = start_servers(profile, used)
    try:
        endpoints = {
            name: open_endpoint(name, profile.endpoints[name], base_urls[name]) for name in used
        }
        engine = Engine(OnlineTransport(endpoints), store.cache)
        keys = {name: cache_identity(name, profile.endpoints[name]) for name in used}
        services = GraderServices(engine, PriceBook(profile), profile.judge, profile.embedder, keys)
        return asyncio.run(regrade(store, run_id, suites, services))
    finally:
        for server in servers:
            server.stop()
