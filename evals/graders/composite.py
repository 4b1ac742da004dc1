"""Groups of graders: `all`, `any`, `weighted`, each with `graders: [specs...]`.

A suite's grader list already means "all must pass"; groups exist to nest that logic
("this OR that"), to give partial credit (`weighted`), or to share one `field`/`extract`/
`value` among several checks (the group selects the text and expectation once).
Children are built with the registry, so nesting and negation work as anywhere else;
grading goes through `grade_all`/`grade_all_async`, so model-graded children work and a
child that raises is an error result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from evals.graders.base import (
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    Grader,
    GraderSpecError,
    error,
    number,
)
from evals.graders.registry import build_grader, grade_all, grade_all_async, register
from evals.records import GradeResult


class GroupOptions(CommonOptions):
    graders: list[Any] = Field(min_length=1)  # grader specs, like a suite's `graders:`


class WeightedOptions(GroupOptions):
    threshold: float = Field(0.5, ge=0, le=1)  # pass when the weighted mean score >= this


class GroupGrader(BaseGrader):
    """Builds the children; subclasses say how their results combine (`aggregate`)."""

    Options = GroupOptions
    options: GroupOptions

    def __init__(self, options: GroupOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        self.children: list[Grader] = []
        for index, spec in enumerate(options.graders):
            try:
                self.children.append(build_grader(spec))
            except GraderSpecError as exc:
                key = f"graders[{index}]" + (f".{exc.key}" if exc.key else "")
                line = exc.line or _line_of(spec, exc.key)
                raise GraderSpecError(f"graders[{index}]: {exc}", key=key, line=line) from None
        self.weights = [float(getattr(child, "weight", 1.0)) for child in self.children]

    def _context(self, ctx: GradeContext) -> GradeContext:
        if "value" in self.options.model_fields_set:  # the group's `value` is every child's
            return dataclasses.replace(ctx, expect=self.options.value)
        return ctx

    @property
    def needs_await(self) -> bool:  # type: ignore[override]
        return any(getattr(child, "needs_await", True) for child in self.children)

    def check(self, text: str, ctx: GradeContext) -> Check:
        return self.aggregate(grade_all(self.children, text, self._context(ctx)))

    async def acheck(self, text: str, ctx: GradeContext) -> Check:
        return self.aggregate(await grade_all_async(self.children, text, self._context(ctx)))

    def aggregate(self, results: Sequence[GradeResult]) -> Check:
        raise NotImplementedError

    def mean(self, results: Sequence[GradeResult]) -> float:
        """Children's scores weighted by their `weight` (plain mean if all weights are 0)."""
        total = sum(self.weights)
        if total == 0:
            return sum(r.score for r in results) / len(results)
        return sum(w * r.score for w, r in zip(self.weights, results, strict=True)) / total


def _line_of(spec: Any, key: str | None) -> int | None:
    """The YAML line of a nested spec's key (specs loaded from YAML know their lines)."""
    lines = getattr(spec, "key_lines", None) or {}
    return lines.get(key) or getattr(spec, "line", None) or None


def _reasons(results: Sequence[GradeResult]) -> str:
    return "; ".join(r.reason for r in results)


@register
class AllGrader(GroupGrader):
    """Passes when every child passes; score is the weighted mean."""

    base_type = "all"

    def aggregate(self, results: Sequence[GradeResult]) -> Check:
        count = len(results)
        errors = [r for r in results if r.error]
        failures = [r for r in results if not r.passed and not r.error]
        if failures:  # a clear failure decides "all", whatever could not grade
            return Check(
                False,
                f"{len(failures)} of {count} failed: {_reasons(failures + errors)}",
                score=self.mean(results),
            )
        if errors:
            return error(f"{len(errors)} of {count} could not grade: {_reasons(errors)}")
        return Check(True, f"all {count} passed", score=self.mean(results))


@register
class AnyGrader(GroupGrader):
    """Passes when at least one child passes (errors only matter if none did); score is the best."""

    base_type = "any"

    def aggregate(self, results: Sequence[GradeResult]) -> Check:
        count = len(results)
        passed = [r for r in results if r.passed and not r.error]
        if passed:
            best = max(passed, key=lambda r: r.score)
            return Check(True, f"{len(passed)} of {count} passed: {best.reason}", score=best.score)
        errors = [r for r in results if r.error]
        if errors:
            return error(
                f"none of {count} passed, {len(errors)} could not grade: {_reasons(results)}"
            )
        return Check(
            False,
            f"none of {count} passed: {_reasons(results)}",
            score=max(r.score for r in results),
        )


@register
class WeightedGrader(GroupGrader):
    """Partial credit: the weighted mean of the children's scores against a threshold."""

    base_type = "weighted"
    Options = WeightedOptions
    options: WeightedOptions

    def __init__(self, options: WeightedOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        if sum(self.weights) == 0:
            raise GraderSpecError(
                "the children's weights sum to 0; give one a `weight`", key="graders"
            )

    def aggregate(self, results: Sequence[GradeResult]) -> Check:
        errors = [r for r in results if r.error]
        if errors:
            return error(f"{len(errors)} of {len(results)} could not grade: {_reasons(errors)}")
        score, threshold = self.mean(results), self.options.threshold
        failures = [r for r in results if not r.passed]
        detail = f"; failed: {_reasons(failures)}" if failures else ""
        if score >= threshold:
            return Check(
                True, f"weighted score {number(score)} ≥ {number(threshold)}{detail}", score=score
            )
        return Check(
            False, f"weighted score {number(score)} < {number(threshold)}{detail}", score=score
        )
