"""One run, many workers: the plan cut into chunks in the shared store, worked by every
process that joins (`evals run --distributed` starts a run and works on it; `evals
worker RUN_ID` joins it from any machine).

Each chunk is sent through a fresh engine whose endpoints' `rpm`/`tpm` are this worker's
share (the profile's limit divided by the workers alive), while each limiter still
learns the account's real limits from the `x-ratelimit-*` headers. Results, the response
cache and the `--max-cost` budget live in the store, so they are the fleet's. Whoever
sees the last chunk done finishes the run and writes its report.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from evals.errors import InputError
from evals.store.fleet import Chunk, Fleet, FleetBudget

if TYPE_CHECKING:
    from evals.pricing import PriceBook
    from evals.run.options import RunOptions
    from evals.run.prepare import Prepared
    from evals.run.session import LiveRun, SessionResult
    from evals.store import ResultStore

IDLE_S = 0.5  # between looks for a chunk while others still hold theirs


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def require_shared(store: ResultStore) -> None:
    from evals.store.postgres import PostgresStore

    if not isinstance(store, PostgresStore):
        raise InputError(
            "a run shared by workers needs a shared PostgreSQL store: "
            "--store postgresql://... (or EVALS_STORE)"
        )


def plan_chunks(prepared: Prepared, options: RunOptions, run_id: str, size: int) -> list[Chunk]:
    """The plan as chunks of at most `size` cases of one suite for one model."""
    from evals.run.kinds import kind_of

    chunks: list[Chunk] = []
    for model in prepared.models:
        for suite in prepared.suites:
            if suite.kind != model.kind:
                continue
            if not kind_of(suite).per_request:
                raise InputError(
                    f"suite '{suite.name}' ({suite.kind}) is run whole, not case by case: "
                    "run it without --distributed"
                )
            cases = prepared.case_counts[suite.name]
            if options.limit is not None:
                cases = min(cases, options.limit)
            for first in range(0, cases, size):
                end = min(first + size, cases)
                chunks.append(Chunk(run_id, len(chunks) + 1, model.id, suite.name, first, end))
    return chunks


def _share(live: LiveRun, workers: int) -> dict[str, Any]:
    """The run's endpoints with rpm/tpm divided among `workers`."""
    endpoints = {}
    for name, endpoint in live.endpoints.items():
        spec = endpoint.spec
        update = {
            key: max(1, getattr(spec, key) // workers)
            for key in ("rpm", "tpm")
            if getattr(spec, key) is not None
        }
        endpoints[name] = replace(endpoint, spec=spec.model_copy(update=update))
    return endpoints


async def _heartbeat(fleet: Fleet, chunk: Chunk, lease_s: float) -> None:
    while True:
        await asyncio.sleep(lease_s / 3)
        fleet.renew(chunk, lease_s)


async def _work_chunk(live: LiveRun, fleet: Fleet, chunk: Chunk, options: RunOptions) -> Any:
    """Send a chunk's samples not stored yet; returns the engine (its stop reason)."""
    from evals.engine.scheduler import Engine
    from evals.engine.transport import OnlineTransport
    from evals.run.plan import plan_model

    model = next(m for m in live.prepared.models if m.id == chunk.model)
    suite = next(s for s in live.prepared.suites if s.name == chunk.suite)
    share = fleet.live_workers(options.lease_s * 2)
    transport = OnlineTransport(_share(live, share), options.concurrency)
    engine = Engine(transport, live.store.cache, live.engine.budget, live.stats,
                    replay=not options.no_cache)  # fmt: skip
    if live.collector.services is not None:
        live.collector.services.engine = engine
    store, run_id = live.store, live.run_id

    def stored(job: Any) -> bool:
        return store.has_result(run_id, suite.name, job.case.id, job.prompt, model.id, job.repeat)

    jobs = plan_model(
        [suite],
        model,
        live.cache_keys[model.endpoint],
        options.prompts,
        options.repeat,
        chunk.end_case,
        live.prices.for_model(model),
        stored,
        start=chunk.first_case,
    )
    beat = asyncio.create_task(_heartbeat(fleet, chunk, options.lease_s))
    try:
        await engine.run({model.endpoint: [jobs]}, live.collector.on_response)
        await live.collector.drain()
    finally:
        beat.cancel()
    return engine


async def _work(live: LiveRun, fleet: Fleet, options: RunOptions) -> str | None:
    """Claim and work chunks until none is left; the reason it stopped early, if any."""
    fleet.alive()
    while True:
        chunk = fleet.claim(options.lease_s)
        if chunk is None:
            if fleet.left() == 0:
                return None
            await asyncio.sleep(IDLE_S)  # others hold the rest; a dead one's lease runs out
            continue
        engine = await _work_chunk(live, fleet, chunk, options)
        flush = getattr(live.store, "flush", None)
        if flush is not None:
            flush()  # stored before the chunk is called done
        if engine.stop_reason is not None:
            return engine.stop_reason
        fleet.done(chunk)


def fleet_session(
    options: RunOptions,
    prepared: Prepared,
    store: ResultStore,
    run_id: str,
    prices: PriceBook,
    create: bool,
) -> SessionResult:
    """Work on a shared run (creating its chunks first when `create`) until no chunk is
    left; the caller finishes the run."""
    from evals.run.session import SessionResult, open_run

    require_shared(store)
    me = worker_id()
    fleet = Fleet(store, run_id, me)
    if create or fleet.total() == 0:
        fleet.add_chunks(plan_chunks(prepared, options, run_id, options.chunk_size))
    budget = None
    if options.max_cost is not None:
        budget = FleetBudget(store, run_id, options.max_cost, store.spent(run_id))
    stop = None
    with open_run(options, prepared, store, run_id, prices, budget) as live:
        try:
            stop = asyncio.run(_work(live, fleet, options))
        except KeyboardInterrupt:
            stop = "interrupted"
    return SessionResult(live.collector.stored, stop)
