"""Cost forecasts (`evals forecast`): what N requests would cost, per row of a past run.

Pure: a run's config and stored samples in, a `Forecast` out (nothing is read or
printed here). Per (suite, prompt, model) row:

- each answered sample's cost is recomputed from its stored token counts at the
  prices the run recorded at its start (`price_rates`, else `prices`, in the run
  config; a run that recorded neither is priced at the bundled table, and the
  forecast says so), so a later price-table update never changes an old forecast;
- `expected_usd` = N x the row's mean cost per request, split into input (prompt
  tokens not cached), cached input and output; `reasoning_usd` is the part of
  output spent on reasoning tokens (inside output, never added again);
- the 95% interval is a percentile bootstrap of that mean over the row's
  per-request costs (seeded: the same run and seed give the same numbers), x N;
- `batch` prices at batch rates (None when the model has none); `cache_hit_rate` R
  bills R x prompt tokens at the cached rate instead of what was observed;
- a model on an endpoint priced per hour costs its equal share of the endpoint's
  busy time per request (evals.pricing.HourlyCost), whatever the tokens: the
  interval is then a point, and the split, batch and cache hit rate do not apply;
- an unknown price, or an answered sample without usage, makes the row None, never 0.
Rows are grouped by (suite, prompt), and within a group the cheapest model comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evals.pricing import (
    HourlyCost,
    Price,
    PriceTable,
    audio_cost_usd,
    cost_parts,
    hourly_costs,
    price_from_record,
)
from evals.records import Usage

PERIODS = ("month", "week", "day")
RESAMPLES = 2000
Key = tuple[str, str, str]  # suite, prompt, model


@dataclass
class ForecastRow:
    suite: str
    prompt: str
    model: str
    samples: int  # per-request costs the forecast is drawn from
    cost_basis: str  # "tokens" | "hourly"
    price_source: str | None  # "bundled" | "runner" | "hourly" | None (unknown)
    price_as_of: str | None
    # the figures: None when unknown (or, for the split, when it does not apply)
    expected_usd: float | None = None
    ci_low_usd: float | None = None
    ci_high_usd: float | None = None
    input_usd: float | None = None
    cached_input_usd: float | None = None
    output_usd: float | None = None
    reasoning_usd: float | None = None
    per_request_usd: float | None = None
    note: str | None = None  # why a figure is None, or how it was priced

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "prompt": self.prompt,
            "model": self.model,
            "expected_usd": self.expected_usd,
            "ci_low_usd": self.ci_low_usd,
            "ci_high_usd": self.ci_high_usd,
            "input_usd": self.input_usd,
            "cached_input_usd": self.cached_input_usd,
            "output_usd": self.output_usd,
            "reasoning_usd": self.reasoning_usd,
            "price_as_of": self.price_as_of,
            "per_request_usd": self.per_request_usd,
            "samples": self.samples,
            "cost_basis": self.cost_basis,
            "price_source": self.price_source,
            "note": self.note,
        }


@dataclass
class Forecast:
    run_id: str
    requests: int
    per: str
    batch: bool
    cache_hit_rate: float | None
    seed: int
    prices: str  # where the prices come from, in words
    prices_as_of: str | None  # the bundled table's date the run recorded
    rows: list[ForecastRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "requests": self.requests,
            "per": self.per,
            "rows": [row.to_json() for row in self.rows],
            "batch": self.batch,
            "cache_hit_rate": self.cache_hit_rate,
            "seed": self.seed,
            "prices": self.prices,
            "prices_as_of": self.prices_as_of,
        }


@dataclass
class _Priced:
    price: Price | None
    source: str | None  # bundled | runner
    as_of: str | None
    note: str | None = None


def _recorded_prices(config: Mapping[str, Any]) -> tuple[dict[str, _Priced], str]:
    """Each model's price as the run recorded it, and where they come from, in words."""
    table_as_of = config.get("prices_as_of")
    bundled = PriceTable.bundled()
    if isinstance(config.get("price_rates"), Mapping):
        sources = {entry["model"]: entry for entry in config.get("prices") or []}
        found = {}
        for model, record in config["price_rates"].items():
            entry = sources.get(model) or {}  # bundled or runner, as the summary says
            as_of = _as_of(entry, table_as_of) if record else None
            found[model] = _Priced(price_from_record(record), entry.get("source"), as_of)
        return found, f"recorded by the run at its start (bundled table as_of {table_as_of})"
    if isinstance(config.get("prices"), list):
        found = {}
        for entry in config["prices"]:
            price = price_from_record(entry)
            note = None
            if price is not None:
                price, note = _with_bundled_batch(price, entry, bundled)
            found[entry["model"]] = _Priced(
                price, entry.get("source"), _as_of(entry, table_as_of), note
            )
        return found, f"recorded by the run at its start (bundled table as_of {table_as_of})"
    found = {}
    for model in config.get("models") or []:
        key = bundled.resolve(model["id"]) or bundled.resolve(model.get("model") or model["id"])
        price = None if key is None else key[1]
        found[model["id"]] = _Priced(price, None if key is None else "bundled", bundled.as_of)
    return found, (
        f"this run recorded no prices: today's bundled table (as_of {bundled.as_of}), "
        "without the runner profile's overrides"
    )


def _as_of(record: Mapping[str, Any] | None, table_as_of: str | None) -> str | None:
    if not record:
        return None
    return record.get("as_of") or (table_as_of if record.get("source") == "bundled" else None)


def _with_bundled_batch(
    price: Price, entry: Mapping[str, Any], bundled: PriceTable
) -> tuple[Price, str | None]:
    """A run recorded before batch rates were kept: take them from the bundled entry
    it was priced from, when that entry still has the very rates recorded."""
    from dataclasses import replace

    same = entry.get("source") == "bundled" and entry.get("priced_as")
    today = bundled.lookup(entry["priced_as"]) if same else None
    if today is not None and (today.input, today.output, today.cached_input) == (
        price.input,
        price.output,
        price.cached_input,
    ):
        return replace(price, batch_input=today.batch_input, batch_output=today.batch_output), None
    return price, "this run recorded no batch rates"


def _answered(result: Any) -> bool:
    return result.error is None or result.error_class == "grader"


@dataclass
class _RowCosts:
    totals: list[float] = field(default_factory=list)
    input: float = 0.0
    cached_input: float = 0.0
    output: float = 0.0
    reasoning: float | None = 0.0
    unknown: int = 0  # answered samples whose cost cannot be known
    split: bool = True  # False for audio: priced per minute, not per token


def _request_costs(
    results: Iterable[Any], prices: Mapping[str, _Priced], batch: bool, rate: float | None
) -> dict[Key, _RowCosts]:
    rows: dict[Key, _RowCosts] = {}
    for result in results:
        row = rows.setdefault((result.suite, result.prompt, result.model), _RowCosts())
        if not _answered(result):
            continue  # a failed request was not billed and says nothing about cost
        priced = prices.get(result.model)
        price = None if priced is None else priced.price
        if price is not None and price.input is None:  # billed per audio minute
            cost = None if batch else audio_cost_usd(result.audio_s, price)
            row.split = False
            if cost is None:
                row.unknown += 1
            else:
                row.totals.append(cost)
            continue
        usage = Usage(
            result.prompt_tokens,
            result.cached_tokens,
            result.completion_tokens,
            result.reasoning_tokens,
        )
        parts = cost_parts(usage, price, batch, rate)
        if parts is None:
            row.unknown += 1
            continue
        row.totals.append(parts.total)
        row.input += parts.input
        row.cached_input += parts.cached_input
        row.output += parts.output
        if parts.reasoning is None or row.reasoning is None:
            row.reasoning = None
        else:
            row.reasoning += parts.reasoning
    return rows


def _interval(costs: list[float], requests: int, seed: int) -> tuple[float | None, float | None]:
    from evals.stats import bootstrap_interval

    if len(costs) < 2:  # one request says nothing about how costs vary
        return None, None
    if len(set(costs)) == 1:  # every request cost the same: nothing to resample
        return costs[0] * requests, costs[0] * requests
    low, high = bootstrap_interval(costs, 0.95, RESAMPLES, seed)
    if low is None or high is None:
        return None, None
    return low * requests, high * requests


def _unknown_note(key: Key, priced: _Priced | None, row: _RowCosts, batch: bool) -> str:
    price = None if priced is None else priced.price
    if price is None:
        return f"no price known for model '{key[2]}'"
    no_batch_output = price.output is not None and price.batch_output is None
    if batch and (price.batch_input is None or no_batch_output):
        return (priced.note if priced is not None and priced.note else None) or (
            f"no batch price known for model '{key[2]}'"
        )
    if not row.totals and not row.unknown:
        return "no answered request to forecast from"
    return f"{row.unknown} answered request(s) carried no usage: their cost is unknown"


def _token_row(
    key: Key, row: _RowCosts, priced: _Priced | None, requests: int, batch: bool, seed: int
) -> ForecastRow:
    as_of = None if priced is None else priced.as_of
    source = None if priced is None else priced.source
    if row.unknown or not row.totals:
        note = _unknown_note(key, priced, row, batch)
        return ForecastRow(*key, len(row.totals), "tokens", source, as_of, note=note)
    n = len(row.totals)
    scale = requests / n
    low, high = _interval(row.totals, requests, seed)
    per_request = sum(row.totals) / n
    return ForecastRow(
        *key,
        n,
        "tokens",
        source,
        as_of,
        expected_usd=per_request * requests,
        ci_low_usd=low,
        ci_high_usd=high,
        input_usd=row.input * scale if row.split else None,
        cached_input_usd=row.cached_input * scale if row.split else None,
        output_usd=row.output * scale if row.split else None,
        reasoning_usd=row.reasoning * scale if row.split and row.reasoning is not None else None,
        per_request_usd=per_request,
        note=None if row.split else "priced per audio minute: no token split",
    )


def _hourly_row(
    key: Key, cost: HourlyCost, samples: int, requests: int, token_options: bool
) -> ForecastRow:
    share = cost.per_request_usd
    expected = None if share is None else share * requests
    note = (
        f"endpoint '{cost.endpoint}' at ${cost.price_per_hour:g}/hour, "
        f"{cost.busy_s or 0:.1f} s busy for {cost.sent} request(s), shared equally"
    )
    if token_options:
        note += "; --batch and --cache-hit-rate do not apply to it"
    if share is None:
        note = f"endpoint '{cost.endpoint}' is priced per hour, but no request sent has a timing"
    return ForecastRow(
        *key,
        samples,
        "hourly",
        "hourly",
        None,
        expected_usd=expected,
        ci_low_usd=expected,
        ci_high_usd=expected,
        per_request_usd=share,
        note=note,
    )


def _order(rows: list[ForecastRow]) -> list[ForecastRow]:
    """By suite and prompt; within each, the cheapest model first, unknown costs last."""

    def key(row: ForecastRow) -> tuple:
        unknown = row.expected_usd is None
        return (row.suite, row.prompt, unknown, row.expected_usd or 0.0, row.model)

    return sorted(rows, key=key)


def forecast(
    run: Mapping[str, Any],
    results: Iterable[Any],
    requests: int,
    per: str = "month",
    batch: bool = False,
    cache_hit_rate: float | None = None,
    seed: int = 0,
) -> Forecast:
    """The forecast of `requests` requests (per `per`) from a stored run and its samples.

    `run` is a store's run dict (run_id, config); `results` its samples
    (evals.store.ResultRow, or anything with the same attributes).
    """
    if requests < 1:
        raise ValueError("requests must be at least 1")
    if per not in PERIODS:
        raise ValueError(f"per must be one of {', '.join(PERIODS)}")
    if cache_hit_rate is not None and not 0.0 <= cache_hit_rate <= 1.0:
        raise ValueError("cache_hit_rate must be between 0 and 1")
    config = run["config"]
    results = list(results)
    prices, where = _recorded_prices(config)
    hourly = hourly_costs(config, results)
    rows = []
    for key, row in _request_costs(results, prices, batch, cache_hit_rate).items():
        if key[2] in hourly:
            answered = len(row.totals) + row.unknown
            flags = batch or cache_hit_rate is not None
            rows.append(_hourly_row(key, hourly[key[2]], answered, requests, flags))
        else:
            rows.append(_token_row(key, row, prices.get(key[2]), requests, batch, seed))
    return Forecast(
        run_id=run["run_id"],
        requests=requests,
        per=per,
        batch=batch,
        cache_hit_rate=cache_hit_rate,
        seed=seed,
        prices=where,
        prices_as_of=config.get("prices_as_of"),
        rows=_order(rows),
    )
