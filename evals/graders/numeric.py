"""`numeric`: the first number in the output, compared with a tolerance.

Numbers are compared as Decimals, so `1.1` vs `1.0` with tolerance `0.1` passes
(binary floats would make that difference 0.10000000000000009 and fail it).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field

from evals.graders.base import (
    NO_EXPECTED,
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    error,
    fail,
    ok,
    quote,
    show,
)
from evals.graders.registry import register

_SIGN = r"[-+\u2212]"  # \u2212 is the Unicode minus sign some models write
_NUMBER = re.compile(
    rf"(?<![\w.])(?P<sign>{_SIGN})?\s?[$€£¥]?\s?(?P<sign2>{_SIGN})?"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d*)?|\.\d+)"
    r"(?P<exp>[eE][-+]?\d+)?"
)


def parse_first_number(text: str) -> Decimal | None:
    """The first number in `text`: handles `-3`, `1,234.5`, `1e3`, `$12`, `12.`, `.5`."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    negative = (match["sign"] or match["sign2"] or "+") in "-\u2212"
    literal = match["digits"].replace(",", "").rstrip(".") + (match["exp"] or "")
    number = Decimal(literal)
    return -number if negative else number


def _to_decimal(value: Any) -> Decimal | None:
    """An expected value (int, float or numeric string like "1,234" or "$12") as a Decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = Decimal(str(value))  # str() keeps 0.1 as 0.1, not its binary expansion
    elif isinstance(value, str):
        text = value.strip()
        match = _NUMBER.fullmatch(text)
        if match is None:
            return None
        number = parse_first_number(text)
        if number is None:
            return None
    else:
        return None
    return number if number.is_finite() else None


def fmt(number: Decimal | float) -> str:
    """A number as a person would write it: 13, 12.5, 0.01, 1E+30."""
    number = Decimal(str(number)) if isinstance(number, float) else number
    if number == number.to_integral_value() and abs(number) < Decimal(10) ** 15:
        return str(int(number))
    return str(number.normalize())


class NumericOptions(CommonOptions):
    tolerance: float = Field(0.0, ge=0)  # absolute: |got - expected| <= tolerance
    relative_tolerance: float | None = Field(None, ge=0)  # or <= this fraction of |expected|


@register
class NumericGrader(BaseGrader):
    """Passes when the first number in the output is within tolerance of the expected one."""

    base_type = "numeric"
    Options = NumericOptions
    options: NumericOptions

    def _tolerance_note(self) -> str:
        parts = []
        if self.options.tolerance or self.options.relative_tolerance is None:
            parts.append(f"tolerance {fmt(self.options.tolerance)}")
        if self.options.relative_tolerance is not None:
            parts.append(f"relative tolerance {fmt(self.options.relative_tolerance)}")
        return ", ".join(parts)

    def check(self, text: str, ctx: GradeContext) -> Check:
        raw = self.expected(ctx)
        if raw is None:
            return error(NO_EXPECTED)
        expected = _to_decimal(raw)
        if expected is None:
            return error(f"expected value {show(raw)} is not a number")
        try:
            got = parse_first_number(text)
        except InvalidOperation:  # pragma: no cover - the regex only admits valid literals
            got = None
        if got is None:
            return fail(f"no number in output {quote(text)}")
        diff = abs(got - expected)
        allowed = Decimal(str(self.options.tolerance))
        if self.options.relative_tolerance is not None:
            relative = Decimal(str(self.options.relative_tolerance)) * abs(expected)
            allowed = max(allowed, relative)
        summary = f"got {fmt(got)}, expected {fmt(expected)} ({self._tolerance_note()})"
        return ok(summary) if diff <= allowed else fail(summary)
