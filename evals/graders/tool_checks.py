"""promptfoo's tool-call assertions: `is-valid-openai-tools-call` and `tool-call-f1`.

Both grade the model's tool calls (`ctx.tool_calls`, OpenAI format), not its text:
- `is-valid-openai-tools-call`: every call names an offered tool and its arguments are JSON
  that validates against that tool's `parameters` schema. The offered tools are the grader's
  `value` (a list of OpenAI tools) if given, else the request's `tools` (the suite's, as
  promptfoo takes them from the provider config); with neither, only the shape is checked.
- `tool-call-f1`: F1 between the set of expected tool names and the set of called names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError
from pydantic import Field

from evals.graders.base import (
    NO_EXPECTED,
    Check,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    error,
    fail,
    number,
    ok,
    quote,
    show,
)
from evals.graders.registry import register
from evals.graders.tool_calls import ExpectsToolCalls

MAX_SCHEMA_PROBLEMS = 3  # schema errors listed per call; more are counted, not listed


class _ToolCallGrader(ExpectsToolCalls):
    """Grades ctx.tool_calls, so `field` and `extract` (which select text) make no sense."""


def call_name_and_arguments(call: Any) -> tuple[str, Any]:
    """(name, raw arguments) of one OpenAI-format call; a bare {name, arguments} works too."""
    if not isinstance(call, Mapping):
        return "", None
    function = call.get("function", call)
    if not isinstance(function, Mapping):
        return "", None
    name = function.get("name")
    return (name if isinstance(name, str) else ""), function.get("arguments")


# --- is-valid-openai-tools-call -----------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-valid-openai-tools-call


def parse_tools(value: Any) -> dict[str, dict[str, Any]]:
    """Offered tools as {name: parameters schema}; GraderSpecError says what is wrong.

    Accepts OpenAI tools ({type: function, function: {name, parameters}}) and bare function
    definitions ({name, parameters}); a tool without `parameters` takes no arguments."""
    if not isinstance(value, list) or not value:
        raise GraderSpecError(
            "`value` must be the list of tools offered to the model "
            f"([{{type: function, function: {{name, parameters}}}}]), got {show(value)}",
            key="value",
        )
    tools: dict[str, dict[str, Any]] = {}
    for index, tool in enumerate(value, 1):
        function = tool.get("function", tool) if isinstance(tool, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(name, str) or not name:
            raise GraderSpecError(
                f"`value` tool {index} needs `function.name`, got {show(tool)}", key="value"
            )
        schema = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(schema, Mapping):
            raise GraderSpecError(
                f"`value` tool {name}: `parameters` must be a JSON schema object", key="value"
            )
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            raise GraderSpecError(
                f"`value` tool {name}: `parameters` is not a valid JSON schema: {exc.message}",
                key="value",
            ) from None
        tools[name] = dict(schema)
    return tools


def schema_problems(arguments: Any, schema: Mapping[str, Any]) -> list[str]:
    """Where `arguments` break `schema`, one short sentence each (path first)."""
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft7Validator)
    problems = []
    for problem in sorted(validator_class(schema).iter_errors(arguments), key=str):
        where = "/".join(str(part) for part in problem.absolute_path)
        problems.append(f"{where}: {problem.message}" if where else problem.message)
    return problems


def call_problems(index: int, call: Any, tools: dict[str, dict[str, Any]] | None) -> list[str]:
    """What is wrong with one call (empty: valid); without `tools`, only its shape counts."""
    name, raw = call_name_and_arguments(call)
    label = f"call {index} {name}" if name else f"call {index}"
    if not name:
        return [f"{label} has no function name: {show(call)}"]
    if tools is not None and name not in tools:
        return [f"{label}: no offered tool has that name (offered: {', '.join(tools)})"]
    if isinstance(raw, str):
        try:
            arguments = json.loads(raw)
        except json.JSONDecodeError as exc:
            return [f"{label}: arguments are not valid JSON ({exc.msg}): {quote(raw)}"]
    else:
        arguments = raw
    if not isinstance(arguments, dict):
        return [f"{label}: arguments must be a JSON object, got {show(arguments)}"]
    if tools is None:
        return []
    problems = schema_problems(arguments, tools[name])
    if not problems:
        return []
    listed = "; ".join(problems[:MAX_SCHEMA_PROBLEMS])
    more = len(problems) - MAX_SCHEMA_PROBLEMS
    suffix = f" (and {more} more)" if more > 0 else ""
    return [f"{label}: arguments do not match the schema: {listed}{suffix}"]


@register
class ValidOpenAIToolsCallGrader(_ToolCallGrader):
    """Passes when the model made tool calls and each is valid against the offered tools."""

    base_type = "is-valid-openai-tools-call"

    def __init__(self, options: CommonOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        given = "value" in options.model_fields_set and options.value is not None
        self.tools = parse_tools(options.value) if given else None

    def check(self, text: str, ctx: GradeContext) -> Check:
        if not ctx.tool_calls:
            said = f"; the model replied {quote(text.strip())}" if text.strip() else ""
            return fail(f"no tool calls made{said}")
        tools = self.tools
        if tools is None and ctx.offered_tools:
            try:
                tools = parse_tools(list(ctx.offered_tools))
            except GraderSpecError as exc:
                return error(f"the request's tools cannot be read: {exc}")
        problems = [
            problem
            for index, call in enumerate(ctx.tool_calls, 1)
            for problem in call_problems(index, call, tools)
        ]
        if problems:
            return fail("; ".join(problems))
        names = ", ".join(call_name_and_arguments(call)[0] for call in ctx.tool_calls)
        if tools is None:
            return ok(
                f"{len(ctx.tool_calls)} well-formed tool call(s): {names} (structure only: "
                "no tools offered in the request or in `value`)"
            )
        return ok(f"{len(ctx.tool_calls)} tool call(s) valid against the offered tools: {names}")


# --- tool-call-f1 -------------------------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#tool-call-f1


class ToolCallF1Options(CommonOptions):
    threshold: float = Field(1.0, ge=0, le=1)  # promptfoo's default: the exact set of tools


def expected_names(value: Any) -> list[str] | str:
    """Expected tool names from a list, a comma-separated string or [{name, ...}] calls;
    a str result is the message saying what is wrong."""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list):
        items = [item.get("name") if isinstance(item, Mapping) else item for item in value]
    else:
        return f"expected tool names must be a list or a comma-separated string, got {show(value)}"
    if any(not isinstance(item, str | int | float) or isinstance(item, bool) for item in items):
        return f"expected tool names must be strings, got {show(value)}"
    names = [str(item).strip() for item in items if str(item).strip()]
    return names or f"expected at least one tool name, got {show(value)}"


def f1(expected: set[str], actual: set[str]) -> tuple[float, float, float]:
    """(precision, recall, F1) of the called set against the expected set (0 when empty)."""
    hits = len(expected & actual)
    precision = hits / len(actual) if actual else 0.0
    recall = hits / len(expected) if expected else 0.0
    total = precision + recall
    return precision, recall, (2 * precision * recall / total if total else 0.0)


@register
class ToolCallF1Grader(_ToolCallGrader):
    """Score = F1 of called vs expected tool names (sets: order and repeats do not count)."""

    base_type = "tool-call-f1"
    Options = ToolCallF1Options
    options: ToolCallF1Options

    def __init__(self, options: ToolCallF1Options, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        if "value" in options.model_fields_set:
            names = expected_names(options.value)
            if isinstance(names, str):
                raise GraderSpecError(f"`value`: {names}", key="value")

    def check(self, text: str, ctx: GradeContext) -> Check:
        raw = self.expected(ctx)
        if raw is None:
            return error(NO_EXPECTED)
        names = expected_names(raw)
        if isinstance(names, str):
            return error(names)
        expected = set(names)
        actual = {name for name, _ in map(call_name_and_arguments, ctx.tool_calls) if name}
        precision, recall, score = f1(expected, actual)
        threshold = self.options.threshold
        sign = "≥" if score >= threshold else "<"
        called = ", ".join(sorted(actual)) or "(none)"
        reason = (
            f"F1 {number(score)} {sign} {number(threshold)} (precision {number(precision)}, "
            f"recall {number(recall)}): called {called}; expected {', '.join(sorted(expected))}"
        )
        return Check(sign == "≥", reason, score=score)
