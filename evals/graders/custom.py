"""`python`: a user's own function as a grader, `value: package.module:function`.

The function is imported when the suite loads (so a typo fails `evals validate`, not a
paid run) and called as `fn(output, ctx)`, sync or async. It may return a bool, a score in
[0, 1], a dict with pass/score/reason, or a GradeResult. Whatever it raises or returns
that we cannot read becomes a grader error on that case; the run goes on.

promptfoo's forms work too, so its configs import unchanged
(https://www.promptfoo.dev/docs/configuration/expected-outputs/python/):
- `value: file://path/to/check.py` calls `get_assert(output, context)` in that file
  (`file://check.py:my_function` names another); a relative path is looked up in the
  suite's folder (on sys.path once the suite loads), then the working directory;
- any other `value` is inline Python with `output` and `context` bound: one line is an
  expression (`output.lower().startswith('yes')`), several lines are a function body that
  `return`s. These get promptfoo's `context` dict (prompt, vars, test, ...), and a bare
  number passes when it is above 0 unless `threshold` is set, as in promptfoo.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import os
import re
import sys
import textwrap
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from types import ModuleType
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
FILE_PREFIX = "file://"
DEFAULT_FILE_FUNCTION = "get_assert"  # promptfoo's default for `file://check.py`
# promptfoo's GradingResult keys that carry nothing we grade on: dropped, not errors
PROMPTFOO_EXTRA_KEYS = frozenset(
    {
        *("named_scores", "namedScores", "tokens_used", "tokensUsed"),
        *("component_results", "componentResults", "assertion", "metadata"),
    }
)
_FUNCTION_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")  # a module path missing ":function"


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


def interpret(result: Any, threshold: float | None, who: str) -> Check:
    """What the user's function returned, as a Check (unreadable results are errors).

    A score without `pass` passes when >= `threshold`; threshold None is promptfoo's rule
    for a bare number: it passes when above 0."""
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


def _scored(
    score: float, passed: bool | None, threshold: float | None, who: str, reason: str
) -> Check:
    if math.isnan(score) or not 0 <= score <= 1:
        return error(f"{who} returned score {score}, not in [0, 1]")
    if passed is None and threshold is None:
        passed = score > 0
        reason = reason.format(score=f"{number(score)} {'>' if passed else '≤'} 0")
    elif passed is None and threshold is not None:
        passed = score >= threshold
        reason = reason.format(
            score=f"{number(score)} {'≥' if passed else '<'} {number(threshold)}"
        )
    else:
        reason = reason.format(score=number(score))
    return Check(passed, reason, score=score)


# --- promptfoo's forms: file:// and inline code --------------------------------------------


def resolve_file(path_text: str, key: str) -> Path:
    """The file a `file://` value names: absolute, else under the suite's folder or the cwd.

    load_suite appends the suite's folder to sys.path, so the newest entries come first."""
    path = Path(path_text).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [Path(p) / path for p in reversed(sys.path) if p] + [Path.cwd() / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise GraderSpecError(
        f"python file {path_text!r} not found (looked in the suite's folder and the working "
        "directory)",
        key=key,
    )


@lru_cache(maxsize=64)
def _load_file(path: Path) -> ModuleType:
    """Run a grader file once per process: case-level graders are rebuilt for every case."""
    name = "evals_user_grader_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so dataclasses and pickling inside it work
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_file_function(value: str, key: str) -> Callable[..., Any]:
    """The function a `file://path.py[:function]` value names (default `get_assert`)."""
    rest = value[len(FILE_PREFIX) :]
    path_text, colon, function = rest.rpartition(":")
    if not colon or not function.isidentifier() or not path_text:
        path_text, function = rest, DEFAULT_FILE_FUNCTION
    if not path_text.endswith(".py"):
        raise GraderSpecError(
            f"`{key}`: {value!r} must name a .py file (file://path/to/check.py[:function])",
            key=key,
        )
    path = resolve_file(path_text, key)
    try:
        module = _load_file(path)
    except Exception as exc:
        raise GraderSpecError(
            f"running {path_text!r} failed with {type(exc).__name__}: {exc}; fix the file",
            key=key,
        ) from None
    target = getattr(module, function, None)
    if not callable(target):
        raise GraderSpecError(
            f"{path_text!r} has no function {function!r}"
            + ("; define get_assert(output, context) or name one after ':'" if colon else ""),
            key=key,
        )
    return target


def compile_snippet(code: str, key: str) -> Callable[..., Any]:
    """Inline Python as a function of (output, context), as promptfoo runs it: one line is
    an expression whose value is returned, several lines are a function body."""
    text = textwrap.dedent(code).strip("\n")
    one_line = "\n" not in text.strip() and not text.lstrip().startswith("return ")
    body = f"return {text.strip()}" if one_line else text
    source = "def _assertion(output, context):\n" + textwrap.indent(body, "    ")
    try:
        compiled = compile(source, "<python grader value>", "exec")
    except SyntaxError as exc:
        line = f", line {exc.lineno - 1}" if exc.lineno and not one_line else ""
        raise GraderSpecError(
            f"`{key}` is not valid Python ({exc.msg}{line}): {show(code)}", key=key
        ) from None
    namespace: dict[str, Any] = {"json": json, "math": math, "re": re}
    exec(compiled, namespace)  # defines the function only; the user's code runs when graded
    return namespace["_assertion"]


class PromptfooContext(dict):  # type: ignore[type-arg]
    """promptfoo's `context` dict (context['vars'], context['prompt']); `.vars` works too."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def promptfoo_context(ctx: GradeContext, output: str) -> PromptfooContext:
    """The parts of promptfoo's assertion context the harness knows."""
    variables = dict(ctx.vars)
    latency = None if ctx.latency_s is None else round(ctx.latency_s * 1000)
    return PromptfooContext(
        prompt=ctx.prompt_text,
        vars=variables,
        test={"vars": variables, "description": ctx.case_id},
        config={},
        expect=ctx.expect,
        case_id=ctx.case_id,
        providerResponse={
            "output": output,
            "finishReason": ctx.finish_reason,
            "cost": ctx.cost_usd,
            "cached": ctx.cache_hit,
            "latencyMs": latency,
        },
    )


def promptfoo_result(result: Any, threshold: float | None) -> Any:
    """What promptfoo accepts, in the shapes `interpret` reads.

    Strings "true"/"false", numbers and JSON objects are parsed; GradingResult extras
    (named_scores, ...) are dropped; an explicit threshold fails a passing dict whose score
    is below it, as promptfoo does."""
    if isinstance(result, str):
        stripped = result.strip()
        if stripped.lower() in ("true", "false"):
            return stripped.lower() == "true"
        try:
            return json.loads(stripped) if stripped.startswith("{") else float(stripped)
        except ValueError:
            return result  # interpret reports it as unreadable
    if not isinstance(result, Mapping):
        return result
    kept = {k: v for k, v in result.items() if k not in PROMPTFOO_EXTRA_KEYS}
    score, passed = kept.get("score"), kept.get("pass", kept.get("passed"))
    scored = isinstance(score, int | float) and not isinstance(score, bool)
    if threshold is not None and passed is True and scored and score < threshold:
        kept["pass"] = False
        kept.pop("passed", None)
        why = kept.get("reason")
        kept["reason"] = f"score {number(score)} < threshold {number(threshold)}" + (
            f": {why}" if why else ""
        )
    return kept


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
        self.promptfoo = False  # a promptfoo form: promptfoo's context and score rules
        value = options.value
        if options.function is not None:
            self.spec, key = options.function, "function"
            self.function = load_function(self.spec, key)
        elif "value" not in options.model_fields_set:
            raise GraderSpecError(
                "name the function: `value: package.module:function` (or `function:`), "
                "`value: file://check.py`, or inline Python",
                key="value",
            )
        elif isinstance(value, str) and value.startswith(FILE_PREFIX):
            self.spec, self.promptfoo = value, True
            self.function = load_file_function(value, "value")
        elif (
            not isinstance(value, str)
            or _FUNCTION_SPEC.fullmatch(value.strip())
            or (_DOTTED_NAME.fullmatch(value.strip()))
        ):
            self.spec = value
            self.function = load_function(value, "value")
        else:
            self.spec, self.promptfoo = "python code", True
            self.function = compile_snippet(value, "value")
        self.needs_await = inspect.iscoroutinefunction(self.function)
        explicit = "threshold" in options.model_fields_set
        # promptfoo: a bare score passes above 0 unless a threshold is given
        self.threshold: float | None = options.threshold if explicit or not self.promptfoo else None

    def _call(self, text: str, ctx: GradeContext) -> Any:
        if self.promptfoo:
            return self.function(text, promptfoo_context(ctx, text))
        if self.options.function is not None and "value" in self.options.model_fields_set:
            ctx = dataclasses.replace(ctx, expect=self.options.value)  # `value` overrides expect
        return self.function(text, ctx)

    def _interpret(self, result: Any) -> Check:
        if self.promptfoo:
            explicit = "threshold" in self.options.model_fields_set
            result = promptfoo_result(result, self.options.threshold if explicit else None)
        return interpret(result, self.threshold, self.spec)

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
        return self._interpret(result)

    async def acheck(self, text: str, ctx: GradeContext) -> Check:
        try:
            result = self._call(text, ctx)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            return self._raised(exc)
        return self._interpret(result)
