"""A suite's `response_format:` (structured output), in OpenAI's form or the short one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.errors import InputError


def response_format(raw: dict[str, Any], path: Path, line: int | None) -> dict[str, Any]:
    """The OpenAI `response_format`, from either its own form or the short one:
    `{type: json_schema, schema: {...} | file.json, name?, strict?}` (file relative to the suite).
    """
    if raw.get("type") != "json_schema" or "json_schema" in raw:
        return raw
    unknown = set(raw) - {"type", "schema", "name", "strict"}
    if unknown:
        raise InputError(
            f"response_format: unknown key(s) {', '.join(sorted(unknown))} "
            "(allowed: type, schema, name, strict)",
            path,
            line,
        )
    schema = raw.get("schema")
    if isinstance(schema, str):
        schema_path = (path.parent / schema).resolve()
        try:
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"response_format: schema file {schema} does not exist", path, line
            ) from None
        except json.JSONDecodeError as exc:
            raise InputError(
                f"response_format: {schema} is not valid JSON ({exc})", path, line
            ) from None
    if not isinstance(schema, dict):
        raise InputError("response_format: give `schema` as a mapping or a .json file", path, line)
    return {
        "type": "json_schema",
        "json_schema": {
            "name": raw.get("name", "answer"),
            "schema": schema,
            "strict": bool(raw.get("strict", True)),
        },
    }
