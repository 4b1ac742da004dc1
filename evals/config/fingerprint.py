"""A suite's fingerprint: one hash of every file that decides what the suite asks and checks.

Recorded per run (config `suite_fingerprints`, summary `suite_fingerprints`), so two
runs can be told apart when a suite, its cases or its schema changed between them,
even under the same name and path. Only file contents count, not where they live.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.config.suite import Suite
from evals.config.yamlload import load_yaml


def suite_fingerprint(suite: Suite) -> str:
    """sha256 (hex) over the suite file, its cases file, its corpus, the JSON schema
    files it names (`schema_file:` of graders, `response_format.schema`) and the files
    its `file://` values name (prompts, vars of inline cases, graders)."""
    digest = hashlib.sha256()
    for label, path in _files(suite):
        with path.open("rb") as handle:  # in blocks: a 1M-case file is never held whole
            size = path.stat().st_size
            digest.update(f"{label}\0{size}\0".encode())  # framed: no two file sets collide
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def _files(suite: Suite) -> Iterator[tuple[str, Path]]:
    yield "suite", suite.path
    if suite.cases_file is not None:
        yield "cases", suite.cases_file
    if suite.corpus is not None:
        yield "corpus", suite.corpus
    for ref in sorted(set(_schema_refs(load_yaml(suite.path)))):
        path = _resolve(ref, suite.path)
        if path is not None:
            yield f"schema {ref}", path


def _schema_refs(tree: Any) -> Iterator[str]:
    """Schema and `file://` file names anywhere in the suite file (inline cases and nested
    graders too)."""
    if isinstance(tree, str) and tree.startswith("file://"):
        yield tree.removeprefix("file://").split(":", 1)[0]  # file://check.py:function
    elif isinstance(tree, dict):
        for key, value in tree.items():
            if key == "schema_file" and isinstance(value, str):
                yield value
            elif key == "response_format" and isinstance(value, dict):
                if isinstance(value.get("schema"), str):
                    yield value["schema"]
            else:
                yield from _schema_refs(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _schema_refs(item)


def _resolve(ref: str, suite_path: Path) -> Path | None:
    """Relative to the suite file (as the suite loader resolves it), else as given."""
    for path in (suite_path.parent / ref, Path(ref)):
        if path.is_file():
            return path.resolve()
    return None
