"""`evals export`: a run's stored results as JSONL, CSV or Parquet, and JSONL read back.

Every writer streams: results are read from the store's cursor and written as they
come (Parquet: a row group per `_BATCH` results), so memory does not grow with the run.

- JSONL (the format `evals compare` reads as a baseline): the first line is
  `{"run": {run_id, suites, started_at, finished_at, complete, planned,
  stopped_reason, config, export_version}}`; every further line is one stored
  sample with every `ResultRow` field, its JSON columns (`JSON_FIELDS`: request,
  vars, expect, tool_calls, grades, tags, logprobs) as JSON values.
- CSV: a header of the same field names, one row per sample, JSON columns as JSON
  text, an empty cell for None, booleans as `True`/`False`, floats written exactly
  (Python's shortest round-trip repr). Each row carries its run_id; the run itself
  is in `evals runs --json`.
- Parquet (needs pyarrow): the same columns, typed by `COLUMN_KINDS`: int64, float64,
  bool, string, and JSON columns as JSON text (string); None is null. The run line
  is the file's `evals_run` metadata (JSON text). A run without results gives a
  valid file with the schema and no rows.

`results_frame` gives the same columns as a pandas DataFrame (`evals.load_run`).
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
JSON_FIELDS = ("request", "vars", "expect", "tool_calls", "grades", "tags", "logprobs")
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
_BATCH = 1000  # rows per Parquet row group: what the Parquet writer holds at once


def _kind(name: str, annotation: str) -> tuple[str, bool]:
    """(int|float|bool|str|json, nullable) of a ResultRow field, from its annotation."""
    if name in JSON_FIELDS:
        return "json", True
    types = [part.strip() for part in annotation.split("|")]
    base = [part for part in types if part != "None"]
    if len(base) == 1 and base[0] in ("int", "float", "bool", "str"):
        return base[0], "None" in types
    raise TypeError(f"ResultRow.{name}: {annotation} is not a scalar; add it to JSON_FIELDS")


_KINDS = {field.name: _kind(field.name, str(field.type)) for field in fields(ResultRow)}
COLUMN_KINDS = {name: kind for name, (kind, _) in _KINDS.items()}
"""Each exported column's type: int, float, bool, str, or json (JSON text in CSV/Parquet)."""


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
    """A result with its JSON columns as JSON text (None stays None): a CSV or Parquet row."""
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
    """A header of the field names, then one row per result; returns the number of results.

    Open `out` with `newline=""` (the csv module writes its own line ends).
    """
    run_header(store, run_id)  # the run must exist
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    count = 0
    for row in store.results(run_id):
        writer.writerow(_flat(row))
        count += 1
    return count


def write_parquet(store: ResultStore, run_id: str, path: Path) -> int:
    """The results as one Parquet file at `path`, a row group per `_BATCH` results;
    returns the number of results. A file left half-written by an error is removed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "--format parquet needs pyarrow, which is not installed: `pip install pyarrow` "
            "(or export --format jsonl or csv)"
        ) from None
    header = run_header(store, run_id)
    schema = arrow_schema(pa, header)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    try:
        with pq.ParquetWriter(str(path), schema) as writer:
            columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
            for row in store.results(run_id):
                for name, value in _flat(row).items():
                    columns[name].append(value)
                count += 1
                if count % _BATCH == 0:
                    writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=schema))
                    columns = {name: [] for name in FIELDS}
            if count % _BATCH:
                writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=schema))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return count


_ARROW = {"int": "int64", "float": "float64", "bool": "bool_", "str": "string", "json": "string"}


def arrow_schema(pa: Any, header: dict[str, Any] | None = None) -> Any:
    """The Parquet schema of an export (`pa` is the pyarrow module); `header` as metadata."""
    metadata = None if header is None else {"evals_run": json.dumps(header, ensure_ascii=False)}
    return pa.schema(
        [(name, getattr(pa, _ARROW[COLUMN_KINDS[name]])()) for name in FIELDS], metadata=metadata
    )


# pandas dtypes: nullable Int64/boolean where the store allows None, so a missing token
# count stays <NA> instead of turning the column into floats
_PANDAS = {
    ("int", False): "int64",
    ("int", True): "Int64",
    ("float", False): "float64",
    ("float", True): "float64",
    ("bool", False): "bool",
    ("bool", True): "boolean",
    ("str", False): "object",
    ("str", True): "object",
    ("json", True): "object",
}


def results_frame(store: ResultStore, run_id: str) -> Any:
    """A run's results as a pandas DataFrame: the export's columns in its order, JSON
    columns as Python objects, ints as int64 (Int64 when nullable), `passed` as boolean
    (<NA> for an error), floats as float64 (NaN for None), strings as str or None."""
    import pandas as pd

    run_header(store, run_id)  # the run must exist
    columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
    for row in store.results(run_id):
        for name in FIELDS:
            columns[name].append(getattr(row, name))
    return pd.DataFrame(
        {name: pd.Series(values, dtype=_PANDAS[_KINDS[name]]) for name, values in columns.items()}
    )


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
