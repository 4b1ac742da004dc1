"""Fill a JSON Schema from a message's entities; corrupt or break the result on a wrong answer.

Shared by tool-call arguments (``tools``) and structured output (``structured``), so both
surfaces follow one rule set:

- ``string`` with ``enum``: the member mentioned first in the message (whole word,
  case-insensitive), else the first member. Entities equal to an enum member are never
  used as free strings.
- ``string``: the next string entity (quoted strings and proper nouns, in order).
- ``number``/``integer``: the next number (integers are rounded; whole numbers print
  without decimals).
- ``boolean``: false. ``null``: null. ``const``: the constant.
- ``object``: each property in turn, required ones first (so an optional property never
  steals a value a required one needs); output keeps the schema's property order.
- ``array``: one item filled from ``items`` (``[]`` when ``items`` is missing).
- ``anyOf``/``oneOf``: the first non-null option; a type list: its first non-null type;
  ``$ref``: ``#/$defs/X`` or ``#/definitions/X`` of the root schema.

Modes: ``all`` fills every property (defaults ``""``/``0`` when entities run out);
``available`` fills required properties always and optional ones only when the message
supplies a value (an unused entity or a mentioned enum member); ``required`` fills only
required properties.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from evals.sim.textutil import Entities, mentioned, unit_hash

MISSING = object()


def number_value(text: str, integer: bool) -> int | float:
    """A JSON number from entity text; whole values become ints."""
    value = float(text)
    if integer or value.is_integer():
        return int(round(value))
    return value


class Filler:
    """Consumes entities while filling one or more schemas (tool calls share a filler)."""

    def __init__(self, found: Entities, mode: str = "all", root: dict | None = None) -> None:
        self.text = found.text
        self.strings = deque(found.strings)
        self.numbers = deque(found.numbers)
        self.mode = mode
        self.root = root or {}

    def exclude(self, values: list[str]) -> None:
        """Drop string entities equal (case-insensitively) to any of ``values`` (enum members)."""
        lowered = {v.lower() for v in values}
        self.strings = deque(s for s in self.strings if s.lower() not in lowered)

    def resolve(self, schema: Any, depth: int = 0) -> dict:
        """Follow ``$ref``, ``anyOf``/``oneOf`` and type lists to one concrete schema."""
        if not isinstance(schema, dict) or depth > 8:
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            return self.resolve(target, depth + 1)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                real = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
                return self.resolve((real or options)[0], depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            real_types = [t for t in kind if t != "null"] or kind
            return {**schema, "type": real_types[0] if real_types else "string"}
        if kind is None and "properties" in schema:
            return {**schema, "type": "object"}
        return schema

    def value(self, schema: Any, required: bool = True) -> Any:
        """A value for ``schema``, or MISSING when an optional one gets nothing (by mode)."""
        s = self.resolve(schema)
        optional_skip = not required and self.mode != "all"
        if "const" in s:
            return MISSING if optional_skip else s["const"]
        enum = s.get("enum")
        if isinstance(enum, list) and enum:
            hits = [(mentioned(str(e), self.text), i) for i, e in enumerate(enum)]
            hits = sorted(h for h in hits if h[0] >= 0)
            if hits:
                return MISSING if self.mode == "required" and not required else enum[hits[0][1]]
            return MISSING if optional_skip else enum[0]
        kind = s.get("type", "string")
        if kind == "object":
            if optional_skip:
                return MISSING
            return self.obj(s)
        if kind == "array":
            if optional_skip:
                return MISSING
            items = s.get("items")
            return [self.value(items)] if isinstance(items, dict) else []
        if kind in ("number", "integer"):
            if self.numbers and not (self.mode == "required" and not required):
                return number_value(self.numbers.popleft(), kind == "integer")
            return MISSING if optional_skip else 0
        if kind == "boolean":
            return MISSING if optional_skip else False
        if kind == "null":
            return MISSING if optional_skip else None
        if self.strings and not (self.mode == "required" and not required):
            return self.strings.popleft()
        return MISSING if optional_skip else ""

    def obj(self, schema: dict) -> dict[str, Any]:
        """Fill an object schema: required properties first, output in schema order."""
        props = schema.get("properties")
        if not isinstance(props, dict):
            return {}
        req = schema.get("required")
        req_set = {r for r in req if isinstance(r, str)} if isinstance(req, list) else set()
        for sub in props.values():
            enum = self.resolve(sub).get("enum")
            if isinstance(enum, list):
                self.exclude([str(e) for e in enum])
        out: dict[str, Any] = {}
        for name in [p for p in props if p in req_set] + [p for p in props if p not in req_set]:
            got = self.value(props[name], name in req_set)
            if got is not MISSING:
                out[name] = got
        return {name: out[name] for name in props if name in out}


def corrupt_value(value: Any, schema: dict | None) -> Any:
    """A deterministic wrong value of the same type (and in the enum when there is one)."""
    enum = schema.get("enum") if isinstance(schema, dict) else None
    if isinstance(enum, list) and len(enum) > 1 and value in enum:
        return enum[(enum.index(value) + 1) % len(enum)]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + value[-1] if value else "x"
    if isinstance(value, list) and value:
        return [corrupt_value(value[0], None), *value[1:]]
    return value


def corruptible(args: dict[str, Any]) -> list[str]:
    """Keys whose values ``corrupt_value`` can change."""
    return [k for k, v in args.items() if isinstance(v, str | int | float | bool | list)]


def corrupt_one(args: dict[str, Any], props: dict[str, Any], key: object) -> bool:
    """Corrupt one argument (chosen by hash of ``key``) in place; False when none can be."""
    names = corruptible(args)
    if not names:
        return False
    name = names[int(unit_hash("corrupt", key) * len(names))]
    sub = props.get(name) if isinstance(props, dict) else None
    args[name] = corrupt_value(args[name], sub if isinstance(sub, dict) else None)
    return True
