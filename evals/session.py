"""The live part of a run: start servers, open endpoints, drive the engine, stop servers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evals.collect import Collector, PriceBook
    from evals.engine.budget import Budget
    from evals.engine.plan import Job
    from evals.run import Prepared, RunOptions
    from evals.store import Store


@dataclass
class SessionResult:
    stored: int  # results stored in this session
    stop_reason: str | None  # why it stopped early (budget, quota, interrupted), or None


def _start_servers(prepared: Prepared, used: set[str]) -> tuple[dict[str, str], list]:
    from evals.serve import ServedEndpoint

    base_urls: dict[str, str] = {}
    servers: list[ServedEndpoint] = []
    try:
        for name in sorted(used):
            spec = prepared.profile.endpoints[name]
            if spec.serve is None:
                base_urls[name] = spec.base_url
                continue
            print(f"starting endpoint '{name}'...", file=sys.stderr, flush=True)
            server = ServedEndpoint(name, spec)
            servers.append(server)
            server.wait_ready()
            base_urls[name] = server.base_url
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return base_urls, servers


async def _drive(engine, plans, progress) -> None:
    ticker = asyncio.create_task(progress.run())
    try:
        await engine.run(plans)
    finally:
        ticker.cancel()


def run_session(
    options: RunOptions,
    prepared: Prepared,
    store: Store,
    collector: Collector,
    prices: PriceBook,
    budget: Budget | None,
    already_done: Callable[[Job], bool] | None,
    remaining: dict[str, int],
) -> SessionResult:
    """Send everything not yet stored; every result is committed as it arrives."""
    from evals.endpoints.client import open_endpoint
    from evals.engine.plan import plan_model
    from evals.engine.scheduler import Engine, EngineHooks, ModelStats
    from evals.progress import Progress

    used = {model.endpoint for model in prepared.models}
    base_urls, servers = _start_servers(prepared, used)
    stats = {model.id: ModelStats(total=remaining[model.id]) for model in prepared.models}
    progress = Progress(stats)
    stop_reason = None
    try:
        endpoints = {
            name: open_endpoint(name, prepared.profile.endpoints[name], base_urls[name])
            for name in used
        }
        hooks = EngineHooks(
            on_outcome=collector.on_outcome,
            price_for=prices.for_job,
            cached=None if options.no_cache else store.cached_response,
            already_done=already_done,
            budget=budget,
            stats=stats,
        )
        engine = Engine(endpoints, hooks, options.concurrency)
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
            asyncio.run(_drive(engine, plans, progress))
        except KeyboardInterrupt:
            stop_reason = "interrupted"
        stop_reason = stop_reason or engine.stop_reason
    finally:
        progress.close()
        for server in servers:
            server.stop()
    return SessionResult(collector.stored, stop_reason)
