"""A run's prices: each runner model's Price, where it came from, the rates recorded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from evals.pricing.table import Price, PriceTable

if TYPE_CHECKING:
    from evals.config.runner import ModelSpec, RunnerProfile


class PriceBook:
    """Prices per runner model: its id first, then the model name sent to the API.

    `origin` names the runner profile in the `source` of its price overrides.
    """

    def __init__(self, profile: RunnerProfile, origin: str = "runner profile"):
        self._table = PriceTable.bundled().with_overrides(profile.pricing, origin)
        self._discounts = {name: spec.batch_discount for name, spec in profile.endpoints.items()}
        self._by_model: dict[str, tuple[str, Price] | None] = {}

    def _resolve(self, model: ModelSpec) -> tuple[str, Price] | None:
        if model.id not in self._by_model:
            found = self._table.resolve(model.id) or self._table.resolve(model.api_model)
            discount = self._discounts.get(model.endpoint)
            if found is not None and discount is not None:
                found = (found[0], with_batch_discount(found[1], discount))
            self._by_model[model.id] = found
        return self._by_model[model.id]

    def batch_for_model(self, model: ModelSpec) -> Price | None:
        """The price of this model's requests sent as a batch (None when no batch rate
        is known: neither the table's nor the endpoint's `batch_discount`)."""
        return batch_rates(self.for_model(model))

    def for_model(self, model: ModelSpec) -> Price | None:
        found = self._resolve(model)
        return None if found is None else found[1]

    def describe(self, model: ModelSpec) -> dict[str, Any]:
        """Where this model's price comes from, for the run config and the summary.

        `priced_as` is the price-table key that matched (the id, the API model
        name, or a snapshot's family); `source` is "bundled" (evals/data/pricing.yaml)
        or "runner" (the profile's `pricing:`); all None when no price is known.
        """
        found = self._resolve(model)
        key, price = found if found is not None else (None, None)
        source = None
        if key is not None:
            source = "runner" if key in self._table.overridden else "bundled"
        return {
            "model": model.id,
            "priced_as": key,
            "source": source,
            "as_of": None if price is None else price.as_of,
            "input": None if price is None else price.input,
            "output": None if price is None else price.output,
            "cached_input": None if price is None else price.cached_input,
        }

    def provenance(self, models: Iterable[ModelSpec]) -> list[dict[str, Any]]:
        """`describe` of each model, once per id, in the order given."""
        seen: set[str] = set()
        rows = []
        for model in models:
            if model.id not in seen:
                seen.add(model.id)
                rows.append(self.describe(model))
        return rows

    def rates(self, models: Iterable[ModelSpec]) -> dict[str, dict[str, Any] | None]:
        """Every rate of each model (batch ones too) by model id, None when unknown:
        what a run records, so that `evals forecast` of it never reads a later table."""
        rates: dict[str, dict[str, Any] | None] = {}
        for model in models:
            found = self._resolve(model)
            rates.setdefault(model.id, None if found is None else _rates_of(found[1], found[0]))
        return rates


def with_batch_discount(price: Price, discount: float) -> Price:
    """The endpoint's `batch_discount` as batch rates where the entry has none."""
    keep = 1.0 - discount

    def rate(batch: float | None, online: float | None) -> float | None:
        return batch if batch is not None else (None if online is None else online * keep)

    return replace(
        price,
        batch_input=rate(price.batch_input, price.input),
        batch_output=rate(price.batch_output, price.output),
    )


def batch_rates(price: Price | None) -> Price | None:
    """A Price whose online rates are `price`'s batch rates, so every cost rule (cached
    tokens, budgets) applies unchanged to a batch request; None without batch rates.
    Cached prompt tokens cost the lower of the cached and the batch input rate."""
    if price is None or price.batch_input is None:
        return None
    if price.output is not None and price.batch_output is None:
        return None
    cached = price.cached_input
    return replace(
        price,
        input=price.batch_input,
        output=price.batch_output,
        cached_input=None if cached is None else min(cached, price.batch_input),
    )


def _rates_of(price: Price | None, key: str | None) -> dict[str, Any] | None:
    if price is None:
        return None
    return {"priced_as": key, **{f.name: getattr(price, f.name) for f in fields(Price)}}
