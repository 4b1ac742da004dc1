"""The base of graders whose expected value has a shape to check (promptfoo's types), and
the small pure parsers they share: a value is parsed once when the suite loads, or per
case when it comes from `expect` or is a template rendered with the case's vars."""

from __future__ import annotations

import csv
from typing import Any, ClassVar

from evals.graders.base import (
    NO_EXPECTED,
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    as_text,
    error,
    is_template,
    scalar_list,
    show,
)


class ValueGrader(BaseGrader):
    """A grader whose expected value has a shape to check: `parse` it once per source.

    Subclasses implement `parse(raw) -> parsed value | Failure`. A grader `value` is
    parsed in __init__ (bad shape: GraderSpecError naming `value`); a case `expect` is parsed
    at grading time (bad shape: an error result on that case)."""

    needs_value: ClassVar[bool] = True  # False: `value` is optional and `expect` is never used

    def __init__(self, options: CommonOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        self._parsed: Any = None
        self._has_value = "value" in options.model_fields_set
        self._templated = is_template(options.value)
        if self._has_value and not self._templated:  # a template is parsed once rendered
            parsed = self.parse(options.value)
            if isinstance(parsed, Failure):
                raise GraderSpecError(f"`value`: {parsed.message}", key="value")
            self._parsed = parsed

    def parse(self, raw: Any) -> Any:
        """The expected value in the form `check_parsed` uses, or a Failure saying why not."""
        return raw

    def resolved(self, ctx: GradeContext) -> Any:
        """The parsed grader `value`, else the parsed case `expect`, else a Failure."""
        if self._has_value:
            if self._templated:  # rendered with this case's vars, then parsed
                return self.parse(self.expected(ctx))
            return self._parsed
        if not self.needs_value:  # an optional setting (a schema, ...) is not the case's answer
            return self.parse(None)
        if ctx.expect is None:
            return Failure(NO_EXPECTED)
        return self.parse(ctx.expect)

    def check(self, text: str, ctx: GradeContext) -> Check:
        wanted = self.resolved(ctx)
        if isinstance(wanted, Failure):
            return error(wanted.message)
        return self.check_parsed(text, wanted)

    def check_parsed(self, text: str, wanted: Any) -> Check:
        raise NotImplementedError


class Failure:
    """Why an expected value cannot be used (a value, so parse functions stay pure)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Failure({self.message!r})"


def scalar_text(raw: Any, what: str) -> str | Failure:
    """A string or number as text (promptfoo accepts both); anything else is a Failure."""
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        text = as_text(raw)
        return text if text else Failure(f"{what} must not be empty")
    return Failure(f"{what} must be a string or a number, got {show(raw)}")


def split_commas(text: str) -> list[str]:
    """promptfoo's comma-separated list form ("a, b, \"c, d\""): trimmed, quotes respected."""
    row = next(csv.reader([text], skipinitialspace=True), [])
    return [item.strip() for item in row if item.strip()]


def string_list(raw: Any, what: str) -> list[str] | Failure:
    """A list of substrings, or a comma-separated string of them, as promptfoo accepts."""
    if isinstance(raw, str):
        items = split_commas(raw)
    elif isinstance(raw, list):
        items = scalar_list(raw, what)
        if isinstance(items, str):
            return Failure(items)
    else:
        return Failure(f"{what} must be a list or a comma-separated string, got {show(raw)}")
    return items if items else Failure(f"{what} is empty")
