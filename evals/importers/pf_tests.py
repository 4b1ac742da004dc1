"""promptfoo `tests:` (inline, YAML/JSON/JSONL files, CSV files) -> plain test records.

A test keeps its file and line, so anything skipped inside it is reported where it was
written. CSV files are read as promptfoo reads them: every column is a var except the
reserved `__expected`, `__expected1..N` (assertion shorthand, evals.config.expected),
`__description`, `__metric` and `__threshold`; `__prefix`, `__suffix`, `__metadata:*`,
`__config:*` and `__providerOutput` have no equivalent and are skipped once per column.
"""

from __future__ import annotations

import csv
import glob
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.config.expected import parse_expected
from evals.errors import InputError
from evals.importers.context import Context, load_config_yaml
from evals.importers.pf_asserts import map_assertion, map_assertions


@dataclass
class Test:
    file: Path
    line: int | None
    vars: dict[str, Any] = field(default_factory=dict)
    graders: list[dict[str, Any]] = field(default_factory=list)
    description: str | None = None
    threshold: float | None = None
    expand_lists: bool = True
    index: int = 0  # its position among all tests, skipped ones included: stable case ids
    raw: dict[str, Any] = field(default_factory=dict)


SKIP_TEST_KEYS = {
    "provider": "a per-test provider: models come from the runner profile",
    "providers": "per-test model filters: every case runs on every model (use -m)",
    "prompts": "per-test prompt filters: every case runs with every variant (use --prompt)",
    "providerOutput": "a fixed output to grade: evals grades what the models answer",
    "assertScoringFunction": "custom scoring functions are JavaScript/Python hooks",
    "metadata": "test metadata (tags here are a list of words)",
}
TEST_KEYS = {"vars", "assert", "description", "threshold", "options"} | set(SKIP_TEST_KEYS)
OPTION_NOTES = {
    "transform": "output transforms are JavaScript: graders see the raw output",
    "postprocess": "output transforms are JavaScript: graders see the raw output",
    "prefix": "prompt prefixes: put the text in the prompt",
    "suffix": "prompt suffixes: put the text in the prompt",
    "provider": "the judge comes from the runner profile's `judge:`",
    "rubricPrompt": "custom judge prompts are written differently here",
    "disableDefaultAsserts": "the suite's graders apply to every case",
}
CSV_RESERVED_SKIPS = ("__prefix", "__suffix", "__providerOutput", "__metadata", "__config")


def from_mapping(raw: Any, ctx: Context, file: Path, line: int | None) -> Test | None:
    ctx.tests_seen += 1
    what = f"test c{ctx.tests_seen}"
    if not isinstance(raw, dict):
        ctx.skip(what, "not a mapping (vars, assert, ...)", line, file)
        return None
    if "providerOutput" in raw:
        ctx.skip(what, SKIP_TEST_KEYS["providerOutput"], line, file)
        return None
    lines = getattr(raw, "key_lines", {})
    test = Test(file, line, raw=raw, index=ctx.tests_seen)
    for key in raw:
        if key in SKIP_TEST_KEYS:
            ctx.skip(f"test {key}", SKIP_TEST_KEYS[key], lines.get(key, line), file)
        elif key not in TEST_KEYS:
            ctx.skip(
                f"test {key}", "not a promptfoo test key known here", lines.get(key, line), file
            )
    variables = raw.get("vars") or {}
    if not isinstance(variables, dict):
        ctx.skip("test vars", "vars from a file are not supported here", lines.get("vars"), file)
        return None
    test.vars = dict(variables)
    test.graders = map_assertions(raw.get("assert"), ctx, lines.get("assert", line), file)
    if isinstance(raw.get("description"), str):
        test.description = raw["description"]
    if isinstance(raw.get("threshold"), int | float):
        test.threshold = raw["threshold"]
    options = raw.get("options") or {}
    if isinstance(options, dict):
        option_lines = getattr(options, "key_lines", {})
        for key in options:
            if key == "disableVarExpansion":
                test.expand_lists = not options[key]
            elif key in OPTION_NOTES:
                ctx.skip(f"test options.{key}", OPTION_NOTES[key], option_lines.get(key), file)
            elif key not in ("runSerially", "disableConversationVar"):
                ctx.skip(f"test options.{key}", "no equivalent", option_lines.get(key), file)
    return test


def from_csv(path: Path, ctx: Context) -> list[Test]:
    tests = []
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        ctx.skip(f"tests {path.name}", f"cannot read it ({exc})", None, path)
        return []
    with stream:
        reader = csv.DictReader(stream)
        columns = [c.strip() for c in reader.fieldnames or []]
        for column in columns:
            if column.startswith(CSV_RESERVED_SKIPS):
                ctx.skip(f"column {column}", "no equivalent here: the column is ignored", 1, path)
        for row in reader:
            line = reader.line_num
            cells = {k.strip(): v or "" for k, v in row.items() if k is not None}
            ctx.tests_seen += 1
            test = Test(path, line, index=ctx.tests_seen)
            metric = cells.get("__metric") or None
            for column, cell in cells.items():
                if column.startswith("__expected"):
                    if cell.strip():
                        spec = _expected(cell, ctx, path, line, column)
                        if spec is not None:
                            test.graders.append({**spec, "metric": metric} if metric else spec)
                elif column == "__description":
                    test.description = cell or None
                elif column == "__threshold":
                    test.threshold = float(cell) if cell.strip() else None
                elif not column.startswith("__"):
                    test.vars[column] = cell
            tests.append(test)
    return tests


def _expected(cell: str, ctx: Context, path: Path, line: int, column: str) -> dict | None:
    try:
        spec = parse_expected(cell)
    except ValueError as exc:
        ctx.skip(f"{column} {cell.strip()[:40]!r}", str(exc), line, path)
        return None
    # through the YAML mapping too: unsupported types are skipped, python files copied
    return map_assertion(_as_promptfoo(spec), ctx, line, path)


def _as_promptfoo(spec: dict[str, Any]) -> dict[str, Any]:
    """Our spec back in promptfoo's words, so map_assertion checks it like any other."""
    out = dict(spec)
    if "max_distance" in out:
        out["threshold"] = out.pop("max_distance")
    return out


def from_reference(ref: str, ctx: Context, line: int | None) -> list[Test]:
    """Tests from a `file://` reference (CSV, YAML, JSON, JSONL; globs allowed)."""
    text = ref.removeprefix("file://")
    if text.startswith(("huggingface://", "https://", "http://")) or "docs.google.com" in text:
        ctx.skip(f"tests {ref}", "remote datasets are not fetched: download them to a CSV", line)
        return []
    if text.partition(":")[0].endswith((".py", ".js", ".ts", ".mjs", ".cjs")):
        ctx.skip(f"tests {ref}", "test generators (code) cannot be imported", line)
        return []
    pattern = str(ctx.source(text))
    paths = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [
        Path(pattern)
    ]  # fmt: skip
    tests: list[Test] = []
    if not paths or not all(p.is_file() for p in paths):
        ctx.skip(f"tests {ref}", "the file does not exist", line)
        return []
    for path in paths:
        if path.suffix == ".csv":
            tests += from_csv(path, ctx)
        elif path.suffix in (".yaml", ".yml", ".json"):
            tests += _from_list_file(path, ctx)
        elif path.suffix == ".jsonl":
            for number, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if row.strip():
                    try:
                        item = json.loads(row)
                    except json.JSONDecodeError as exc:
                        ctx.skip("test", f"invalid JSON ({exc.msg})", number, path)
                        continue
                    test = from_mapping(item, ctx, path, number)
                    tests += [test] if test else []
        else:
            ctx.skip(f"tests {path.name}", f"{path.suffix} test files are not supported", line)
    return tests


def _from_list_file(path: Path, ctx: Context) -> list[Test]:
    try:
        data = load_config_yaml(path)
    except InputError as exc:
        ctx.skip(f"tests {path.name}", exc.message, exc.line, path)
        return []
    if not isinstance(data, list):
        ctx.skip(f"tests {path.name}", "a tests file must be a list of tests", 1, path)
        return []
    lines = getattr(data, "item_lines", [None] * len(data))
    found = [from_mapping(item, ctx, path, ln) for item, ln in zip(data, lines, strict=True)]
    return [t for t in found if t is not None]


def load_tests(raw: Any, ctx: Context, line: int | None) -> list[Test]:
    if raw is None:
        return [Test(ctx.config, line, index=1)]  # promptfoo runs the prompts once, no vars
    items = raw if isinstance(raw, list) else [raw]
    lines = getattr(raw, "item_lines", None) or [line] * len(items)
    tests: list[Test] = []
    for item, item_line in zip(items, lines, strict=True):
        if isinstance(item, str):
            tests += from_reference(item, ctx, item_line)
        else:
            test = from_mapping(item, ctx, ctx.config, item_line)
            tests += [test] if test else []
    return tests
