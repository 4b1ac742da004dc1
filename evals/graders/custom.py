"""`python`: a user's own function as a grader, `value: package.module:function`.

The function is imported when the suite loads (so a typo fails `evals validate`, not a
paid run) and called as `fn(output, ctx)`, sync or async. It may return a bool, a score in
[0, 1], a dict with pass/score/reason, or a GradeResult. Whatever it raises or returns
that we cannot read becomes a grader error on that case; the run goes on.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field

from evals.graders.base import (
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    error,
    number,
    show,
)
from evals.graders.registry import register
from evals.records import GradeResult

RETURNS = "return a bool, a score in [0, 1], a dict with pass/score/reason, or a GradeResult"
DICT_KEYS = frozenset({"pass", "passed", "score", "reason"})


def _import(module_name: str) -> Any:
    """Import a module; a top-level name missing from sys.path is retried from the cwd."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        if exc.name != top or os.getcwd() in sys.path:
            raise
    # `evals` is a console script, so the working directory is not on sys.path by itself.
    # Appended, not prepended: a local file never shadows an installed package.
    sys.path.append(os.getcwd())
    return importlib.import_module(module_name)


def load_function(spec: Any, key: str) -> Callable[..., Any]:
    """The callable named by "package.module:function"; GraderSpecError says what to fix."""
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise GraderSpecError(
            f"`{key}` must name a function as 'package.module:function', got {spec!r}", key=key
        )
    module_name, attr = spec.split(":")
    try:
        module = _import(module_name)
    except ModuleNotFoundError as exc:
        raise GraderSpecError(
            f"cannot import module {module_name!r} ({exc}): check the spelling, and run from "
            "the directory that holds it or add that directory to PYTHONPATH",
            key=key,
        ) from None
    except Exception as exc:  # the module exists but fails while importing
        raise GraderSpecError(
            f"importing module {module_name!r} failed with {type(exc).__name__}: {exc}; "
            "fix the module",
            key=key,
        ) from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise GraderSpecError(
                f"module {module_name!r} has no function {attr!r}; check the name after ':'",
                key=key,
            )
    if not callable(target):
        raise GraderSpecError(f"{spec!r} is a {type(target).__name__}, not a function", key=key)
    return target


def interpret(result: Any, threshold: float, who: str) -> Check:
    """What the user's function returned, as a Check (unreadable results are errors)."""
    if hasattr(result, "item") and callable(result.item):  # numpy scalars
        result = result.item()
    if isinstance(result, GradeResult):
        return Check(result.passed, result.reason, error=result.error, score=result.score)
    if isinstance(result, bool):
        return Check(result, f"{who} returned {result}")
    if isinstance(result, int | float):
        return _scored(float(result), None, threshold, who, f"{who} scored {{score}}")
    if isinstance(result, Mapping):
        unknown = sorted(set(map(str, result)) - DICT_KEYS)
        if unknown:
            return error(f"{who} returned unknown key(s) {unknown}; use pass, score, reason")
        passed = result.get("pass", result.get("passed"))
        if passed is not None and not isinstance(passed, bool):
            return error(f"{who} returned pass={show(passed)}; `pass` must be true or false")
        reason = result.get("reason")
        score = result.get("score")
        if score is None:
            if passed is None:
                return error(f"{who} returned a dict without `pass` or `score`")
            return Check(passed, str(reason) if reason else f"{who} returned pass={passed}")
        if isinstance(score, bool) or not isinstance(score, int | float):
            return error(f"{who} returned score={show(score)}; `score` must be a number in [0, 1]")
        default = str(reason) if reason else f"{who} scored {{score}}"
        return _scored(float(score), passed, threshold, who, default)
    return error(f"{who} returned {show(result)}; {RETURNS}")


def _scored(score: float, passed: bool | None, threshold: float, who: str, reason: str) -> Check:
    if math.isnan(score) or not 0 <= score <= 1:
        return error(f"{who} returned score {score}, not in [0, 1]")
    if passed is None:
        passed = score >= threshold
        reason = reason.format(
            score=f"{number(score)} {'≥' if passed else '<'} {number(threshold)}"
        )
    else:
        reason = reason.format(score=number(score))
    return Check(passed, reason, score=score)


class PythonOptions(CommonOptions):
    function: str | None = None  # "package.module:function"; else `value` names it
    threshold: float = Field(0.5, ge=0, le=1)  # for numeric scores


@register
class PythonGrader(BaseGrader):
    """Calls the user's function; sync functions work on both paths, async ones need agrade."""

    base_type = "python"
    Options = PythonOptions
    options: PythonOptions

    def __init__(self, options: PythonOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        if options.function is not None:
            self.spec, key = options.function, "function"
        elif "value" in options.model_fields_set:
            self.spec, key = options.value, "value"
        else:
            raise GraderSpecError(
                "name the function: `value: package.module:function` (or `function:`)",
                key="value",
            )
        self.function = load_function(self.spec, key)
        self.needs_await = inspect.iscoroutinefunction(self.function)

    def _call(self, text: str, ctx: GradeContext) -> Any:
        if self.options.function is not None and "value" in self.options.model_fields_set:
            ctx = dataclasses.replace(ctx, expect=self.options.value)  # `value` overrides expect
        return self.function(text, ctx)

    def _raised(self, exc: Exception) -> Check:
        return error(f"{self.spec} raised {type(exc).__name__}: {exc}")

    def check(self, text: str, ctx: GradeContext) -> Check:
        try:
            result = self._call(text, ctx)
        except Exception as exc:
            return self._raised(exc)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()  # not awaited here; closing avoids a "never awaited" warning
            return error(f"{self.spec} is async: it needs async grading (agrade)")
        return interpret(result, self.options.threshold, self.spec)

    async def acheck(self, text: str, ctx: GradeContext) -> Check:
        try:
            result = self._call(text, ctx)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            return self._raised(exc)
        return interpret(result, self.options.threshold, self.spec)
