"""String graders: `exact`, `contains`, `regex`.

Expected values are YAML scalars turned into the text a model would write
(`12` -> "12", `true` -> "true"), so a suite author need not quote numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import field_validator

from evals.graders.base import (
    NO_EXPECTED,
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    compile_regex,
    error,
    fail,
    ok,
    quote,
    scalar_list,
    show,
)
from evals.graders.registry import register


def _join(items: list[str]) -> str:
    return ", ".join(quote(item) for item in items)


class ExactOptions(CommonOptions):
    ignore_case: bool = False
    trim: bool = True  # strip surrounding whitespace from output and expected


@register
class ExactGrader(BaseGrader):
    """Output equals the expected text; a list of expected values means "any of these"."""

    base_type = "exact"
    Options = ExactOptions
    options: ExactOptions

    def _norm(self, text: str) -> str:
        if self.options.trim:
            text = text.strip()
        return text.casefold() if self.options.ignore_case else text

    def check(self, text: str, ctx: GradeContext) -> Check:
        expected = self.expected(ctx)
        if expected is None:
            return error(NO_EXPECTED)
        wanted = scalar_list(expected, "expected value")
        if isinstance(wanted, str):
            return error(wanted)
        got = self._norm(text)
        for candidate in wanted:
            if got == self._norm(candidate):
                return ok(f"output equals {quote(candidate)}")
        target = quote(wanted[0]) if len(wanted) == 1 else f"one of {_join(wanted)}"
        return fail(f"expected {target}, got {quote(text.strip() if self.options.trim else text)}")


class ContainsOptions(CommonOptions):
    mode: Literal["any", "all"] | None = None  # default: all; `any` when negated
    ignore_case: bool = False


@register
class ContainsGrader(BaseGrader):
    """Output contains the expected substring(s).

    `mode` defaults to `all`, except under `not-contains`, where it defaults to `any`:
    `not-contains: [a, b]` then means "contains neither", which is what people mean.
    """

    base_type = "contains"
    Options = ContainsOptions
    options: ContainsOptions

    def __init__(self, options: ContainsOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        self.mode = options.mode or ("any" if negated else "all")

    def check(self, text: str, ctx: GradeContext) -> Check:
        expected = self.expected(ctx)
        if expected is None:
            return error(NO_EXPECTED)
        wanted = scalar_list(expected, "expected substrings")
        if isinstance(wanted, str):
            return error(wanted)
        if not wanted:
            return error("expected substrings list is empty")
        haystack = text.casefold() if self.options.ignore_case else text
        found = [w for w in wanted if (w.casefold() if self.options.ignore_case else w) in haystack]
        missing = [w for w in wanted if w not in found]
        if self.mode == "any":
            if found:
                return ok(f"output contains {_join(found[:1])}")
            if len(wanted) == 1:
                return fail(f"output does not contain {quote(wanted[0])}: {quote(text)}")
            return fail(f"output contains none of {_join(wanted)}: {quote(text)}")
        if not missing:
            return ok(f"output contains {_join(wanted)}")
        return fail(f"output is missing {_join(missing)}: {quote(text)}")


_FLAG_BITS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


class RegexOptions(CommonOptions):
    flags: str = ""  # any of "i" (ignore case), "m" (multiline), "s" (dot matches newline)
    fullmatch: bool = False  # the whole (stripped) output must match, not just a part

    @field_validator("flags", mode="before")
    @classmethod
    def _flags(cls, value: Any) -> Any:
        if isinstance(value, list):
            value = "".join(str(v) for v in value)
        if isinstance(value, str):
            bad = sorted(set(value) - set(_FLAG_BITS))
            if bad:
                raise ValueError(f"unknown flag(s) {', '.join(map(repr, bad))}; use i, m, s")
        return value


@lru_cache(maxsize=1024)
def _compile_case_pattern(pattern: str, flags: int) -> re.Pattern[str] | str:
    """Compile a pattern that came from case data; an invalid one is a message, not a raise."""
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        return f"expected pattern is not a valid regex ({exc}): /{pattern}/"


@register
class RegexGrader(BaseGrader):
    """Output matches a regex (`value`, else the case's `expect`).

    A bad `value` is caught when the suite loads; a bad pattern in case data is a
    grading error on that case only, so one typo does not abort a whole run.
    """

    base_type = "regex"
    Options = RegexOptions
    options: RegexOptions

    def __init__(self, options: RegexOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        self._flags = 0
        for flag in options.flags:
            self._flags |= _FLAG_BITS[flag]
        self._pattern: re.Pattern[str] | None = None
        if "value" in options.model_fields_set:
            self._pattern = compile_regex(options.value, "value", self._flags)

    def check(self, text: str, ctx: GradeContext) -> Check:
        pattern = self._pattern
        if pattern is None:
            if ctx.expect is None:
                return error("no pattern: set `expect` on the case or `value` on the grader")
            if not isinstance(ctx.expect, str):
                return error(f"expected pattern must be a string, got {show(ctx.expect)}")
            compiled = _compile_case_pattern(ctx.expect, self._flags)
            if isinstance(compiled, str):
                return error(compiled)
            pattern = compiled
        if self.options.fullmatch:
            if pattern.fullmatch(text.strip()):
                return ok(f"output fully matches /{pattern.pattern}/")
            return fail(f"output does not fully match /{pattern.pattern}/: {quote(text)}")
        match = pattern.search(text)
        if match:
            return ok(f"output matches /{pattern.pattern}/ at {quote(match.group(0))}")
        return fail(f"output does not match /{pattern.pattern}/: {quote(text)}")
