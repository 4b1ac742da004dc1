"""A row's cost basis, hourly cost and estimate, from the run's config and stored samples.

- `cost_basis`: "hourly" for a model whose endpoint has `price_per_hour` (it wins over
  any per-token price), "tokens" otherwise; written when the run recorded its models.
- An hourly endpoint's cost is its rate x the run's busy time on it, shared equally
  by the requests sent to it (evals.pricing.HourlyCost). A row's `cost_usd` is that
  share times its samples (replayed ones too: what the results cost), its `spend_usd`
  the share times the samples it sent; the run's `spend_usd` counts the hourly spend
  instead of the per-token spend the engine recorded for those models.
- `estimate`: what the run expected the row to take, recorded at its start
  (evals.run.estimates), for comparison with the row's actual figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evals.pricing import HourlyCost, hourly_costs, hourly_endpoints
from evals.report.model import SummaryRow
from evals.store import ResultStore

_ROW_KEYS = ("suite", "prompt", "model")


class RunCosting:
    def __init__(
        self,
        config: Mapping[str, Any],
        hourly: dict[str, HourlyCost],
        counts: dict[tuple[str, str, str], list[int]],
        token_spend: float,
    ) -> None:
        self.knows_models = bool(config.get("models"))
        self.hourly = hourly
        self.counts = counts  # (suite, prompt, model) -> [samples, samples sent]
        self.token_spend = token_spend  # what the engine recorded for hourly models
        self.estimates = {
            tuple(entry[k] for k in _ROW_KEYS): {
                k: v for k, v in entry.items() if k not in _ROW_KEYS
            }
            for entry in config.get("estimates") or []
        }

    @classmethod
    def of(cls, store: ResultStore, run_id: str, config: Mapping[str, Any]) -> RunCosting:
        models = hourly_endpoints(config)
        results = [r for r in store.results(run_id) if r.model in models] if models else []
        counts: dict[tuple[str, str, str], list[int]] = {}
        for result in results:
            count = counts.setdefault((result.suite, result.prompt, result.model), [0, 0])
            count[0] += 1
            count[1] += not result.cache_hit
        spend = sum(result.spend_usd or 0.0 for result in results)
        return cls(config, hourly_costs(config, results), counts, spend)

    def apply(self, row: SummaryRow) -> SummaryRow:
        key = (row.suite, row.prompt, row.model)
        row.estimate = self.estimates.get(key)
        if self.knows_models:
            row.cost_basis = "hourly" if row.model in self.hourly else "tokens"
        cost = self.hourly.get(row.model)
        if cost is not None:
            samples, sent = self.counts.get(key, [0, 0])
            share = cost.per_request_usd
            row.cost_usd = None if share is None else share * samples
            row.spend_usd = (None if share is None else share * sent) if sent else 0.0
        return row

    def spend(self, recorded: float) -> float:
        """The run's new spend: hourly endpoints' instead of their models' per-token spend."""
        if not self.hourly:
            return recorded
        unique = {cost.endpoint: cost for cost in self.hourly.values()}
        hourly = sum(cost.spend_usd or 0.0 for cost in unique.values())
        return recorded - self.token_spend + hourly
