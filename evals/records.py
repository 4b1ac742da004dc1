"""Plain value types shared across modules (engine, graders, pricing, store)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one response, normalised across providers.

    A field the provider did not send is None (unknown), never 0.
    `completion_tokens` already includes `reasoning_tokens`; `prompt_tokens`
    already includes `cached_tokens`.
    """

    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class GradeResult:
    """What every grader returns: one shape, whatever the grader."""

    passed: bool
    score: float
    reason: str
    error: bool = False  # True when the grader itself failed (bad regex input, crash)
    brier: float | None = None  # a probabilistic verdict's Brier score (choice by logprobs)


def canonical_json(value: Any) -> str:
    """One text per value whatever its key order: request hashes and stored requests."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
