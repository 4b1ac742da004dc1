"""What every step of a batch run shares: the run, its plan, prices, store and engine."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.pricing import Price, cost_usd
from evals.run.batch.lines import batchable, custom_id
from evals.run.plan import Job, plan_model

if TYPE_CHECKING:
    from evals.config.runner import ModelSpec
    from evals.endpoints.client import Endpoint
    from evals.engine.budget import Budget
    from evals.engine.response import Response
    from evals.engine.scheduler import Engine
    from evals.pricing import PriceBook
    from evals.run.collect import Collector
    from evals.run.options import RunOptions
    from evals.run.prepare import Prepared
    from evals.store import ResultStore

WAITING = "batch-waiting"  # stop reason of a run whose batches are still at the provider
ANSWERED = frozenset({"ok", "grader", "ungraded"})
"""Result states that hold an answer: never sent again (an ungraded one awaits its judge)."""


def batch_folder(run_id: str) -> Path:
    from evals.store.sqlite import default_home

    return default_home() / "batches" / run_id


def say_to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class BatchContext:
    store: ResultStore
    run_id: str
    prepared: Prepared
    options: RunOptions
    prices: PriceBook
    budget: Budget | None
    collector: Collector
    engine: Engine
    endpoints: dict[str, Endpoint]
    cache_keys: dict[str, str]
    folder: Path  # where batch files live while the run needs them
    say: Callable[[str], None] = say_to_stderr
    permanent: set[str] = field(default_factory=set)  # custom ids that failed for good
    stop_reason: str | None = None
    budget_spent: bool = False  # --max-cost could not cover every request (they wait)

    @classmethod
    def of(cls, live: Any, options: RunOptions, budget: Budget | None) -> BatchContext:
        """The context of a run opened with evals.run.session.open_run."""
        return cls(
            live.store,
            live.run_id,
            live.prepared,
            options,
            live.prices,
            budget,
            live.collector,
            live.engine,
            live.endpoints,
            live.cache_keys,
            batch_folder(live.run_id),
        )

    def jobs(
        self, skip: Callable[[Job], bool] | None = None, models: Sequence[ModelSpec] | None = None
    ) -> Iterator[Job]:
        """The run's planned samples (of `models`, default all), streamed, minus `skip`."""
        options = self.options
        for model in models or self.prepared.models:
            yield from plan_model(
                self.prepared.suites,
                model,
                self.cache_keys[model.endpoint],
                options.prompts,
                options.repeat,
                options.limit,
                self.prices.for_model(model),
                skip,
            )

    def answered(self, job: Job) -> bool:
        state = self.store.result_state(
            self.run_id, job.suite.name, job.case.id, job.prompt, job.model.id, job.repeat
        )
        return state in ANSWERED

    def missing(self, job: Job) -> bool:
        """A batchable sample still without an answer that is worth asking again."""
        return batchable(job) and not self.answered(job) and custom_id(job) not in self.permanent

    def batch_price(self, model: ModelSpec) -> Price | None:
        """Batch rates when known (the table's, or the endpoint's batch_discount), else the
        online price: a provider without a batch discount bills what it bills online."""
        return self.prices.batch_for_model(model) or self.prices.for_model(model)

    async def deliver(self, job: Job, response: Response, via: str) -> None:
        """Price a batch's answer at batch rates (and online, for comparison), then store
        and grade it through the same Collector as an online answer."""
        if response.failure is None:
            response.cost_usd = cost_usd(response.usage, self.batch_price(job.model))
            response.online_cost_usd = cost_usd(response.usage, self.prices.for_model(job.model))
        response.via = via
        await self.collector.on_response(job, response)
