"""JSON in model output: fence stripping, parsing, and `field:` paths like `items[0].price`.

Kept free of grader classes so that base.py (the `field` option), json_graders.py and
tool_calls.py can all share one parser without import cycles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

# A fenced block, ```json or bare ```; models often wrap JSON in one, with prose around it.
_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\r?\n(?P<body>.*?)\r?\n?[ \t]*```", re.DOTALL)
_FIRST = re.compile(r"(?P<key>[^.\[\]]+)|\[(?P<index>-?\d+)\]")
_NEXT = re.compile(r"\.(?P<key>[^.\[\]]+)|\[(?P<index>-?\d+)\]")

PathPart = str | int


def strip_fence(text: str) -> str:
    """The body of the first ```json (or bare ```) fence in `text`, else `text` itself."""
    match = _FENCE.search(text)
    return match["body"] if match else text


def load_json(text: str) -> Any:
    """Parse model output as JSON after stripping a fence; raises json.JSONDecodeError."""
    return json.loads(strip_fence(text).strip())


def json_path(parts: Sequence[PathPart]) -> str:
    """A path as `$.items[0].price` (how jsonschema errors and field misses are shown)."""
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_field_path(path: str) -> tuple[PathPart, ...]:
    """`items[0].price` -> ("items", 0, "price"); raises ValueError saying what is wrong.

    A leading `$` or `$.` is accepted so paths copied from a schema error message work.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].removeprefix(".")
    parts: list[PathPart] = []
    pos = 0
    while pos < len(text):
        match = (_FIRST if pos == 0 else _NEXT).match(text, pos)
        if match is None:
            raise ValueError(
                f"bad field path {path!r} at {text[pos:]!r}; "
                "use dots for keys and [N] for list items, like `items[0].price`"
            )
        parts.append(match["key"] if match["key"] is not None else int(match["index"]))
        pos = match.end()
    if not parts:
        raise ValueError("empty field path; write it like `items[0].price`")
    return tuple(parts)


def get_field(data: Any, parts: Sequence[PathPart]) -> Any:
    """The value at `parts`; raises LookupError saying where the path stops."""
    current = data
    for depth, part in enumerate(parts):
        here = json_path(parts[:depth])
        if isinstance(part, int):
            if not isinstance(current, list):
                raise LookupError(f"{here} is {_kind(current)}, not a list")
            if not -len(current) <= part < len(current):
                raise LookupError(f"{here} has {len(current)} item(s), no index {part}")
        elif not isinstance(current, dict):
            raise LookupError(f"{here} is {_kind(current)}, not an object")
        elif part not in current:
            raise LookupError(f"no key {part!r} in {here}")
        current = current[part]
    return current


def field_text(value: Any) -> str:
    """What a grader sees for a field: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"{json.dumps(value)[:40]}"
