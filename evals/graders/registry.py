"""Grader specs (the `graders:` entries of a suite) -> grader objects, and combining results.

One dict, REGISTRY, maps a `type:` to a grader class. It is filled by the `@register` class
decorator on each grader class, when its module is imported; `evals.graders` imports every
grader module, so the registry is full whenever any part of the package is imported. This
module imports no grader module, so grader modules (groups build their children) can use it.

A class declares its options as a pydantic model (`extra="forbid"`), so a typo in a spec is
caught at load time with a message naming the key, not silently ignored during a paid run.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from evals.graders.base import BaseGrader, GradeContext, Grader, GraderSpecError
from evals.records import GradeResult

NEGATION_PREFIX = "not-"

REGISTRY: dict[str, type[BaseGrader]] = {}  # in registration order: the order users see

GraderClass = TypeVar("GraderClass", bound=type[BaseGrader])


def register(cls: GraderClass) -> GraderClass:
    """Class decorator: `cls` grades specs with `type: <cls.base_type>` (and `not-...`)."""
    taken = REGISTRY.get(cls.base_type)
    if taken is not None and taken is not cls:
        raise ValueError(
            f"grader type {cls.base_type!r} is already registered by "
            f"{taken.__module__}.{taken.__qualname__}"
        )
    REGISTRY[cls.base_type] = cls
    return cls


def known_types() -> tuple[str, ...]:
    """Every registered `type:` name, in registration order."""
    return tuple(REGISTRY)


def _known_list() -> str:
    return ", ".join(REGISTRY) + f" (any may be prefixed with {NEGATION_PREFIX!r})"


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _resolve_type(spec: Mapping[str, Any]) -> tuple[type[BaseGrader], bool]:
    if "type" not in spec:
        raise GraderSpecError(f"grader has no `type`; known types: {_known_list()}", key="type")
    type_name = spec["type"]
    if not isinstance(type_name, str):
        raise GraderSpecError(
            f"grader `type` must be a string, got {type_name!r}; known types: {_known_list()}",
            key="type",
        )
    negated = type_name.startswith(NEGATION_PREFIX)
    base = type_name.removeprefix(NEGATION_PREFIX)
    if base.startswith(NEGATION_PREFIX):
        raise GraderSpecError(
            f"grader type {type_name!r} negates more than once; "
            f"use {base.removeprefix(NEGATION_PREFIX)!r} or {base!r}",
            key="type",
        )
    if base not in REGISTRY:
        choices = [f"{NEGATION_PREFIX}{t}" for t in REGISTRY] if negated else list(REGISTRY)
        raise GraderSpecError(
            f"unknown grader type {type_name!r}; {_suggest(type_name, choices)}"
            f"known types: {_known_list()}",
            key="type",
        )
    return REGISTRY[base], negated


def _option_names(cls: type[BaseGrader]) -> list[str]:
    return sorted(f.alias or name for name, f in cls.Options.model_fields.items())


def _option_error(exc: ValidationError, type_name: str, cls: type[BaseGrader]) -> GraderSpecError:
    """The first pydantic error as one sentence naming the key."""
    first = exc.errors()[0]
    key = str(first["loc"][0]) if first["loc"] else None
    allowed = _option_names(cls)
    if first["type"] == "extra_forbidden":
        return GraderSpecError(
            f"unknown option {key!r} for grader {type_name!r}; {_suggest(key or '', allowed)}"
            f"allowed options: type, {', '.join(allowed)}",
            key=key,
        )
    message = first["msg"].removeprefix("Value error, ")
    if key is None:  # a rule about several options together
        return GraderSpecError(f"grader {type_name!r}: {message}")
    if first["type"] == "missing":
        return GraderSpecError(f"grader {type_name!r} needs option {key!r}", key=key)
    return GraderSpecError(
        f"option {key!r} of grader {type_name!r}: {message} (got {first.get('input')!r})", key=key
    )


def build_grader(spec: Mapping[str, Any]) -> Grader:
    """A grader from one `graders:` entry; raises GraderSpecError saying what to fix."""
    if not isinstance(spec, Mapping):
        raise GraderSpecError(
            f"a grader must be a mapping like {{type: exact}}, got {spec!r}", key=None
        )
    cls, negated = _resolve_type(spec)
    type_name = str(spec["type"])
    raw = {str(k): v for k, v in spec.items() if k != "type"}
    try:
        options = cls.Options.model_validate(raw)
    except ValidationError as exc:
        raise _option_error(exc, type_name, cls) from None
    try:
        return cls(options, negated=negated)
    except GraderSpecError as exc:
        raise GraderSpecError(f"grader {type_name!r}: {exc}", key=exc.key, line=exc.line) from None


def _crash_result(grader: Grader, exc: Exception) -> GradeResult:
    label = getattr(grader, "name", None) or grader.type_name
    return GradeResult(False, 0.0, f"{label}: grader crashed: {type(exc).__name__}: {exc}", True)


def grade_all(graders: Sequence[Grader], output: str, ctx: GradeContext) -> list[GradeResult]:
    """Each grader's result on one output, in order (sync: model-graded types give errors)."""
    results = []
    for grader in graders:
        try:
            results.append(grader.grade(output, ctx))
        except Exception as exc:  # a foreign Grader that raises is an error result, not a crash
            results.append(_crash_result(grader, exc))
    return results


async def grade_all_async(
    graders: Sequence[Grader], output: str, ctx: GradeContext
) -> list[GradeResult]:
    """Each grader's result on one output, in order, graded concurrently (judge calls overlap).

    When nothing needs to await (the usual case), grading is plain synchronous calls:
    a task per grader would cost more than the graders themselves.
    """
    if not any(getattr(grader, "needs_await", True) for grader in graders):
        return grade_all(graders, output, ctx)

    async def one(grader: Grader) -> GradeResult:
        try:
            return await grader.agrade(output, ctx)
        except Exception as exc:  # never a crash: the case gets a grader error, the run goes on
            return _crash_result(grader, exc)

    return list(await asyncio.gather(*(one(grader) for grader in graders)))


def combine(
    results: Sequence[GradeResult],
    weights: Sequence[float] | None = None,
    threshold: float | None = None,
) -> GradeResult:
    """One case result from its graders' results.

    The score is the weighted mean (each grader's `weight`, default 1; weight 0 is
    reported but counts for nothing, as in promptfoo). Without a `threshold` the case
    passes when every counted grader passes, and a clear failure decides the case even
    when another grader could not grade: "all must pass" is already false, so the case
    stays in the accuracy denominator as a failure. Only when nothing failed outright does
    a grader error make the case an error. With the case's `threshold` it passes when the
    weighted score reaches it (a failing grader no longer decides alone; an error still
    makes the case an error). No results at all is an error, not a vacuous pass.
    """
    if not results:
        return GradeResult(
            False, 0.0, "no graders to apply: add a `graders:` list to the suite or case", True
        )
    weights = [1.0] * len(results) if weights is None else list(weights)
    counted = [(r, w) for r, w in zip(results, weights, strict=True) if w > 0] or [
        (r, 1.0)
        for r in results  # every weight 0: nothing to weigh, count them alike
    ]
    total = sum(w for _, w in counted)
    score = sum(r.score * w for r, w in counted) / total
    errors = [r for r, _ in counted if r.error]
    failures = [r for r, _ in counted if not r.passed and not r.error]
    briers = [r.brier for r in results if r.brier is not None]
    brier = sum(briers) / len(briers) if briers else None
    if threshold is not None:
        passed = not errors and score >= threshold
        sign = "≥" if score >= threshold else "<"
        reason = f"weighted score {score:.3g} {sign} threshold {threshold:g}"
        if failures or errors:
            reason += ": " + "; ".join(r.reason for r in failures + errors)
        return GradeResult(passed, score, reason, error=bool(errors), brier=brier)
    if failures or errors:
        reason = "; ".join(r.reason for r in failures + errors)
    else:
        reason = f"all {len(results)} grader{'s' if len(results) != 1 else ''} passed"
    return GradeResult(
        passed=not failures and not errors,
        score=score,
        reason=reason,
        error=bool(errors) and not failures,
        brier=brier,
    )
