"""promptfoo's structure assertions: `is-json`, `contains-json`, `is-xml`, `contains-xml`
(`is-sql`: evals.graders.sql), with promptfoo's semantics so its configs import 1:1.

Docs: https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/
(sections is-json, contains-json, is-xml, contains-xml, is-sql); facts were checked against
promptfoo's src/assertions/{json,xml}.ts.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from evals.graders.base import Check, GraderSpecError, fail, ok, quote, show
from evals.graders.fields import json_path
from evals.graders.json_graders import compile_schema
from evals.graders.registry import register
from evals.graders.value_grader import Failure, ValueGrader, split_commas

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

# --- JSON -------------------------------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-json
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#contains-json

_ANY_FENCE = re.compile(r"```[\w+-]*[ \t]*\r?\n(?P<body>.*?)```", re.DOTALL)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")  # JSON.parse rejects NaN and Infinity too


def parse_json(text: str) -> Any:
    """Strict JSON (like JSON.parse): raises ValueError (JSONDecodeError is one)."""
    return json.loads(text, parse_constant=_no_constants)


def schema_validator(raw: Any) -> Validator | Failure:
    """A JSON Schema from `value`: a mapping, a boolean, or a JSON/YAML string of one."""
    schema = raw
    if isinstance(raw, str):
        if raw.startswith("file://"):
            return Failure("file:// schemas are not supported here; use the json_schema grader")
        try:
            schema = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            return Failure(f"schema string is not JSON or YAML ({exc})")
    if isinstance(schema, bool):
        return Draft202012Validator(schema)
    try:
        return compile_schema(schema, "value")
    except GraderSpecError as exc:
        return Failure(str(exc).removeprefix("`value` "))


def schema_errors(validator: Validator, data: Any) -> str | None:
    """The most relevant schema violation, as "at $.path: message", or None when valid."""
    found = best_match(validator.iter_errors(data))
    return None if found is None else f"at {json_path(list(found.path))}: {found.message}"


def embedded_json(text: str) -> Iterator[Any]:
    """JSON values found in text: each fenced block's body, the whole output, then every
    object starting at a `{` in the prose (promptfoo scans objects only; arrays are found
    when they are the whole output or a whole fence, so "[1]" in prose is not JSON)."""
    for body in [m["body"] for m in _ANY_FENCE.finditer(text)] + [text]:
        try:
            value = parse_json(body.strip())
        except ValueError:
            continue
        yield value
    decoder = json.JSONDecoder(parse_constant=_no_constants)
    start = text.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        yield value
        start = text.find("{", end)


class _JsonGrader(ValueGrader):
    needs_value = False

    def parse(self, raw: Any) -> Any:
        return None if raw is None or raw == "" else schema_validator(raw)


@register
class IsJsonGrader(_JsonGrader):
    """The whole output is valid JSON; with a `value` (a JSON Schema), it must also match it."""

    base_type = "is-json"

    def check_parsed(self, text: str, wanted: Validator | None) -> Check:
        try:
            data = parse_json(text)
        except ValueError as exc:
            return fail(f"output is not valid JSON ({exc}): {quote(text)}")
        if wanted is None:
            return ok("output is valid JSON")
        problem = schema_errors(wanted, data)
        if problem is None:
            return ok("output is valid JSON matching the schema")
        return fail(f"output JSON does not match the schema {problem}")


@register
class ContainsJsonGrader(_JsonGrader):
    """The output contains JSON somewhere (a fence, or an object in prose); with a `value`
    (a JSON Schema), at least one embedded JSON value must match it."""

    base_type = "contains-json"

    def check_parsed(self, text: str, wanted: Validator | None) -> Check:
        first_problem = None
        count = 0
        for data in embedded_json(text):
            count += 1
            if wanted is None:
                return ok(f"output contains JSON {show(data)}")
            problem = schema_errors(wanted, data)
            if problem is None:
                return ok(f"output contains JSON matching the schema: {show(data)}")
            first_problem = first_problem or problem
        if count == 0:
            return fail(f"output contains no valid JSON: {quote(text)}")
        return fail(f"output contains JSON, but none matches the schema ({first_problem})")


# --- XML --------------------------------------------------------------------------------
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-xml
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#contains-xml

_INTERNAL_SUBSET = re.compile(r"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_TAG_START = re.compile(r"<(?:\?xml\b|(?P<name>[A-Za-z_][\w.\-]*(?::[\w.\-]+)?))")
_MAX_XML_TRIES = 2000  # parse attempts for contains-xml; keeps long prose outputs cheap


def required_elements(raw: Any) -> list[str] | Failure:
    """promptfoo's forms: "a.b, a.c", [a.b, a.c], or {requiredElements: [a.b, a.c]}."""
    if isinstance(raw, dict):
        if set(raw) != {"requiredElements"} or not isinstance(raw["requiredElements"], list):
            return Failure(f"expected {{requiredElements: [root.child, ...]}}, got {show(raw)}")
        raw = raw["requiredElements"]
    if isinstance(raw, str):
        return split_commas(raw) or Failure("required elements string is empty")
    if isinstance(raw, list) and all(isinstance(item, str) and item for item in raw):
        return list(raw)
    return Failure(f"required elements must be a list of paths like 'root.child', got {show(raw)}")


def parse_xml(text: str) -> ET.Element | str:
    """The root element of one well-formed XML document, or why it is not one."""
    if _INTERNAL_SUBSET.search(text):
        return "XML with a DTD internal subset, which is not supported"  # as promptfoo does
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        return f"not well-formed XML ({exc})"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def has_path(root: ET.Element, path: str) -> bool:
    """`root.child.grandchild` exists: the first name is the root element's, then children by
    name; a number picks one of several same-named elements (`root.item.1`)."""
    first, *rest = [part.split(":")[-1] for part in path.split(".")]
    if _local(root.tag) != first:
        return False
    current = [root]
    for part in rest:
        if part.isdigit():
            index = int(part)
            current = current[index : index + 1]
        else:
            current = [child for node in current for child in node if _local(child.tag) == part]
        if not current:
            return False
    return True


def missing_paths(root: ET.Element, paths: list[str]) -> list[str]:
    return [path for path in paths if not has_path(root, path)]


def xml_fragments(text: str) -> Iterator[tuple[str, ET.Element]]:
    """Well-formed XML elements embedded in text, outermost first, left to right."""
    tries = 0
    covered_until = -1
    for match in _TAG_START.finditer(text):
        start = match.start()
        if start < covered_until:
            continue  # inside a fragment already given
        name = match["name"]
        if name is None:  # an <?xml ...?> declaration: the document runs to some '>'
            ends = [m.end() for m in re.finditer(">", text[start:])]
            ends = [start + e for e in ends]
        else:
            close = re.compile(rf"</{re.escape(name)}\s*>|/>")
            ends = [start + m.end() for m in close.finditer(text[start:])]
        for end in reversed(ends):  # the longest well-formed span is the outermost element
            tries += 1
            if tries > _MAX_XML_TRIES:
                return
            root = parse_xml(text[start:end])
            if isinstance(root, ET.Element):
                yield text[start:end], root
                covered_until = end
                break


class _XmlGrader(ValueGrader):
    needs_value = False

    def parse(self, raw: Any) -> Any:
        if raw is None or raw == "" or raw == [] or raw == {}:
            return []
        return required_elements(raw)


@register
class IsXmlGrader(_XmlGrader):
    """The whole output is one well-formed XML document; a `value` lists element paths
    (`root.child`) that must exist in it."""

    base_type = "is-xml"

    def check_parsed(self, text: str, wanted: list[str]) -> Check:
        root = parse_xml(text)
        if isinstance(root, str):
            return fail(f"output is {root}: {quote(text)}")
        missing = missing_paths(root, wanted)
        if missing:
            return fail(f"output XML is missing required elements {', '.join(missing)}")
        return ok("output is well-formed XML" + (" with all required elements" if wanted else ""))


@register
class ContainsXmlGrader(_XmlGrader):
    """The output contains a well-formed XML element somewhere (prose around it is fine);
    with a `value`, one such fragment must have every required path, from its own root."""

    base_type = "contains-xml"

    def check_parsed(self, text: str, wanted: list[str]) -> Check:
        first_missing: list[str] | None = None
        for fragment, root in xml_fragments(text):
            missing = missing_paths(root, wanted)
            if not missing:
                return ok(f"output contains well-formed XML {quote(fragment)}")
            first_missing = first_missing or missing
        if first_missing is None:
            return fail(f"output contains no well-formed XML: {quote(text)}")
        return fail(f"output XML is missing required elements {', '.join(first_missing)}")
