"""`evals export`: a run's stored results as JSONL, CSV or Parquet, and JSONL read back.

JSONL (the format `evals compare` reads as a baseline): the first line is
`{"run": {run_id, suites, started_at, finished_at, complete, planned,
stopped_reason, config, export_version}}`; every further line is one stored
sample with every `ResultRow` field, its JSON columns (request, vars, expect,
tool_calls, grades) as JSON values. CSV: a header of the same field names, one
row per sample, JSON columns as JSON text (each row carries its run_id; the run
itself is in `evals runs --json`). Parquet (needs pyarrow): the same columns as
CSV, the run line as the file's `evals_run` metadata. Every writer streams.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

from evals.errors import InputError
from evals.store.base import ResultStore
from evals.store.rows import ResultRow

EXPORT_VERSION = 1
FORMATS = ("jsonl", "csv", "parquet")
FIELDS = tuple(field.name for field in fields(ResultRow))
JSON_FIELDS = ("request", "vars", "expect", "tool_calls", "grades")
_RUN_KEYS = (
    "run_id",
    "suites",
    "started_at",
    "finished_at",
    "complete",
    "planned",
    "stopped_reason",
    "config",
)
_BATCH = 1000  # rows per Parquet row group


def run_header(store: ResultStore, run_id: str) -> dict[str, Any]:
    """The run line of an export; InputError when the store has no such run."""
    run = store.run(run_id)
    if run is None:
        raise InputError(f"no run '{run_id}' in {store.path}: `evals runs` lists them")
    return {**{key: run.get(key) for key in _RUN_KEYS}, "export_version": EXPORT_VERSION}


def result_dict(row: ResultRow) -> dict[str, Any]:
    """Every field of a stored result, JSON columns as decoded values."""
    return {name: getattr(row, name) for name in FIELDS}


def _flat(row: ResultRow) -> dict[str, Any]:
    data = result_dict(row)
    for name in JSON_FIELDS:
        data[name] = None if data[name] is None else json.dumps(data[name], ensure_ascii=False)
    return data


def write_jsonl(store: ResultStore, run_id: str, out: IO[str]) -> int:
    """The run line, then one line per result; returns the number of results."""
    out.write(json.dumps({"run": run_header(store, run_id)}, ensure_ascii=False) + "\n")
    count = 0
    for row in store.results(run_id):
        out.write(json.dumps(result_dict(row), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(store: ResultStore, run_id: str, out: IO[str]) -> int:
    run_header(store, run_id)  # the run must exist
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    count = 0
    for row in store.results(run_id):
        writer.writerow(_flat(row))
        count += 1
    return count


def write_parquet(store: ResultStore, run_id: str, path: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "--format parquet needs pyarrow, which is not installed: `pip install pyarrow` "
            "(or export --format jsonl or csv)"
        ) from None
    header = run_header(store, run_id)
    schema = pa.schema(
        [(name, _arrow_type(pa, name)) for name in FIELDS],
        metadata={"evals_run": json.dumps(header, ensure_ascii=False)},
    )
    count = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in store.results(run_id):
            batch.append(_flat(row))
            if len(batch) == _BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


_INTS = ("id", "repeat", "prompt_tokens", "cached_tokens", "completion_tokens")
_INTS += ("reasoning_tokens", "attempts")


def _arrow_type(pa: Any, name: str) -> Any:
    if name in _INTS:
        return pa.int64()
    if name in ("passed", "cache_hit"):
        return pa.bool_()
    types = {f.name: f.type for f in fields(ResultRow)}
    return pa.float64() if "float" in str(types[name]) else pa.string()


@dataclass
class ExportedRun:
    """A JSONL export read back: the run line, and its results streamed from the file."""

    path: Path
    run: dict[str, Any]

    def results(self) -> Iterator[dict[str, Any]]:
        """Each result line as a dict, checked for the fields a comparison needs."""
        with self.path.open(encoding="utf-8") as lines:
            next(lines)
            for number, line in enumerate(lines, start=2):
                if not line.strip():
                    continue
                data = _parse(self.path, number, line)
                missing = [name for name in _NEEDED if name not in data]
                if missing:
                    raise InputError(
                        f"result line lacks {', '.join(missing)}: not an `evals export` file",
                        self.path,
                        number,
                    )
                yield data


_NEEDED = ("suite", "prompt", "model", "case_id", "repeat", "passed", "error")


def _parse(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg})", path, number) from None
    if not isinstance(data, dict):
        raise InputError(
            "expected a JSON object per line, as `evals export --format jsonl` writes",
            path,
            number,
        )
    return data


def read_jsonl(path: Path) -> ExportedRun:
    """Open a file written by `evals export --format jsonl` (its run line is read now)."""
    try:
        with path.open(encoding="utf-8") as lines:
            first = next(lines, "")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from None
    except UnicodeDecodeError:
        raise InputError("not a text file: expected `evals export --format jsonl`", path) from None
    data = _parse(path, 1, first) if first.strip() else {}
    run = data.get("run")
    if not isinstance(run, dict) or not run.get("run_id"):
        raise InputError(
            'the first line is not {"run": {...}}: expected a file written by '
            "`evals export RUN_ID --format jsonl`",
            path,
            1,
        )
    return ExportedRun(path, run)
