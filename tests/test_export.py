"""`evals export`: every stored field of every result, as JSONL, CSV (and Parquet with pyarrow).

Checked against the store's own rows, read here with sqlite3.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import evals_cli, read_jsonl, run_quickstart, stored_results, write

CONFIG = "models:\n  m: {accuracy: 0.6}\n"
JSON_COLUMNS = ("request", "vars", "expect", "grades")


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("export")
    runner = write(
        root / "r.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        "models:\n  - {id: m, endpoint: sim}\n"
        "pricing:\n  m: {input: 1.0, output: 2.0}\n",
    )
    result = run_quickstart(root, runner, "--repeat", "2")
    assert result.returncode == 0, result.stderr
    run_id = result.stderr.splitlines()[0].split("run: ", 1)[1]
    return {"root": root, "run_id": run_id, "rows": stored_results(root)}


def _columns(root: Path) -> list[str]:
    db = sqlite3.connect(root / ".evals" / "evals.sqlite")
    try:
        return [row[1] for row in db.execute("PRAGMA table_info(results)")]
    finally:
        db.close()


def _expected(row: sqlite3.Row, name: str) -> Any:
    value = row[name]
    if name in JSON_COLUMNS or (name == "tool_calls" and value):
        return json.loads(value)
    if name in ("passed", "cache_hit") and value is not None:
        return bool(value)
    return value


def test_jsonl_has_the_run_line_then_every_field_of_every_result(run) -> None:
    root, run_id = run["root"], run["run_id"]
    result = evals_cli(root, "export", run_id)  # jsonl to stdout by default
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    header = lines[0]["run"]
    assert header["run_id"] == run_id and header["suites"] == ["quickstart"]
    assert header["complete"] is True and header["export_version"] == 1
    assert header["config"]["repeat"] == 2
    results = lines[1:]
    stored = {r["id"]: r for r in run["rows"] if r["run_id"] == run_id}
    assert len(results) == len(stored) == 40  # 10 cases x 2 prompts x 2 repeats
    columns = _columns(root)
    for line in results:
        assert set(line) == set(columns)
        row = stored[line["id"]]
        for name in columns:
            assert line[name] == _expected(row, name), name


def test_jsonl_to_a_file_and_latest(run) -> None:
    root = run["root"]
    result = evals_cli(root, "export", "latest", "--out", "out/x.jsonl")
    assert result.returncode == 0, result.stderr
    lines = read_jsonl(root / "out/x.jsonl")
    assert lines[0]["run"]["run_id"] == run["run_id"] and len(lines) == 41
    assert result.stdout == "" and "40 results" in result.stderr


def test_csv_has_a_header_and_json_columns_as_json_text(run) -> None:
    root, run_id = run["root"], run["run_id"]
    result = evals_cli(root, "export", run_id, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == _columns(root) and len(rows) == 40
    stored = {r["id"]: r for r in run["rows"]}
    for line in rows:
        row = stored[int(line["id"])]
        for name in JSON_COLUMNS:
            assert json.loads(line[name]) == json.loads(row[name])
        assert line["case_id"] == row["case_id"] and int(line["repeat"]) == row["repeat"]
        assert line["output"] == (row["output"] or "")


def test_parquet(run, tmp_path: Path) -> None:
    root, run_id = run["root"], run["run_id"]
    out = tmp_path / "x.parquet"
    result = evals_cli(root, "export", run_id, "--format", "parquet", "--out", str(out))
    if importlib.util.find_spec("pyarrow") is None:
        assert result.returncode == 2
        assert "pyarrow" in result.stderr and "pip install pyarrow" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()
        return
    assert result.returncode == 0, result.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.num_rows == 40 and table.column_names == _columns(root)
    header = json.loads(table.schema.metadata[b"evals_run"])
    assert header["run_id"] == run_id


def test_parquet_needs_a_file_and_unknown_runs_are_bad_input(run) -> None:
    root = run["root"]
    result = evals_cli(root, "export", run["run_id"], "--format", "parquet")
    assert result.returncode == 2 and "--out" in result.stderr
    result = evals_cli(root, "export", "nope", "--out", "n.jsonl")
    assert result.returncode == 2 and result.stderr.startswith("error: no run 'nope'")
    assert not (root / "n.jsonl").exists()


class _CountingStore:
    """Just enough of a ResultStore to watch the JSONL writer consume results one by one."""

    path = "memory"

    def __init__(self, template: sqlite3.Row, count: int, out: io.StringIO):
        self.template, self.count, self.out = template, count, out

    def run(self, run_id: str) -> dict[str, Any]:
        keys = ("run_id", "suites", "started_at", "finished_at", "complete", "planned")
        return {**dict.fromkeys(keys), "run_id": run_id, "config": {}}

    def results(self, run_id: str):
        from evals.store import ResultRow

        for i in range(self.count):
            # every result before this one is already written out: nothing is held back
            assert self.out.getvalue().count("\n") == 1 + i
            yield ResultRow.from_db({**dict(self.template), "id": i})


def test_the_jsonl_writer_streams(run) -> None:
    from evals.store.export import write_jsonl

    out = io.StringIO()
    assert write_jsonl(_CountingStore(run["rows"][0], 500, out), "r", out) == 500
    assert out.getvalue().count("\n") == 501
