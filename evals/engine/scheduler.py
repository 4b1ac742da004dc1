"""Drive the plan: per-endpoint workers, bounded by the endpoint's concurrency.

Workers pull the next job from their endpoint's stream only when free, so the
plan is never materialised and memory stays flat however many cases there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from itertools import chain

from evals.endpoints.client import Endpoint
from evals.engine.executor import Outcome, send_chat
from evals.engine.plan import Job

OnOutcome = Callable[[Job, Outcome], None]


class StopRun(Exception):
    """Raised by an outcome handler to stop the whole run (e.g. exhausted quota)."""


async def _worker(endpoint: Endpoint, jobs: Iterator[Job], on_outcome: OnOutcome) -> None:
    for job in jobs:
        outcome = await send_chat(endpoint, job.body)
        on_outcome(job, outcome)


async def run_jobs(
    endpoints: dict[str, Endpoint],
    plans: dict[str, list[Iterator[Job]]],
    on_outcome: OnOutcome,
    concurrency_cap: int | None = None,
) -> None:
    """Run every plan; `plans` maps endpoint name to the job streams of its models."""
    tasks = []
    for name, streams in plans.items():
        endpoint = endpoints[name]
        jobs = chain.from_iterable(streams)
        workers = endpoint.spec.max_concurrency
        if concurrency_cap is not None:
            workers = min(workers, concurrency_cap)
        tasks += [asyncio.create_task(_worker(endpoint, jobs, on_outcome)) for _ in range(workers)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
