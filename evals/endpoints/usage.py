"""Normalise provider usage objects into `Usage`, and sum them.

Providers differ: OpenAI sends detail objects, Groq and many local servers
send only the top-level counts, the Responses and Batch APIs use input/output
names. A count that was not sent is recorded as None (unknown), never 0, so
that a report never claims "0 cached tokens" when nobody said so.

Where providers put the counts (`usage_of` reads a whole body or stream chunk):

- cached prompt tokens: `usage.prompt_tokens_details.cached_tokens` (OpenAI,
  vLLM, newer llama-server); else DeepSeek's top-level
  `usage.prompt_cache_hit_tokens`; else, for an endpoint of kind `llama.cpp`
  only, llama-server's `timings.cache_n` (outside `usage`; other servers may send
  an unrelated `timings`). llama-cpp-python's `python -m llama_cpp.server` sends
  neither details nor `timings`, so its cached count stays unknown.
- the usage object itself: top-level `usage`; else Groq's `x_groq.usage`, where
  Groq puts it in the final chunk of a stream.
"""

from __future__ import annotations

import dataclasses
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

    Chat names win over Responses names when both are present. A cached count in
    the details wins over DeepSeek's `prompt_cache_hit_tokens` (newer DeepSeek
    sends both, equal). Other extra fields (Groq's timing fields, ...) are
    ignored. An SDK model object is accepted too (its `model_dump()` is used).
    """
    if raw is None:
        return Usage()
    if not isinstance(raw, Mapping) and hasattr(raw, "model_dump"):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        return Usage()
    cached = _detail(raw, ("prompt_tokens_details", "input_tokens_details"), "cached_tokens")
    if cached is None:
        cached = _count(raw.get("prompt_cache_hit_tokens"))
    return Usage(
        prompt_tokens=_count(_first(raw, "prompt_tokens", "input_tokens")),
        cached_tokens=cached,
        completion_tokens=_count(_first(raw, "completion_tokens", "output_tokens")),
        reasoning_tokens=_detail(
            raw, ("completion_tokens_details", "output_tokens_details"), "reasoning_tokens"
        ),
    )


LLAMA_CPP = "llama.cpp"
"""The endpoint kind (runner profile `kind:`) whose `timings.cache_n` is read."""


def usage_of(body: Mapping[str, Any], kind: str | None = None) -> Usage:
    """Usage of a chat completion body, or of the usage-bearing fields of a stream.

    `body` is a parsed response (or a dict of the last `usage`, `x_groq` and
    `timings` a stream sent); `kind` is the endpoint's kind from the runner
    profile (None: unknown). Rules in the module docstring.
    """
    raw = body.get("usage")
    if raw is None:
        groq = body.get("x_groq")
        if isinstance(groq, Mapping):
            raw = groq.get("usage")
    usage = normalize_usage(raw)
    if kind == LLAMA_CPP and usage.cached_tokens is None:
        timings = body.get("timings")
        if isinstance(timings, Mapping):
            cache_n = _count(timings.get("cache_n"))
            if cache_n is not None:
                usage = dataclasses.replace(usage, cached_tokens=cache_n)
    return usage


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
