"""The grader contract and the behaviour every grader type shares.

Shared here, so each type only writes its own check:
- the common options (`extract`, `value`, `weight`, `name`) and their validation;
- `extract`: grade one regex-captured piece of the output instead of all of it;
- negation (`not-` prefix): invert pass/score, but never turn a grader error into a pass;
- reason formatting: every reason starts with the grader's label, quoted output is truncated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from evals.records import GradeResult

QUOTE_LIMIT = 80
NO_EXPECTED = "no expected value: set `expect` on the case or `value` on the grader"


@dataclass(frozen=True)
class GradeContext:
    """What a grader may know about the case besides the output."""

    expect: Any  # the case's `expect` value (any YAML value, may be None)
    vars: Mapping[str, Any]
    case_id: str


@runtime_checkable
class Grader(Protocol):
    """Anything that turns one model output into a GradeResult."""

    type_name: str  # e.g. "exact" or "not-contains"

    def grade(self, output: str, ctx: GradeContext) -> GradeResult: ...


class GraderSpecError(ValueError):
    """Bad grader spec; message says what to fix. `key` names the offending key if any."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class CommonOptions(BaseModel):
    """Options every grader type accepts; a type subclasses this to add its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    extract: str | None = None  # regex; first group (or whole match) is graded
    value: Any = None  # overrides the case's `expect` (only when given)
    weight: float = Field(1.0, ge=0)  # stored for reports; combine() does not weight
    name: str | None = None  # label used in reasons instead of the type name


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
class Outcome:
    """A type's own verdict, before labelling and negation."""

    passed: bool
    reason: str
    error: bool = False
    score: float | None = None  # None: 1.0 when passed, else 0.0 (for partial-credit types)


def ok(reason: str) -> Outcome:
    return Outcome(True, reason)


def fail(reason: str) -> Outcome:
    return Outcome(False, reason)


def error(reason: str) -> Outcome:
    return Outcome(False, reason, error=True)


class BaseGrader:
    """Common machinery; subclasses set `base_type`, `Options` and implement `check`."""

    base_type: ClassVar[str]
    Options: ClassVar[type[CommonOptions]] = CommonOptions

    def __init__(self, options: CommonOptions, *, negated: bool = False) -> None:
        self.options = options
        self.negated = negated
        self.type_name = ("not-" if negated else "") + self.base_type
        self.weight = options.weight
        self.name = options.name
        self._extract = (
            compile_regex(options.extract, "extract") if options.extract is not None else None
        )

    @property
    def label(self) -> str:
        """What reasons start with: the user's `name`, else the type."""
        return self.name or self.type_name

    def expected(self, ctx: GradeContext) -> Any:
        """The grader's `value` if given, else the case's `expect`."""
        if "value" in self.options.model_fields_set:
            return self.options.value
        return ctx.expect

    def check(self, text: str, ctx: GradeContext) -> Outcome:
        """The type's own check of `text` (already extracted); no negation here."""
        raise NotImplementedError

    def grade(self, output: str, ctx: GradeContext) -> GradeResult:
        text = output
        if self._extract is not None:
            match = self._extract.search(output)
            if match is None:
                # Not inverted under negation: with nothing extracted there is nothing to assert on.
                return GradeResult(
                    False,
                    0.0,
                    f"{self.label}: extract pattern /{self._extract.pattern}/ did not match "
                    f"output {quote(output)}",
                )
            text = (match.group(1) if self._extract.groups else match.group(0)) or ""
        try:
            outcome = self.check(text, ctx)
        except Exception as exc:  # a grader bug must not kill the run; report it as an error
            outcome = error(f"grader crashed: {type(exc).__name__}: {exc}")
        if outcome.error:
            return GradeResult(False, 0.0, f"{self.label}: {outcome.reason}", error=True)
        score = outcome.score if outcome.score is not None else float(outcome.passed)
        if self.negated:
            reason = f"{self.label}: {outcome.reason} (negated)"
            return GradeResult(not outcome.passed, 1.0 - score, reason)
        return GradeResult(outcome.passed, score, f"{self.label}: {outcome.reason}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type_name}>"
