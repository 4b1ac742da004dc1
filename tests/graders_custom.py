"""Sample functions for the `python` grader tests (`tests.graders_custom:<name>`)."""

from __future__ import annotations

import asyncio
from typing import Any

from evals.graders.base import GradeContext
from evals.records import GradeResult

NOT_A_FUNCTION = 3


def is_upper(output: str, ctx: GradeContext) -> bool:
    return output.isupper()


def length_score(output: str, ctx: GradeContext) -> float:
    """1.0 at 10 characters or more."""
    return min(len(output) / 10, 1.0)


def mentions_expect(output: str, ctx: GradeContext) -> dict[str, Any]:
    found = str(ctx.expect) in output
    return {"pass": found, "reason": f"{'mentions' if found else 'does not mention'} {ctx.expect}"}


def score_only(output: str, ctx: GradeContext) -> dict[str, Any]:
    return {"score": 0.25}


def full_result(output: str, ctx: GradeContext) -> GradeResult:
    return GradeResult(True, 0.9, "custom says fine")


async def async_equals(output: str, ctx: GradeContext) -> bool:
    await asyncio.sleep(0)
    return output == ctx.expect


def boom(output: str, ctx: GradeContext) -> bool:
    raise ValueError("boom")


def returns_none(output: str, ctx: GradeContext) -> None:
    return None


def out_of_range(output: str, ctx: GradeContext) -> float:
    return 1.5


def typo_dict(output: str, ctx: GradeContext) -> dict[str, Any]:
    return {"pased": True}
