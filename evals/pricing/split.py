"""A summary row's cost split by what it paid for (input, cached input, output,
reasoning, or hourly), priced by the same rules as every response (table.cost_parts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evals.pricing.table import cost_parts, price_from_record
from evals.records import Usage


def cost_split(row: Mapping[str, Any], rates: Mapping[str, Any] | None) -> dict[str, float] | None:
    """A row's USD by what it paid for, so a chart can show where the money goes.

    The pricing rules' own split (evals.pricing.cost_parts) of the row's token sums:
    cached tokens are part of the prompt, reasoning part of the completion (billed as
    output); unknown counts count as none. An hourly endpoint's cost is not per token:
    it is one "hourly" part. None when the split cannot be priced.
    """
    if row.get("cost_basis") == "hourly":
        cost = row.get("cost_usd")
        return None if cost is None else {"hourly": float(cost)}
    price = price_from_record(rates)
    if price is None or price.output is None:
        return None
    usage = Usage(
        row.get("prompt_tokens") or 0,
        row.get("cached_tokens") or 0,
        row.get("completion_tokens") or 0,
        row.get("reasoning_tokens") or 0,
    )
    parts = cost_parts(usage, price)
    if parts is None:
        return None
    reasoning = parts.reasoning or 0.0
    return {
        "input": parts.input,
        "cached input": parts.cached_input,
        "output": parts.output - reasoning,
        "reasoning": reasoning,
    }
