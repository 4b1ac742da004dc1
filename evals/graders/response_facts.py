"""Graders of what the response said about itself: `latency`, `cost`, `finish-reason`.

These mirror promptfoo's assertions of the same names, so a promptfoo config imports 1:1:
- `latency`: the request took at most `threshold` milliseconds;
- `cost`: the answer cost at most `threshold` US dollars;
- `finish-reason`: the model stopped for the expected reason (`stop`, `length`, ...).

They read the response facts on the GradeContext, never the output text. A fact the harness
does not know (no timing, no price, no finish reason) is a grader error, not a failure:
negating a failure would turn "we could not tell" into a pass.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from evals.graders.base import (
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    error,
    fail,
    ok,
    show,
)
from evals.graders.registry import register


class _FactGrader(BaseGrader):
    """A grader of response facts: `field` and `extract` select text, which these ignore."""

    grades = "the response"


# --- latency ------------------------------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#latency


class LatencyOptions(CommonOptions):
    threshold: float = Field(ge=0)  # required: the most milliseconds the request may take


def milliseconds(seconds: float) -> str:
    """A latency as people read it: 850ms, 1234ms (whole milliseconds are precise enough)."""
    return f"{round(seconds * 1000)}ms"


@register
class LatencyGrader(_FactGrader):
    """Passes when the response arrived within `threshold` ms.

    promptfoo refuses cached results (their latency is not a fresh measurement); here a cache
    replay keeps the original request's latency, so it is graded, and the reason says so."""

    base_type = "latency"
    Options = LatencyOptions
    options: LatencyOptions

    def check(self, text: str, ctx: GradeContext) -> Check:
        if ctx.latency_s is None:
            return error("latency unknown: the response was not timed")
        took, limit = ctx.latency_s * 1000, self.options.threshold
        cached = " (cached: latency of the original request)" if ctx.cache_hit else ""
        shown = f"{milliseconds(ctx.latency_s)}{cached}"
        if took <= limit:
            return ok(f"latency {shown} ≤ {limit:g}ms")
        return fail(f"latency {shown} > {limit:g}ms")


# --- cost ---------------------------------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#cost


class CostOptions(CommonOptions):
    threshold: float = Field(ge=0)  # required: the most US dollars the answer may cost


def dollars(amount: float) -> str:
    """A cost with enough digits to compare with a threshold: $0.00042, $1.5."""
    return f"${amount:.2g}" if 0 < amount < 0.01 else f"${amount:.4g}"


@register
class CostGrader(_FactGrader):
    """Passes when the answer cost at most `threshold` USD (promptfoo's `cost <= threshold`)."""

    base_type = "cost"
    Options = CostOptions
    options: CostOptions

    def check(self, text: str, ctx: GradeContext) -> Check:
        if ctx.cost_usd is None:
            return error(
                "cost unknown: the model has no price; add it to the pricing table "
                "or the runner profile"
            )
        limit = self.options.threshold
        cached = " (cached: cost of the original request)" if ctx.cache_hit else ""
        if ctx.cost_usd <= limit:
            return ok(f"cost {dollars(ctx.cost_usd)}{cached} ≤ ${limit:g}")
        return fail(f"cost {dollars(ctx.cost_usd)}{cached} > ${limit:g}")


# --- finish-reason ------------------------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#finish-reason

STANDARD_REASONS = ("stop", "length", "content_filter", "tool_calls")
# Provider spellings promptfoo's providers normalise to the standard four (its docs list them).
ALIASES = {
    "function_call": "tool_calls",  # OpenAI, legacy
    "end_turn": "stop",  # Anthropic
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "tool-calls": "tool_calls",  # Vercel AI SDK
    "content-filter": "content_filter",
}


def normalise_reason(reason: str) -> str:
    """A finish reason in promptfoo's vocabulary: case-folded, provider aliases mapped.

    promptfoo normalises in its providers and compares case-insensitively; we normalise both
    sides here, so `end_turn` from an Anthropic-compatible endpoint still equals `stop`."""
    folded = reason.strip().lower()
    return ALIASES.get(folded, folded)


@register
class FinishReasonGrader(_FactGrader):
    """Passes when the model stopped for the reason in `value` (e.g. stop, length)."""

    base_type = "finish-reason"

    def __init__(self, options: CommonOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        value: Any = options.value
        if not isinstance(value, str) or not value.strip():
            raise GraderSpecError(
                f"`value` must name a finish reason ({', '.join(STANDARD_REASONS)}), "
                f"got {show(value)}",
                key="value",
            )
        self.wanted = normalise_reason(value)

    def check(self, text: str, ctx: GradeContext) -> Check:
        if not ctx.finish_reason:
            return error("finish reason unknown: the endpoint did not report one")
        got = normalise_reason(ctx.finish_reason)
        shown = repr(ctx.finish_reason) + (f" (= {got!r})" if got != ctx.finish_reason else "")
        if got == self.wanted:
            return ok(f"finish reason {shown}, as expected")
        return fail(f"finish reason {shown}, expected {self.options.value!r}")
