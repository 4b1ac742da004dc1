"""Cases: inline in the suite or streamed from .jsonl, .csv or .yaml files.

Files are read one case at a time, so a million-case file costs no more memory
than a ten-case one. Every case remembers its file and line for error messages.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from evals.config.schema_errors import input_error
from evals.config.yamlload import iter_yaml_list
from evals.errors import InputError

CASE_FILE_SUFFIXES = (".jsonl", ".jsonl.gz", ".csv", ".yaml", ".yml")
CSV_SPECIAL_COLUMNS = ("id", "expect", "tags")


class CaseSpec(BaseModel):
    """One case as written in a suite or a cases file."""

    model_config = ConfigDict(extra="forbid")

    id: str | int | None = None
    """Stable identifier; defaults to the case's 1-based position."""
    vars: dict[str, Any] = {}
    """Template variables, substituted into the prompt as data."""
    expect: Any = None
    """The expected answer, read by graders."""
    graders: list[dict[str, Any]] = []
    """Graders added to the suite's for this case only."""
    tags: list[str] = []
    expect_tool_calls: list[dict[str, Any]] | None = None
    """Function calls the model should make: [{name, arguments}], read by `tool_calls`."""
    tool_results: dict[str, Any] | None = None
    """Canned results by function name: the conversation goes on with them."""
    cluster: str | int | None = None
    """Cases sharing a cluster are not independent (several questions on one passage,
    turns of one conversation): intervals and tests then use clustered errors."""
    description: str | None = None
    threshold: float | None = None
    """Pass when the graders' weighted score reaches this (instead of all passing)."""
    matrix: dict[str, list[Any]] | None = None
    """Variables with several values: one case per combination (ids say which)."""


class CasesSourceSpec(BaseModel):
    """`cases:` as a mapping: a file (or a file inside an installed package), and how its
    records map onto cases when they are not in the case format (HumanEval's jsonl)."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    """A path relative to the suite file."""
    resource: str | None = None
    """`package/path/inside.jsonl.gz`: a data file shipped inside an installed package."""
    install: str | None = None
    """How to install the package, said when it is missing."""
    id: str | None = None
    """The record field holding the case id (records are then mapped, not read as cases)."""
    vars: list[str] = []
    """Record fields that become the case's vars."""
    expect: str | None = None
    """The record field holding the case's `expect`."""

    @model_validator(mode="after")
    def _one_source(self) -> CasesSourceSpec:
        if (self.file is None) == (self.resource is None):
            raise ValueError("give either `file:` or `resource:` (package/path), not both")
        return self

    @property
    def mapped(self) -> bool:
        return self.id is not None or bool(self.vars) or self.expect is not None


@dataclass(frozen=True, slots=True)
class FieldMap:
    """How a foreign record becomes a case: which fields are id, vars and expect."""

    id: str | None
    vars: tuple[str, ...]
    expect: str | None

    def apply(self, record: Any, path: Path, line: int | None) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise InputError("a record must be a JSON object", path, line)
        wanted = [f for f in (self.id, *self.vars, self.expect) if f is not None]
        missing = [f for f in wanted if f not in record]
        if missing:
            raise InputError(
                f"record has no field(s) {', '.join(map(repr, missing))} named in the suite's "
                f"`cases:` mapping; it has {', '.join(map(repr, record))}",
                path,
                line,
            )
        raw: dict[str, Any] = {"vars": {name: record[name] for name in self.vars}}
        if self.id is not None:
            raw["id"] = record[self.id]
        if self.expect is not None:
            raw["expect"] = record[self.expect]
        return raw


def resource_file(ref: str, install: str | None, suite_path: Path, line: int | None) -> Path:
    """`package/inner/path`: the file inside an installed package; exit-2 errors say how."""
    package, _, inner = ref.partition("/")
    if not package.isidentifier() or not inner:
        raise InputError(
            f"cases resource '{ref}' must look like 'package/path/to/file.jsonl.gz'",
            suite_path,
            line,
        )
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        how = install or f"pip install the distribution that provides '{package}'"
        raise InputError(
            f"the cases come from the package '{package}', which is not installed: {how}",
            suite_path,
            line,
        )
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    if not path.is_file():
        raise InputError(f"package '{package}' has no file '{inner}'", suite_path, line)
    return _check_suffix(path, ref, suite_path, line)


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    vars: dict[str, Any]
    expect: Any
    grader_specs: tuple[dict[str, Any], ...]
    tags: tuple[str, ...]
    path: Path
    line: int | None
    grader_lines: tuple[int | None, ...] = field(default=())
    expect_tool_calls: list[dict[str, Any]] | None = None
    tool_results: dict[str, Any] | None = None
    cluster: str | None = None
    description: str | None = None
    threshold: float | None = None
    matrix: dict[str, list[Any]] | None = None  # expanded by the suite (evals.config.expand)


def _case_from(raw: Any, index: int, path: Path, line: int | None, tree: Any = None) -> Case:
    if not isinstance(raw, dict):
        raise InputError("a case must be a mapping with vars/expect (and optional id)", path, line)
    try:
        spec = CaseSpec.model_validate(raw)
    except ValidationError as exc:
        err = input_error(exc, tree if tree is not None else raw, path, CaseSpec, "case")
        if err.line is None:
            err = InputError(err.message, path, line)
        raise err from None
    grader_lines = tuple(
        getattr(raw.get("graders"), "item_lines", None) or [line] * len(spec.graders)
    )
    return Case(
        id=str(spec.id) if spec.id is not None else str(index),
        vars=spec.vars,
        expect=spec.expect,
        grader_specs=tuple(spec.graders),
        tags=tuple(spec.tags),
        path=path,
        line=line,
        grader_lines=grader_lines,
        expect_tool_calls=spec.expect_tool_calls,
        tool_results=spec.tool_results,
        cluster=None if spec.cluster is None else str(spec.cluster),
        description=spec.description,
        threshold=spec.threshold,
        matrix=spec.matrix,
    )


def iter_inline(items: list[Any], suite_path: Path) -> Iterator[Case]:
    lines = getattr(items, "item_lines", [None] * len(items))
    for index, (raw, line) in enumerate(zip(items, lines, strict=True), start=1):
        yield _case_from(raw, index, suite_path, line)


def _iter_jsonl(path: Path, fields: FieldMap | None = None) -> Iterator[Case]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as stream:
        index = 0
        for lineno, text in enumerate(stream, start=1):
            if not text.strip():
                continue
            index += 1
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON ({exc.msg}): fix this line", path, lineno) from None
            except (OSError, EOFError) as exc:  # a corrupt .gz
                raise InputError(f"cannot read the file: {exc}", path, lineno) from None
            if fields is not None:
                raw = fields.apply(raw, path, lineno)
            yield _case_from(raw, index, path, lineno)


def _csv_value(text: str) -> Any:
    """CSV cells are strings; an `expect` cell holding JSON (a list, a number) is decoded."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text


def _iter_csv(path: Path) -> Iterator[Case]:
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        if not reader.fieldnames:
            return
        for index, row in enumerate(reader, start=1):
            lineno = reader.line_num
            if None in row:
                raise InputError("more cells than header columns: fix this row", path, lineno)
            raw: dict[str, Any] = {"vars": {}}
            special: dict[str, str] = {}
            for column, cell in row.items():
                if column == "expect":
                    raw["expect"] = _csv_value(cell)
                elif column == "tags":
                    raw["tags"] = [t.strip() for t in cell.split(",") if t.strip()]
                elif column == "id":
                    raw["id"] = cell
                elif column.startswith("__"):
                    special[column] = cell
                else:
                    raw["vars"][column] = cell
            if special:
                raw.update(promptfoo_columns(special, path, lineno))
            yield _case_from(raw, index, path, lineno)


def promptfoo_columns(cells: dict[str, str], path: Path, line: int | None) -> dict[str, Any]:
    """promptfoo's special CSV columns as case fields: `__expected` and `__expected1..N`
    (assertion shorthand, evals.config.expected), `__description`, `__metric` (named on
    every grader of the row), `__threshold`."""
    from evals.config.expected import parse_expected

    fields: dict[str, Any] = {}
    graders: list[dict[str, Any]] = []
    for column, cell in cells.items():
        text = cell.strip()
        if column == "__expected" or column.startswith("__expected") and column[10:].isdigit():
            if not text:
                continue
            try:
                graders.append(parse_expected(text))
            except ValueError as exc:
                raise InputError(f"column {column}: {exc}", path, line) from None
        elif column == "__description":
            fields["description"] = cell or None
        elif column == "__threshold":
            if text:
                try:
                    fields["threshold"] = float(text)
                except ValueError:
                    raise InputError(
                        f"column __threshold: {text!r} is not a number", path, line
                    ) from None
        elif column != "__metric":
            raise InputError(
                f"column {column} is not supported: the special columns are __expected, "
                "__expected1..N, __description, __metric and __threshold",
                path,
                line,
            )
    metric = cells.get("__metric", "").strip()
    if metric:
        graders = [{**spec, "metric": spec.get("metric") or metric} for spec in graders]
    if graders:
        fields["graders"] = graders
    return fields


def _iter_yaml(path: Path) -> Iterator[Case]:
    for index, (raw, line) in enumerate(iter_yaml_list(path), start=1):
        yield _case_from(raw, index, path, line, tree=raw)


def _check_suffix(path: Path, ref: str, suite_path: Path, line: int | None) -> Path:
    if not path.name.endswith(CASE_FILE_SUFFIXES):
        raise InputError(
            f"cases file '{ref}' has an unknown type: use one of {', '.join(CASE_FILE_SUFFIXES)}",
            suite_path,
            line,
        )
    return path


def resolve_cases_file(ref: str, suite_path: Path, line: int | None) -> Path:
    path = (suite_path.parent / ref).resolve()
    if not path.name.endswith(CASE_FILE_SUFFIXES):
        raise InputError(
            f"cases file '{ref}' has an unknown type: use one of {', '.join(CASE_FILE_SUFFIXES)}",
            suite_path,
            line,
        )
    if not path.is_file():
        raise InputError(
            f"cases file '{ref}' does not exist (looked at {path}): fix the path, "
            "which is relative to the suite file",
            suite_path,
            line,
        )
    return path


def resolve_cases_source(
    spec: CasesSourceSpec, suite_path: Path, line: int | None
) -> tuple[Path, FieldMap | None]:
    """The file a `cases:` mapping names, and its field mapping (None: records are cases)."""
    if spec.resource is not None:
        path = resource_file(spec.resource, spec.install, suite_path, line)
    else:
        path = resolve_cases_file(spec.file or "", suite_path, line)
    fields = FieldMap(spec.id, tuple(spec.vars), spec.expect) if spec.mapped else None
    if fields is not None and not path.name.endswith((".jsonl", ".jsonl.gz")):
        raise InputError(
            "mapping record fields (`id`, `vars`, `expect`) works on .jsonl(.gz) files only",
            suite_path,
            line,
        )
    return path, fields


def iter_file(path: Path, fields: FieldMap | None = None) -> Iterator[Case]:
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return _iter_jsonl(path, fields)
    if path.suffix == ".csv":
        return _iter_csv(path)
    return _iter_yaml(path)
