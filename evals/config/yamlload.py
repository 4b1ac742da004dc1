"""YAML loading that remembers where every mapping key and list item came from.

Validation errors must name the file and line; pydantic reports a location path
(`cases.3.vars`), so the loaded tree carries the lines needed to map it back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from evals.errors import InputError


class LineDict(dict):
    """A dict that knows the line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list):
    """A list that knows the line of itself and of each item."""

    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in result:
                raise InputError(
                    f"duplicate key '{key}': remove one of them",
                    self.name,
                    key_node.start_mark.line + 1,
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence
)


def _syntax_error(path: Path, exc: yaml.YAMLError) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return InputError(f"YAML syntax error: {problem}; fix the YAML at this line", path, line)


class LineLoader(_LineLoader):
    """The line-aware loader, for callers that need their own variant of it."""


def load_yaml(path: Path, loader_class: type[yaml.SafeLoader] = _LineLoader) -> Any:
    """Parse one YAML document with line information; errors become InputError.

    `loader_class`: a LineLoader subclass (the promptfoo importer reads YAML 1.2 booleans)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", path) from None
    loader = loader_class(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _syntax_error(path, exc) from None
    finally:
        loader.dispose()


def iter_yaml_list(path: Path) -> Iterator[tuple[Any, int]]:
    """Yield (item, line) for each item of a top-level YAML list, one at a time.

    Composes one item node at a time, so a large case file is never held whole.
    """
    try:
        stream = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc}", path) from None
    with stream:
        loader = _LineLoader(stream)
        loader.name = str(path)
        try:
            loader.get_event()  # StreamStart
            if loader.check_event(yaml.StreamEndEvent):
                return
            loader.get_event()  # DocumentStart
            if not loader.check_event(yaml.SequenceStartEvent):
                event = loader.peek_event()
                raise InputError(
                    "a cases file must be a YAML list of cases", path, event.start_mark.line + 1
                )
            loader.get_event()
            while not loader.check_event(yaml.SequenceEndEvent):
                node = loader.compose_node(None, None)
                yield loader.construct_object(node, deep=True), node.start_mark.line + 1
        except yaml.YAMLError as exc:
            raise _syntax_error(path, exc) from None
        finally:
            loader.dispose()


def line_of(tree: Any, loc: Sequence[str | int]) -> int | None:
    """The line of the deepest node on `loc` that has one (pydantic error locations)."""
    line = getattr(tree, "line", None) or None
    node = tree
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line
