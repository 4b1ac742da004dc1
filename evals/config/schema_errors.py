"""Turn a pydantic ValidationError on a YAML tree into one InputError with file:line."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evals.config.yamlload import line_of
from evals.errors import InputError


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "top level"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Best effort: the field names allowed where an unknown key was found."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            # dict-valued field (e.g. `prompts: {name: ...}`): keep the same model
            continue
        current = _inner_model(field.annotation)
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def input_error(
    exc: ValidationError, tree: Any, path: Path, model: type[BaseModel], what: str
) -> InputError:
    """The most telling validation problem, phrased as what to fix, at its line.

    An unknown key is reported before a missing one: `base_ur` explains why
    `base_url` is missing, not the other way round.
    """
    errors = exc.errors()
    extras = [e for e in errors if e["type"] == "extra_forbidden"]
    err = extras[0] if extras else errors[0]
    loc = tuple(err["loc"])
    line = line_of(tree, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _allowed_keys(model, loc)
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        hint += f" (allowed: {', '.join(allowed)})" if allowed else ""
        message = f"unknown key '{key}' in {what}{hint}: remove or rename it"
    elif kind == "missing":
        message = f"missing required key '{loc[-1]}' in {what} at {_where(loc[:-1])}: add it"
    else:
        message = f"invalid {what} at {_where(loc)}: {err['msg']}"
    return InputError(message, path, line)
