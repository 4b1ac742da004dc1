"""The grader contract and the behaviour every grader type shares.

Shared here, so each type only writes its own check:
- the common options (`field`, `extract`, `value`, `weight`, `name`) and their validation;
- `field`: grade one value of the output parsed as JSON (`items[0].price`);
- `extract`: grade one regex-captured piece of the output (after `field`) instead of all of it;
- negation (`not-` prefix): invert pass/score, but never turn a grader error into a pass;
- reason formatting: every reason starts with the grader's label, quoted output is truncated;
- one sync path (`grade` -> `check`) and one async path (`agrade` -> `acheck`) sharing all of
  the above, so model-graded types (judge, embeddings) only write `acheck`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from evals.endpoints.logprobs import Logprobs
from evals.graders.fields import PathPart, field_text, get_field, load_json, parse_field_path
from evals.records import GradeResult

QUOTE_LIMIT = 80
NO_EXPECTED = "no expected value: set `expect` on the case or `value` on the grader"


@dataclass(frozen=True)
class JudgeReply:
    """What a judge model answered (text), or why it could not (error)."""

    text: str | None
    error: str | None = None


Judge = Callable[[list[dict[str, Any]], dict[str, Any] | None], Awaitable[JudgeReply]]
"""(messages, response_format) -> reply: a chat call to the runner's judge model,
made through the engine (limits, retries, cache); its cost is booked as grader cost."""

Embedder = Callable[[list[str]], Awaitable[list[list[float]]]]
"""texts -> one vector each, from the runner's embeddings model, through the engine."""


@dataclass(frozen=True)
class GradeContext:
    """What a grader may know about the case besides the output."""

    expect: Any  # the case's `expect` value (any YAML value, may be None)
    vars: Mapping[str, Any]
    case_id: str
    tool_calls: tuple[Mapping[str, Any], ...] = ()  # OpenAI-format calls the model made
    expect_tool_calls: Any = None  # the case's `expect_tool_calls`: [{name, arguments}]
    prompt_text: str = ""  # the last user message sent (the question, for rubrics)
    judge: Judge | None = None  # None: no judge model configured
    embed: Embedder | None = None  # None: no embeddings model configured
    logprobs: Logprobs = ()  # the output's first tokens with their top logprobs, when sent
    # what the response said about itself (graders of latency, cost, finish reason)
    finish_reason: str | None = None
    latency_s: float | None = None  # as first received: a cache replay keeps the original
    cost_usd: float | None = None  # what the answer cost (None: unknown price)
    cache_hit: bool = False
    offered_tools: tuple[Mapping[str, Any], ...] = ()  # the request's `tools`


@runtime_checkable
class Grader(Protocol):
    """Anything that turns one model output into a GradeResult."""

    type_name: str  # e.g. "exact" or "not-contains"

    def grade(self, output: str, ctx: GradeContext) -> GradeResult: ...

    async def agrade(self, output: str, ctx: GradeContext) -> GradeResult: ...


class GraderSpecError(ValueError):
    """Bad grader spec; message says what to fix. `key` names the offending key if any."""

    def __init__(self, message: str, key: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.key = key  # may be a nested path inside a group: "graders[1].tolerance"
        self.line = line  # set when known better than the spec's own line (nested specs)


class CommonOptions(BaseModel):
    """Options every grader type accepts; a type subclasses this to add its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = None  # JSON path like `items[0].price`: grade that value of the output
    extract: str | None = None  # regex; first group (or whole match) is graded
    value: Any = None  # overrides the case's `expect` (only when given)
    weight: float = Field(1.0, ge=0)  # in the case's weighted score; 0: reported, not counted
    name: str | None = None  # label used in reasons instead of the type name
    threshold: float | None = None  # types without their own: pass when score >= threshold
    metric: str | None = None  # a named score the summary and report aggregate per row


class ValueTemplateError(ValueError):
    """A grader's templated `value` could not be rendered with the case's vars."""


def is_template(value: Any) -> bool:
    """A string holding jinja2 markup: rendered with each case's vars before use."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render_value(value: Any, vars_: Mapping[str, Any]) -> Any:
    """`value` with a template string rendered (sandboxed, undefined variables an error)."""
    if not is_template(value):
        return value
    import jinja2

    try:
        return _value_template(value).render(**vars_)
    except jinja2.TemplateError as exc:
        raise ValueTemplateError(f"`value` template {quote(value)}: {exc}") from None


def template_variables(value: Any) -> frozenset[str]:
    """The case vars a templated `value` needs (none for a plain value)."""
    return _template_variables(value) if is_template(value) else frozenset()


@functools.lru_cache(maxsize=256)
def _template_variables(value: str) -> frozenset[str]:
    """Parsed once per value, however many cases `evals validate` checks it against."""
    from jinja2 import meta
    from jinja2.sandbox import SandboxedEnvironment

    try:
        return frozenset(meta.find_undeclared_variables(SandboxedEnvironment().parse(value)))
    except Exception:  # a syntax error shows when the value is rendered, with its message
        return frozenset()


@functools.lru_cache(maxsize=256)
def _value_template(text: str) -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False).from_string(text)


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """repr()-style quote of `text`, cut to about `limit` characters so reasons stay readable."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


def show(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """repr() of any value, cut to about `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_text(value: Any) -> str:
    """A YAML scalar as the text a model would write (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def scalar_list(expected: Any, what: str) -> list[str] | str:
    """`expected` as a list of strings, or an error message when it has the wrong shape."""
    items = expected if isinstance(expected, list) else [expected]
    for item in items:
        if isinstance(item, dict | list) or item is None:
            return f"{what} must be a string or a list of strings, got {show(expected)}"
    return [as_text(item) for item in items]


def number(x: float) -> str:
    """A score as people read it: 0.25, 0.2, 1, 0.333."""
    return f"{x:.3f}".rstrip("0").rstrip(".") if x == x else "nan"


def compile_regex(pattern: Any, key: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a regex from a spec, or raise GraderSpecError naming `key`."""
    if not isinstance(pattern, str):
        raise GraderSpecError(
            f"`{key}` must be a regex string, got {type(pattern).__name__}", key=key
        )
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise GraderSpecError(
            f"`{key}` is not a valid regex ({exc}): /{pattern}/", key=key
        ) from exc


@dataclass(frozen=True)
class Check:
    """What a type's own `check` found: its verdict, before labelling and negation.

    `BaseGrader` turns it into the GradeResult users see (label, negation, score)."""

    passed: bool
    reason: str
    error: bool = False
    score: float | None = None  # None: 1.0 when passed, else 0.0 (for partial-credit types)
    brier: float | None = None  # when the verdict came with a probability per outcome


def ok(reason: str) -> Check:
    return Check(True, reason)


def fail(reason: str) -> Check:
    return Check(False, reason)


def error(reason: str) -> Check:
    return Check(False, reason, error=True)


class BaseGrader:
    """Common machinery; subclasses set `base_type`, `Options` and implement `check`
    (or `acheck`, when grading needs to await a judge or an embeddings model)."""

    base_type: ClassVar[str]
    Options: ClassVar[type[CommonOptions]] = CommonOptions
    needs_await: bool = False  # True: grading awaits a model or a user coroutine
    grades: ClassVar[str | None] = None  # what a type grades instead of the text, if not it

    def __init__(self, options: CommonOptions, *, negated: bool = False) -> None:
        self.options = options
        self.negated = negated
        self.type_name = ("not-" if negated else "") + self.base_type
        if self.grades is not None:  # `field` and `extract` select text, which it ignores
            for key in ("field", "extract"):
                if getattr(options, key) is not None:
                    raise GraderSpecError(
                        f"{self.base_type} grades {self.grades}, not its text; remove `{key}`",
                        key=key,
                    )
        self.weight = options.weight
        self.name = options.name
        self.metric = options.metric
        # a type with its own `threshold` option (a default, not None) applies it in its check
        own = type(options).model_fields["threshold"].default is not None
        self._generic_threshold = None if own else options.threshold
        self._extract = (
            compile_regex(options.extract, "extract") if options.extract is not None else None
        )
        self._field: tuple[PathPart, ...] | None = None
        if options.field is not None:
            try:
                self._field = parse_field_path(options.field)
            except ValueError as exc:
                raise GraderSpecError(f"`field`: {exc}", key="field") from None

    @property
    def label(self) -> str:
        """What reasons start with: the user's `name`, else the type (and field, if any)."""
        if self.name:
            return self.name
        return f"{self.type_name} at {self.options.field}" if self._field else self.type_name

    def expected(self, ctx: GradeContext) -> Any:
        """The grader's `value` if given, else the case's `expect`.

        A `value` written as a template (`"Describes {{ topic }}"`) is rendered with the
        case's vars, as promptfoo renders assertion values; the case's `expect` is data and
        is never rendered."""
        if "value" in self.options.model_fields_set:
            return render_value(self.options.value, ctx.vars)
        return ctx.expect

    def check(self, text: str, ctx: GradeContext) -> Check:
        """The type's own check of `text` (already field-selected and extracted); no negation."""
        raise NotImplementedError

    async def acheck(self, text: str, ctx: GradeContext) -> Check:
        """The async form of `check`; types that await a model override this instead."""
        return self.check(text, ctx)

    def _select(self, output: str) -> str | GradeResult:
        """Apply `field`, then `extract`: the text to check, or the failure saying why not.

        A miss is not inverted under negation: with nothing selected there is nothing to
        assert on, so `not-contains` on a missing field fails rather than passes.
        """
        text = output
        if self._field is not None:
            where = "field" if self.name is None else f"field {self.options.field}"
            try:
                text = field_text(get_field(load_json(output), self._field))
            except json.JSONDecodeError as exc:
                reason = f"output is not valid JSON, cannot read {where} ({exc}): {quote(output)}"
                return GradeResult(False, 0.0, f"{self.label}: {reason}")
            except LookupError as exc:
                reason = f"{where} not found: {exc.args[0]}"
                return GradeResult(False, 0.0, f"{self.label}: {reason}")
        if self._extract is not None:
            match = self._extract.search(text)
            if match is None:
                return GradeResult(
                    False,
                    0.0,
                    f"{self.label}: extract pattern /{self._extract.pattern}/ did not match "
                    f"{'field' if self._field else 'output'} {quote(text)}",
                )
            text = (match.group(1) if self._extract.groups else match.group(0)) or ""
        return text

    def _finish(self, found: Check) -> GradeResult:
        """Label what the check found, apply a generic `threshold`, then negation (never to
        an error)."""
        if found.error:
            return GradeResult(False, 0.0, f"{self.label}: {found.reason}", error=True)
        score = found.score if found.score is not None else float(found.passed)
        if self._generic_threshold is not None:
            passed = score >= self._generic_threshold
            reason = found.reason
            if found.score is not None:  # partial credit: say where the bar was
                sign = "≥" if passed else "<"
                reason += f" (score {number(score)} {sign} {number(self._generic_threshold)})"
            found = Check(passed, reason, score=found.score, brier=found.brier)
        if self.negated:
            reason = f"{self.label}: {found.reason} (negated)"
            return GradeResult(not found.passed, 1.0 - score, reason, brier=found.brier)
        return GradeResult(found.passed, score, f"{self.label}: {found.reason}", brier=found.brier)

    def grade(self, output: str, ctx: GradeContext) -> GradeResult:
        text = self._select(output)
        if isinstance(text, GradeResult):
            return text
        try:
            found = self.check(text, ctx)
        except ValueTemplateError as exc:
            found = error(str(exc))
        except Exception as exc:  # a grader bug must not kill the run; report it as an error
            found = crashed(exc)
        return self._finish(found)

    async def agrade(self, output: str, ctx: GradeContext) -> GradeResult:
        text = self._select(output)
        if isinstance(text, GradeResult):
            return text
        try:
            found = await self.acheck(text, ctx)
        except ValueTemplateError as exc:
            found = error(str(exc))
        except Exception as exc:  # as in grade(): an error result, never a crash
            found = crashed(exc)
        return self._finish(found)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type_name}>"


class AsyncOnlyGrader(BaseGrader):
    """A type that must await a model: implements `acheck`; the sync path says so."""

    needs_await = True

    def check(self, text: str, ctx: GradeContext) -> Check:
        return error("needs async grading (agrade / grade_all_async): it awaits a model")


def crashed(exc: BaseException) -> Check:
    """The error Check for a grader (or user function) that raised."""
    return error(f"grader crashed: {type(exc).__name__}: {exc}")
