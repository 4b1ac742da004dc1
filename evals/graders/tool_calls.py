"""`tool_calls`: did the model call the expected functions with the expected arguments?

Expected calls come from `value`, else the case's `expect_tool_calls`, else its `expect`:
a list of `{name, arguments}`; `arguments` left out means "any" (`{}`: no arguments).
Parallel calls are paired by an optimal assignment (Hungarian method), not greedily, so
order never matters unless `order: strict`, and two calls to one function pair up with the
closest candidates. Values compare "sensibly": 1 == 1.0 == "1", strings trimmed and
case-insensitive unless `case_sensitive`, objects and lists recursively.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from evals.graders.base import (
    NO_EXPECTED,
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    fail,
    ok,
    quote,
    show,
)
from evals.graders.registry import register

MISSING = 10**6  # cost of leaving an expected call unpaired (or pairing different names)
IMPERFECT = 1000  # cost of pairing same-name calls whose arguments differ (+1 per problem)


@dataclass(frozen=True)
class Call:
    name: str
    arguments: Any  # expected: a dict or None ("don't check"); actual: the parsed JSON


class ToolCallsOptions(CommonOptions):
    match: Literal["subset", "exact"] = "subset"  # subset: extra argument keys allowed
    order: Literal["any", "strict"] = "any"
    allow_extra_calls: bool = False
    case_sensitive: bool = False


def parse_expected(value: Any) -> list[Call] | str:
    """Expected calls from a spec or case, or a message saying what is wrong with them."""
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, list):
        return f"expected tool calls must be a list of {{name, arguments}}, got {show(value)}"
    calls = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            return f"expected call {number} must be a mapping {{name, arguments}}, got {show(item)}"
        unknown = sorted(set(item) - {"name", "arguments"})
        if unknown:
            return f"expected call {number} has unknown key(s) {unknown}; use name and arguments"
        name, arguments = item.get("name"), item.get("arguments")
        if not isinstance(name, str) or not name:
            return f"expected call {number} needs a function `name`, got {show(name)}"
        if arguments is not None and not isinstance(arguments, Mapping):
            return f"expected call {number} ({name}): `arguments` must be a mapping"
        calls.append(Call(name, dict(arguments) if arguments is not None else None))
    return calls


def parse_actual(calls: tuple[Mapping[str, Any], ...]) -> list[Call] | str:
    """The model's calls (OpenAI format, `arguments` a JSON string) or why one is unreadable."""
    parsed = []
    for number, call in enumerate(calls, 1):
        function = call.get("function", call) if isinstance(call, Mapping) else {}
        name = str(function.get("name") or "")
        raw = function.get("arguments")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            arguments: Any = {}
        elif isinstance(raw, str):
            try:
                arguments = json.loads(raw)
            except json.JSONDecodeError as exc:
                return f"call {number} {name}: arguments are not valid JSON ({exc}): {quote(raw)}"
        else:
            arguments = raw
        parsed.append(Call(name, arguments))
    return parsed


def _fmt(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in ("true", "false"):
        return value.strip().casefold() == "true"
    return None


def same_scalar(got: Any, want: Any, case_sensitive: bool = False) -> bool:
    """Sensible equality: 1 == 1.0 == "1", " Paris " == "paris", True == "true"."""
    if got is None or want is None:
        return got is None and want is None
    if isinstance(got, bool) or isinstance(want, bool):
        return _boolean(got) is not None and _boolean(got) == _boolean(want)
    if isinstance(got, int | float) or isinstance(want, int | float):
        a, b = _number(got), _number(want)
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(got, str) and isinstance(want, str):
        a, b = got.strip(), want.strip()
        return a == b if case_sensitive else a.casefold() == b.casefold()
    return bool(got == want)


def compare(got: Any, want: Any, path: str, *, exact: bool, case_sensitive: bool) -> list[str]:
    """What differs between an actual and an expected argument value, one sentence each."""
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        problems = []
        for key, wanted in want.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in got:
                problems.append(f"argument {where!r} is missing, expected {_fmt(wanted)}")
            else:
                problems += compare(
                    got[key], wanted, where, exact=exact, case_sensitive=case_sensitive
                )
        if exact:
            for key in got:
                if key not in want:
                    where = f"{path}.{key}" if path else str(key)
                    problems.append(f"unexpected argument {where!r} = {_fmt(got[key])}")
        return problems
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        problems = []
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            problems += compare(
                g, w, f"{path}[{index}]", exact=exact, case_sensitive=case_sensitive
            )
        return problems
    scalars = not isinstance(want, Mapping | list) and not isinstance(got, Mapping | list)
    if scalars and same_scalar(got, want, case_sensitive):
        return []
    if not path:
        return [f"arguments are {_fmt(got)}, expected {_fmt(want)}"]
    return [f"argument {path!r} is {_fmt(got)}, expected {_fmt(want)}"]


def assign(cost: list[list[int]]) -> list[int]:
    """Minimum-cost assignment of rows to distinct columns (Hungarian method, rows <= cols)."""
    n, m = len(cost), len(cost[0]) if cost else 0
    u, v, owner, way = [0] * (n + 1), [0] * (m + 1), [0] * (m + 1), [0] * (m + 1)
    for row in range(1, n + 1):
        owner[0], col0 = row, 0
        slack, used = [math.inf] * (m + 1), [False] * (m + 1)
        while owner[col0]:
            used[col0], r0, delta, col1 = True, owner[col0], math.inf, 0
            for col in range(1, m + 1):
                if not used[col]:
                    reduced = cost[r0 - 1][col - 1] - u[r0] - v[col]
                    if reduced < slack[col]:
                        slack[col], way[col] = reduced, col0
                    if slack[col] < delta:
                        delta, col1 = slack[col], col
            for col in range(m + 1):
                if used[col]:
                    u[owner[col]] += delta
                    v[col] -= delta
                else:
                    slack[col] -= delta
            col0 = col1
        while col0:
            col1 = way[col0]
            owner[col0], col0 = owner[col1], col1
    result = [-1] * n
    for col in range(1, m + 1):
        if owner[col]:
            result[owner[col] - 1] = col - 1
    return result


class ExpectsToolCalls(BaseGrader):
    """A grader of the model's tool calls: what it expects is `value`, else the case's
    `expect_tool_calls`, else its `expect`."""

    grades = "the model's tool calls"

    def expected(self, ctx: GradeContext) -> Any:
        if "value" in self.options.model_fields_set:
            return self.options.value
        return ctx.expect_tool_calls if ctx.expect_tool_calls is not None else ctx.expect


@register
class ToolCallsGrader(ExpectsToolCalls):
    """Grades `ctx.tool_calls` (not the text) against the expected calls."""

    base_type = "tool_calls"
    Options = ToolCallsOptions
    options: ToolCallsOptions

    def __init__(self, options: ToolCallsOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        if "value" in options.model_fields_set:
            checked = parse_expected(options.value)
            if isinstance(checked, str):
                raise GraderSpecError(f"`value`: {checked}", key="value")

    def _problems(self, got: Call, want: Call) -> list[str]:
        if got.name != want.name:
            return [f"is {got.name}, expected {want.name}"]
        if want.arguments is None:
            return []
        exact = self.options.match == "exact"
        cs = self.options.case_sensitive
        return compare(got.arguments, want.arguments, "", exact=exact, case_sensitive=cs)

    def check(self, text: str, ctx: GradeContext) -> Check:
        raw = self.expected(ctx)
        if raw is None:
            return Check(False, NO_EXPECTED, error=True)
        expected = parse_expected(raw)
        if isinstance(expected, str):
            return Check(False, expected, error=True)
        actual = parse_actual(ctx.tool_calls)
        if isinstance(actual, str):
            return fail(actual)
        if not actual and expected:
            said = f"; the model replied {quote(text.strip())}" if text.strip() else ""
            return fail(f"no tool calls made, expected {_names(expected)}{said}")
        problems = [[self._problems(a, e) for a in actual] for e in expected]
        costs = [  # one dummy column per expected call, so "missing" is always an option
            [_cost(a, e, p) for a, p in zip(actual, row, strict=True)] + [MISSING] * len(expected)
            for e, row in zip(expected, problems, strict=True)
        ]
        pairs = assign(costs) if expected else []
        reasons, matched, used = [], 0, set()
        for i, j in enumerate(pairs):
            want = expected[i]
            if j < len(actual) and costs[i][j] < MISSING:
                used.add(j)
                if costs[i][j] == 0:
                    matched += 1
                    continue
                reasons.append(f"call {j + 1} {want.name}: {', '.join(problems[i][j])}")
            else:
                reasons.append(f"missing call {_describe(want, expected)}")
        extras = [call for j, call in enumerate(actual) if j not in used]
        if not self.options.allow_extra_calls:
            reasons += [f"unexpected extra call {call.name}" for call in extras]
        if reasons:
            counted = len(expected) + (0 if self.options.allow_extra_calls else len(extras))
            return Check(False, "; ".join(reasons), score=matched / max(counted, 1))
        if self.options.order == "strict" and not self._in_order(expected, actual, problems):
            got = ", ".join(call.name for call in actual)
            return fail(f"calls out of order: expected {_names(expected)}; got {got}")
        if not expected:
            return ok("no tool calls made, as expected")
        note = f" (and {len(extras)} extra)" if extras else ""
        return ok(f"expected calls made: {_names(expected)}{note}")

    @staticmethod
    def _in_order(
        expected: list[Call], actual: list[Call], problems: list[list[list[str]]]
    ) -> bool:
        """Expected calls appear in order among the actual ones (greedy earliest is optimal)."""
        position = 0
        for i in range(len(expected)):
            while position < len(actual) and problems[i][position]:
                position += 1
            if position == len(actual):
                return False
            position += 1
        return True


def _cost(got: Call, want: Call, problems: list[str]) -> int:
    """0 for a perfect pair; same-name pairs cost more per wrong argument; others = missing."""
    if not problems:
        return 0
    return IMPERFECT + min(len(problems), 999) if got.name == want.name else MISSING


def _names(calls: list[Call]) -> str:
    return ", ".join(call.name for call in calls)


def _describe(call: Call, expected: list[Call]) -> str:
    """The name, with arguments when the name alone is ambiguous (called more than once)."""
    if call.arguments is None or sum(c.name == call.name for c in expected) < 2:
        return call.name
    return f"{call.name}({', '.join(f'{k}={_fmt(v)}' for k, v in call.arguments.items())})"
