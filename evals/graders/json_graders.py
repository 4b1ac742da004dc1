"""`json`: the output is valid JSON and, optionally, matches a JSON Schema.

Deliberately validity + schema only: the case's `expect` is not compared with the
parsed value (a schema with `const`/`enum` says that precisely, when it is wanted),
and a `value` option is refused rather than silently ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from pydantic import Field

from evals.graders.base import (
    BaseGrader,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    Outcome,
    fail,
    ok,
    quote,
)

# A fenced block, ```json or bare ```; models often wrap JSON in one, with prose around it.
_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\r?\n(?P<body>.*?)\r?\n?[ \t]*```", re.DOTALL)


def strip_fence(text: str) -> str:
    """The body of the first ```json (or bare ```) fence in `text`, else `text` itself."""
    match = _FENCE.search(text)
    return match["body"] if match else text


def json_path(parts: Any) -> str:
    """A jsonschema error path as `$.items[0].price`."""
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


class JsonOptions(CommonOptions):
    # Inline JSON Schema (Draft 2020-12). `schema` would shadow a BaseModel attribute,
    # so the field is `schema_`, spelled `schema` in suite files.
    schema_: dict[str, Any] | None = Field(None, alias="schema")


class JsonGrader(BaseGrader):
    """Passes when the output (fence stripped) parses as JSON and matches `schema` if given."""

    base_type = "json"
    Options = JsonOptions
    options: JsonOptions

    def __init__(self, options: JsonOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        if "value" in options.model_fields_set:
            raise GraderSpecError(
                "the json grader checks validity and `schema` only and does not use `value`; "
                "express the expected content in `schema` (e.g. with `const` or `enum`)",
                key="value",
            )
        self._validator: Draft202012Validator | None = None
        if options.schema_ is not None:
            try:
                Draft202012Validator.check_schema(options.schema_)
            except SchemaError as exc:
                where = json_path(exc.path)
                raise GraderSpecError(
                    f"`schema` is not a valid JSON Schema at {where}: {exc.message}", key="schema"
                ) from exc
            self._validator = Draft202012Validator(options.schema_)

    def check(self, text: str, ctx: GradeContext) -> Outcome:
        body = strip_fence(text).strip()
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            return fail(f"output is not valid JSON ({exc}): {quote(body)}")
        if self._validator is None:
            return ok("output is valid JSON")
        problem = best_match(self._validator.iter_errors(data))
        if problem is None:
            return ok("output is valid JSON and matches the schema")
        where = json_path(problem.absolute_path)
        return fail(f"JSON does not match the schema at {where}: {problem.message[:200]}")
