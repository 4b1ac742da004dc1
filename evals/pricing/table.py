"""Price table and cost arithmetic.

Prices live in `evals/data/pricing.yaml` (versioned, with source and date) so a
new model or a price cut is a data change, not a code change; a runner profile
may replace any model's entry (`pricing:`). An unknown price is None, never 0: a
report must not show an unpriced model as free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evals.modelnames import resolve_family
from evals.records import Usage

_PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens for one model; None = unknown.

    `input` is None only for models billed per audio minute (`audio_per_minute`).
    """

    input: float | None
    output: float | None = None
    cached_input: float | None = None
    batch_input: float | None = None
    batch_output: float | None = None
    as_of: str | None = None
    source: str | None = None
    audio_per_minute: float | None = None


class _PriceEntry(BaseModel):
    """Schema of one price entry, bundled or overridden; every field optional here."""

    model_config = ConfigDict(extra="forbid")

    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    batch_input: float | None = Field(default=None, ge=0)
    batch_output: float | None = Field(default=None, ge=0)
    audio_per_minute: float | None = Field(default=None, ge=0)
    as_of: str | None = None
    source: str | None = None

    @field_validator(
        "input",
        "output",
        "cached_input",
        "batch_input",
        "batch_output",
        "audio_per_minute",
        mode="before",
    )
    @classmethod
    def _number(cls, value: Any) -> Any:
        # YAML `yes` or a quoted "1.10" is a typo, not a price.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be finite")
        return value

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        # An unquoted YAML date parses as datetime.date; keep it as text.
        return value if value is None or isinstance(value, str) else str(value)


_ALLOWED = tuple(_PriceEntry.model_fields)


def _parse_entry(model: str, raw: Any, what: str) -> dict[str, Any]:
    """Validate one entry; return only the fields it sets. Errors name model and key."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{what} for {model!r} must be a mapping, got {type(raw).__name__}")
    try:
        entry = _PriceEntry.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = err["loc"][0] if err["loc"] else "?"
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(_ALLOWED)
            raise ValueError(
                f"{what} for {model!r}: unknown key {key!r} (allowed: {allowed})"
            ) from None
        raise ValueError(f"{what} for {model!r}: {key!r} {err['msg']}") from None
    return entry.model_dump(exclude_unset=True)


def _to_price(model: str, values: Mapping[str, Any], what: str) -> Price:
    if values.get("input") is None and values.get("audio_per_minute") is None:
        raise ValueError(f"{what} for {model!r}: needs 'input' (or 'audio_per_minute')")
    return Price(**{f.name: values.get(f.name) for f in fields(Price)})


class PriceTable:
    """Immutable model-id -> Price map with snapshot-aware lookup.

    `as_of` is the bundled table's date; `overridden` the ids whose entry a
    runner profile gave (they replace the bundled entry of that id).
    """

    def __init__(
        self,
        prices: Mapping[str, Price],
        as_of: str | None = None,
        overridden: frozenset[str] = frozenset(),
    ) -> None:
        self._prices: Mapping[str, Price] = MappingProxyType(dict(prices))
        self.as_of = as_of
        self.overridden = frozenset(overridden)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], what: str = "pricing") -> PriceTable:
        """Build from the YAML structure `{as_of, models: {id: entry}}`."""
        models = data.get("models")
        if not isinstance(models, Mapping):
            raise ValueError(f"{what}: 'models' must be a mapping of model id to prices")
        prices = {
            str(mid): _to_price(str(mid), _parse_entry(str(mid), raw, what), what)
            for mid, raw in models.items()
        }
        as_of = data.get("as_of")
        return cls(prices, None if as_of is None else str(as_of))

    @classmethod
    def bundled(cls) -> PriceTable:
        """The table shipped in evals/data/pricing.yaml (read once, then cached)."""
        return _bundled()

    def with_overrides(
        self, overrides: Mapping[str, Mapping[str, Any]], origin: str = "runner profile"
    ) -> PriceTable:
        """Return a new table in which each override replaces the entry for its id.

        An override is a whole entry, not a patch: fields it does not give are
        unknown (None), never taken from this table's entry for that id or its
        snapshot family, so a negotiated `input`/`output` is not mixed with a
        list-price `cached_input`, batch rate, date or source. (An unknown
        `cached_input` bills cached tokens at the input rate: see `cost_usd`.)
        `as_of` is the override's own or None; `source` is the override's own or
        `origin` (e.g. "runner profile runners/x.yaml"). Unknown keys raise ValueError.
        """
        merged = dict(self._prices)
        for model, raw in overrides.items():
            values = _parse_entry(str(model), raw, "pricing override")
            if values.get("input") is None and values.get("audio_per_minute") is None:
                raise ValueError(
                    f"pricing override for {model!r}: needs 'input' (or 'audio_per_minute'); "
                    "an override replaces the bundled entry, so give every rate you know"
                )
            if values.get("source") is None:
                values["source"] = origin
            merged[str(model)] = _to_price(str(model), values, "pricing override")
        return PriceTable(merged, self.as_of, self.overridden | {str(m) for m in overrides})

    def resolve(self, model: str) -> tuple[str, Price] | None:
        """(the table key that prices `model`, its Price), or None if unknown."""
        family = resolve_family(model, self._prices)
        return None if family is None else (family, self._prices[family])

    def lookup(self, model: str) -> Price | None:
        """Price for an exact id, else for its dated snapshot family; None if unknown."""
        found = self.resolve(model)
        return None if found is None else found[1]

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.lookup(model) is not None

    def ids(self) -> list[str]:
        """Model ids with a price, sorted."""
        return sorted(self._prices)


@lru_cache(maxsize=1)
def _bundled() -> PriceTable:
    from importlib.resources import files

    import yaml

    text = files("evals").joinpath("data", "pricing.yaml").read_text(encoding="utf-8")
    return PriceTable.from_mapping(yaml.safe_load(text), "evals/data/pricing.yaml")


def cost_usd(usage: Usage, price: Price | None, batch: bool = False) -> float | None:
    """Cost of one response in USD, or None when it cannot be known.

    (prompt - cached) * input + cached * cached_input + completion * output, per
    1M tokens. Unknown cached count bills all input at the full rate; an unknown
    cached_input price (None: e.g. a runner-profile override that gives only
    input and output) bills cached tokens at the input rate, which is what a
    provider without cache discounts charges. Reasoning tokens
    are already inside completion_tokens and are not added again. A price without
    an output rate (embeddings) needs no completion count; any other missing
    count or rate gives None. With `batch`, batch rates apply (None if the table
    has none) and cached tokens cost the lower of cached_input and batch_input.
    """
    if price is None or usage.prompt_tokens is None:
        return None
    in_rate = price.batch_input if batch else price.input
    out_rate = price.batch_output if batch else price.output
    if in_rate is None:
        return None
    if price.cached_input is None:
        cached_rate = in_rate
    else:
        cached_rate = min(price.cached_input, in_rate) if batch else price.cached_input

    prompt = usage.prompt_tokens
    # A provider reporting more cached than prompt tokens is wrong; bill at most prompt.
    cached = min(usage.cached_tokens or 0, prompt)
    completion = usage.completion_tokens
    if price.output is None and not completion:
        out_cost = 0.0  # embeddings: there is no output to bill
    elif completion is None or out_rate is None:
        return None
    else:
        out_cost = completion * out_rate
    total = (prompt - cached) * in_rate + cached * cached_rate + out_cost
    return total / _PER_TOKENS


def audio_cost_usd(seconds: float | None, price: Price | None) -> float | None:
    """Cost of transcribing `seconds` of audio at a per-minute price; None if unknown."""
    if seconds is None or price is None or price.audio_per_minute is None:
        return None
    return seconds / 60.0 * price.audio_per_minute


def price_from_record(record: Mapping[str, Any] | None) -> Price | None:
    """The Price a run recorded (`rates` of a PriceBook, or a `describe` entry); None if unknown."""
    if not record or (record.get("input") is None and record.get("audio_per_minute") is None):
        return None
    return Price(**{f.name: record.get(f.name) for f in fields(Price)})


@dataclass(frozen=True)
class CostParts:
    """One response's cost in USD, split the way a provider bills it."""

    input: float  # the prompt tokens not read from the cache
    cached_input: float
    output: float  # completion tokens, reasoning included
    reasoning: float | None  # the part of `output` spent reasoning; None when not reported

    @property
    def total(self) -> float:
        return self.input + self.cached_input + self.output


def cost_parts(
    usage: Usage, price: Price | None, batch: bool = False, cache_hit_rate: float | None = None
) -> CostParts | None:
    """`cost_usd` split into input, cached input, output and reasoning (the same rules:
    each part is `cost_usd` of its own tokens, so the parts sum to the whole).

    With `cache_hit_rate` R, R x prompt tokens are billed at the cached rate instead
    of the cached count the provider reported. None when the cost cannot be known.
    """
    prompt = usage.prompt_tokens
    if prompt is not None and cache_hit_rate is not None:
        usage = Usage(
            prompt, prompt * cache_hit_rate, usage.completion_tokens, usage.reasoning_tokens
        )
    if cost_usd(usage, price, batch) is None or prompt is None:
        return None
    cached = min(usage.cached_tokens or 0, prompt)

    def part(prompt_tokens: float, cached_tokens: float, completion: int | None) -> float:
        return cost_usd(Usage(prompt_tokens, cached_tokens, completion), price, batch) or 0.0

    reasoning = usage.reasoning_tokens
    return CostParts(
        input=part(prompt - cached, 0, 0),
        cached_input=part(cached, cached, 0),
        output=part(0, 0, usage.completion_tokens),
        reasoning=None if reasoning is None else part(0, 0, reasoning),
    )
