"""`json` and `json_schema`: the output is valid JSON and, optionally, matches a JSON Schema.

Deliberately validity + schema only: the case's `expect` is not compared with the
parsed value (a schema with `const`/`enum` says that precisely, when it is wanted),
and a `value` option is refused rather than silently ignored. `json_schema` is the
same grader with the schema required, inline or from a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from pydantic import Field, model_validator

from evals.graders.base import (
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    fail,
    ok,
    quote,
)
from evals.graders.fields import json_path, strip_fence
from evals.graders.registry import register

__all__ = ["JsonGrader", "JsonSchemaGrader", "compile_schema", "json_path", "strip_fence"]


def compile_schema(schema: Any, key: str) -> Validator:
    """A validator for `schema` (its `$schema` draft, else 2020-12), or a GraderSpecError."""
    if not isinstance(schema, dict):
        raise GraderSpecError(
            f"`{key}` must be a JSON Schema object, got {type(schema).__name__}", key=key
        )
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = json_path(list(exc.path))
        raise GraderSpecError(
            f"`{key}` is not a valid JSON Schema at {where}: {exc.message}", key=key
        ) from exc
    return cls(schema)


def load_schema_file(path_text: str) -> Any:
    """A schema from a .json (or .yaml) file; relative paths are from the working directory."""
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GraderSpecError(
            f"cannot read `schema_file` {str(path)!r} ({exc.strerror or exc}); "
            f"give a path relative to {str(Path.cwd())!r} or an absolute one",
            key="schema_file",
        ) from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise GraderSpecError(
            f"`schema_file` {str(path)!r} is not valid JSON/YAML: {exc}", key="schema_file"
        ) from exc


class JsonOptions(CommonOptions):
    # Inline JSON Schema (Draft 2020-12 unless it says `$schema`). `schema` would shadow a
    # BaseModel attribute, so the field is `schema_`, spelled `schema` in suite files.
    schema_: dict[str, Any] | None = Field(None, alias="schema")


@register
class JsonGrader(BaseGrader):
    """Passes when the output (fence stripped) parses as JSON and matches `schema` if given."""

    base_type = "json"
    Options = JsonOptions
    options: JsonOptions

    def __init__(self, options: JsonOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        if "value" in options.model_fields_set:
            raise GraderSpecError(
                f"the {self.base_type} grader checks validity and a schema only and does not "
                "use `value`; express the expected content in the schema (e.g. with `const` "
                "or `enum`)",
                key="value",
            )
        self._validator = self._load_validator()

    def _load_validator(self) -> Validator | None:
        if self.options.schema_ is None:
            return None
        return compile_schema(self.options.schema_, "schema")

    def check(self, text: str, ctx: GradeContext) -> Check:
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
        where = json_path(list(problem.absolute_path))
        return fail(f"JSON does not match the schema at {where}: {problem.message[:200]}")


class JsonSchemaOptions(JsonOptions):
    schema_file: str | None = None  # path to a .json/.yaml schema; relative to the cwd

    @model_validator(mode="after")
    def _one_schema(self) -> JsonSchemaOptions:
        if (self.schema_ is None) == (self.schema_file is None):
            raise ValueError("give exactly one of `schema` (inline) or `schema_file` (a path)")
        return self


@register
class JsonSchemaGrader(JsonGrader):
    """`json` with a required schema, which may live in a file shared with `response_format`."""

    base_type = "json_schema"
    Options = JsonSchemaOptions
    options: JsonSchemaOptions

    def _load_validator(self) -> Validator | None:
        if self.options.schema_file is not None:
            return compile_schema(load_schema_file(self.options.schema_file), "schema_file")
        return super()._load_validator()
