"""Normalise provider usage objects into `Usage`, and sum them.

Providers differ: OpenAI sends detail objects, Groq and many local servers
send only the top-level counts, the Responses and Batch APIs use input/output
names. A count that was not sent is recorded as None (unknown), never 0, so
that a report never claims "0 cached tokens" when nobody said so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evals.records import Usage


def _count(value: Any) -> int | None:
    """A token count, or None for anything that is not a non-negative integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _first(raw: Mapping[str, Any], *keys: str) -> Any:
    """Value of the first key present with a non-None value."""
    for key in keys:
        value = raw.get(key)
        if value is not None:
            return value
    return None


def _detail(raw: Mapping[str, Any], detail_keys: tuple[str, ...], field: str) -> int | None:
    details = _first(raw, *detail_keys)
    if not isinstance(details, Mapping):
        return None
    return _count(details.get(field))


def normalize_usage(raw: Mapping[str, Any] | Any | None) -> Usage:
    """Usage from a chat `usage` dict (or Responses/Batch-style dict); None -> all unknown.

    Chat names win over Responses names when both are present. Extra fields
    (Groq's timing fields, llama.cpp's `timings`, ...) are ignored. An SDK
    model object is accepted too (its `model_dump()` is used).
    """
    if raw is None:
        return Usage()
    if not isinstance(raw, Mapping) and hasattr(raw, "model_dump"):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        return Usage()
    return Usage(
        prompt_tokens=_count(_first(raw, "prompt_tokens", "input_tokens")),
        cached_tokens=_detail(
            raw, ("prompt_tokens_details", "input_tokens_details"), "cached_tokens"
        ),
        completion_tokens=_count(_first(raw, "completion_tokens", "output_tokens")),
        reasoning_tokens=_detail(
            raw, ("completion_tokens_details", "output_tokens_details"), "reasoning_tokens"
        ),
    )


def _sum_field(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def sum_usages(usages: Iterable[Usage]) -> Usage:
    """Field-wise sum; a field is None only if no item knows it.

    Unknowns are left out of the sum (not counted as 0 and not making the
    total unknown), so a run where one provider omits cached counts still
    reports the cached tokens the others did report.
    """
    items = list(usages)
    return Usage(
        prompt_tokens=_sum_field([u.prompt_tokens for u in items]),
        cached_tokens=_sum_field([u.cached_tokens for u in items]),
        completion_tokens=_sum_field([u.completion_tokens for u in items]),
        reasoning_tokens=_sum_field([u.reasoning_tokens for u in items]),
    )
