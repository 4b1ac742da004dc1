"""`evals export` and `evals.load_run`: every stored field of every result, as JSONL, CSV,
Parquet and a pandas DataFrame, each checked row for row and field for field against
the store's own rows, read here with sqlite3.

The run (over HTTP against `evals sim`) has what makes a round trip fail: tagged and
untagged cases, tool calls, samples that errored (passed None, no usage), a model whose
responses carry no usage (token counts None), unpriced and priced models, streamed
timings, cache hits and misses, and a second run in the same store.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import evals
from evals.errors import InputError
from evals.store import ResultRecord, open_store
from evals.store import export as export_module
from tests.helpers import evals_cli, stored_results, write

CONFIG = """\
models:
  m: {accuracy: 0.6, cache: true}
  bare: {accuracy: 0.5, usage_style: none}
  down: {accuracy: 1.0, faults: [{kind: "500", rate: 1.0, times: null}]}
"""
TAGGED = """\
name: tagged
prompts:
  terse:
    - {role: user, content: "What is {{ a }} + {{ b }}?"}
  chatty:
    - {role: user, content: "Please add {{ a }} and {{ b }}. End with 'Answer: N'."}
params: {max_tokens: 24, temperature: 0}
cases:
  - {id: small-1, vars: {a: 1, b: 2}, expect: 3, tags: [small]}
  - {id: small-2, vars: {a: 2, b: 2}, expect: 4, tags: [small, even]}
  - {id: carry-1, vars: {a: 7, b: 8}, expect: 15, tags: [carry]}
  - {id: carry-2, vars: {a: 9, b: 9}, expect: 18, tags: [carry, even]}
  - {id: plain, vars: {a: 3, b: 3}, expect: 6}
graders:
  - {type: numeric, extract: "(-?\\\\d+)\\\\D*$"}
"""
TOOLS = """\
name: weather
prompt: "{{ question }}"
tools:
  - type: function
    function:
      name: get_weather
      parameters: {type: object, properties: {city: {type: string}}, required: [city]}
cases:
  - id: paris
    vars: {question: "What is the weather in Paris?"}
    expect_tool_calls: [{name: get_weather, arguments: {city: Paris}}]
    tags: [tools, "météo"]
"""
JSON_COLUMNS = ("request", "vars", "expect", "tool_calls", "grades", "tags")
BOOL_COLUMNS = ("passed", "cache_hit")
ORDER = ("suite", "prompt", "model", "id")  # the export's row order


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("export")
    suites = [str(write(root / "tagged.yaml", TAGGED)), str(write(root / "tools.yaml", TOOLS))]
    runner = write(
        root / "r.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        f'  broken: {{base_url: "{sim.base_url}", max_attempts: 1}}\n'
        "models:\n  - {id: m, endpoint: sim, stream: true}\n"
        "  - {id: bare, endpoint: sim}\n  - {id: down, endpoint: broken}\n"
        "pricing:\n  m: {input: 1.0, cached_input: 0.5, output: 2.0}\n",
    )
    # a first run has m answer two cases of one suite: the second run replays them
    first = evals.run(
        suites[:1],
        runner,
        store_path=root / ".evals" / "evals.sqlite",
        out_dir=root / "first",
        model_ids=["m"],
        limit=2,
    )
    assert first["complete"] is True
    result = evals_cli(root, "run", *suites, "-r", str(runner), "--repeat", "2")
    assert result.returncode == 0, result.stderr
    run_id = result.stderr.splitlines()[0].split("run: ", 1)[1]
    db = sqlite3.connect(root / ".evals" / "evals.sqlite")
    try:
        schema = {row[1]: row[2] for row in db.execute("PRAGMA table_info(results)")}
    finally:
        db.close()
    rows = [r for r in stored_results(root) if r["run_id"] == run_id]
    rows.sort(key=lambda r: tuple(r[name] for name in ORDER))
    return {"root": root, "run_id": run_id, "rows": rows, "schema": schema}


def _kind(run: dict[str, Any], name: str) -> str:
    """int, float, bool, str or json: from the results table's declared types."""
    if name in JSON_COLUMNS:
        return "json"
    if name in BOOL_COLUMNS:
        return "bool"
    return {"INTEGER": "int", "REAL": "float", "TEXT": "str"}[run["schema"][name]]


def _stored(run: dict[str, Any], row: sqlite3.Row, name: str) -> Any:
    """A stored value as every export should give it back: JSON decoded, flags as bool."""
    value, kind = row[name], _kind(run, name)
    if value is None:
        return None
    if kind == "json":
        return json.loads(value) if value else None  # tool_calls: '' or NULL is none
    return bool(value) if kind == "bool" else value


def _same_rows(run: dict[str, Any], got: list[dict[str, Any]], expect: Callable) -> None:
    """`got` holds the run's rows in the export's order, every column equal (`==`, floats
    exactly) to `expect(stored value, column)`."""
    rows = run["rows"]
    assert [line["id"] for line in got] == [row["id"] for row in rows]
    for line, row in zip(got, rows, strict=True):
        assert list(line) == list(run["schema"])  # every column, in the table's order
        for name in run["schema"]:
            want = expect(_stored(run, row, name), name)
            assert line[name] == want and type(line[name]) is type(want), (row["id"], name)


def test_the_run_has_what_a_round_trip_can_get_wrong(run) -> None:
    rows = run["rows"]
    assert len(rows) == 66  # (5 cases x 2 prompts + 1 case) x 3 models x 2 repeats
    assert len(stored_results(run["root"])) > len(rows)  # the first run is not exported
    values = {name: {row[name] for row in rows} for name in run["schema"]}
    assert {None, 0, 1} <= values["passed"] and values["cache_hit"] == {0, 1}
    assert None in values["prompt_tokens"] and any(values["cached_tokens"] - {None, 0})
    assert None in values["cost_usd"] and len(values["cost_usd"]) > 2
    assert None in values["ttft_s"] and len(values["ttft_s"]) > 2
    assert None in values["tool_calls"] and len(values["tool_calls"]) > 2
    tags = {tuple(json.loads(text)) for text in values["tags"]}
    assert {(), ("small", "even"), ("tools", "météo")} <= tags
    assert None in values["error"] and len(values["error"]) == 2


def test_jsonl_has_the_run_line_then_every_field_of_every_result(run) -> None:
    root, run_id = run["root"], run["run_id"]
    result = evals_cli(root, "export", run_id)  # jsonl to stdout by default
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    header = lines[0]["run"]
    assert header["run_id"] == run_id and header["suites"] == ["tagged", "weather"]
    assert header["complete"] is True and header["export_version"] == 1
    assert header["config"]["repeat"] == 2
    _same_rows(run, lines[1:], lambda value, name: value)


def test_jsonl_to_a_file_and_latest(run) -> None:
    root = run["root"]
    result = evals_cli(root, "export", "latest", "--out", "out/x.jsonl")
    assert result.returncode == 0, result.stderr
    lines = (root / "out/x.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["run"]["run_id"] == run["run_id"] and len(lines) == 67
    assert result.stdout == "" and "66 results" in result.stderr


def _csv_cell(cell: str, kind: str) -> Any:
    if cell == "":
        return None
    if kind == "json":
        return json.loads(cell)
    if kind == "bool":
        return {"True": True, "False": False}[cell]
    return {"int": int, "float": float, "str": str}[kind](cell)


def test_csv_has_a_header_and_every_field_as_text(run) -> None:
    root, run_id = run["root"], run["run_id"]
    result = evals_cli(root, "export", run_id, "--format", "csv", "--out", "x.csv")
    assert result.returncode == 0, result.stderr
    with (root / "x.csv").open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        assert reader.fieldnames == list(run["schema"])
        got = [{k: _csv_cell(v, _kind(run, k)) for k, v in line.items()} for line in reader]
    # an empty cell is None: CSV cannot tell "" from None
    _same_rows(run, got, lambda value, name: None if value == "" else value)


def test_parquet_has_typed_columns_and_the_run_as_metadata(run, tmp_path: Path) -> None:
    root, run_id = run["root"], run["run_id"]
    out = tmp_path / "new" / "dir" / "x.parquet"
    result = evals_cli(root, "export", run_id, "--format", "parquet", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    for field in table.schema:
        assert field.type == arrow.get(_kind(run, field.name), pa.string()), field.name
    store = open_store(root / ".evals" / "evals.sqlite")
    try:
        header = export_module.run_header(store, run_id)  # the JSONL export's run line
    finally:
        store.close()
    assert json.loads(table.schema.metadata[b"evals_run"]) == header
    assert header["run_id"] == run_id and header["config"]["repeat"] == 2
    got = table.to_pylist()
    for line in got:
        for name in JSON_COLUMNS:
            line[name] = None if line[name] is None else json.loads(line[name])
    _same_rows(run, got, lambda value, name: value)


def _python(value: Any) -> Any:
    """A DataFrame cell as a plain value: <NA> and NaN are None, numpy scalars unboxed."""
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") and not isinstance(value, list) else value


def test_load_run_agrees_with_the_store_and_has_proper_dtypes(run) -> None:
    store = run["root"] / ".evals" / "evals.sqlite"
    frame = evals.load_run(run["run_id"], store)
    assert list(frame.columns) == list(run["schema"])
    for name in frame.columns:
        nullable = any(row[name] is None for row in run["rows"])
        dtype = {
            ("int", True): "Int64",
            ("int", False): "int64",
            ("bool", True): "boolean",
            ("bool", False): "bool",
            ("float", True): "float64",
            ("float", False): "float64",
        }.get((_kind(run, name), nullable), "object")
        assert str(frame[name].dtype) == dtype, name
    got = [{k: _python(v) for k, v in line.items()} for line in frame.to_dict("records")]
    _same_rows(run, got, lambda value, name: value)
    # the same frame from `latest`, a path given as str, an open store, or store_path=
    opened = open_store(store)
    try:
        same = [
            evals.load_run(store=str(store)),
            evals.load_run("latest", opened),
            evals.load_run("latest", store_path=store),
        ]
        assert opened.run(run["run_id"]) is not None  # left open
    finally:
        opened.close()
    for other in same:
        pd.testing.assert_frame_equal(other, frame)
    assert evals.load_summary(store=store)["run_id"] == run["run_id"]


def test_accuracy_by_tag_as_the_readme_shows(run) -> None:
    frame = evals.load_run("latest", run["root"] / ".evals" / "evals.sqlite")
    by_tag = frame.explode("tags").groupby(["model", "tags"])["passed"].mean()
    assert set(by_tag.index) == {
        (model, tag)
        for model in ("m", "bare", "down")
        for tag in ("small", "even", "carry", "tools", "météo")
    }  # an untagged case is in no group
    for (model, tag), accuracy in by_tag.items():
        verdicts = [
            bool(row["passed"])
            for row in run["rows"]
            if row["model"] == model and tag in json.loads(row["tags"])
            if row["passed"] is not None  # a sample that errored has no verdict
        ]
        if model == "down":  # every request failed: no accuracy
            assert not verdicts and accuracy is pd.NA
        else:
            assert accuracy == sum(verdicts) / len(verdicts)


def test_parquet_needs_a_file_and_unknown_runs_are_bad_input(run) -> None:
    root = run["root"]
    result = evals_cli(root, "export", run["run_id"], "--format", "parquet")
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert "--out" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    for fmt in ("jsonl", "csv", "parquet"):
        result = evals_cli(root, "export", "nope", "--format", fmt, "--out", f"n.{fmt}")
        assert result.returncode == 2 and result.stderr.startswith("error: no run 'nope'")
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not (root / f"n.{fmt}").exists()
    with pytest.raises(InputError) as raised:
        evals.load_run("nope", root / ".evals" / "evals.sqlite")
    assert "no run 'nope'" in str(raised.value)


def test_a_run_without_results_exports_empty_files(tmp_path: Path) -> None:
    from evals.store.export import FIELDS, write_csv, write_jsonl, write_parquet

    store = open_store(tmp_path / "evals.sqlite")
    try:
        store.start_run("empty", ["s"], "2026-01-01T00:00:00", {"argv": ["run"]})
        store.finish_run("empty", "2026-01-01T00:00:01", False, "interrupt")
        out = io.StringIO()
        assert write_jsonl(store, "empty", out) == 0
        assert json.loads(out.getvalue())["run"]["stopped_reason"] == "interrupt"
        out = io.StringIO()
        assert write_csv(store, "empty", out) == 0
        assert out.getvalue() == ",".join(FIELDS) + "\r\n"
        assert write_parquet(store, "empty", tmp_path / "e.parquet") == 0
        table = pq.read_table(tmp_path / "e.parquet")
        assert table.num_rows == 0 and table.column_names == list(FIELDS)
        assert json.loads(table.schema.metadata[b"evals_run"])["run_id"] == "empty"
        frame = evals.load_run("empty", store)
        assert len(frame) == 0 and list(frame.columns) == list(FIELDS)
        assert str(frame["prompt_tokens"].dtype) == "Int64"
        assert str(frame["passed"].dtype) == "boolean"
    finally:
        store.close()


ROWS = 2000
BATCH = 100  # the Parquet row group size for the streaming check: 5% of the rows


def _synthetic(run_id: str, i: int) -> ResultRecord:
    """An 8 kB result: enough rows of it make holding them all at once measurable."""
    return ResultRecord(
        run_id=run_id,
        suite="s",
        case_id=f"c{i}",
        prompt="p",
        model="m",
        repeat=0,
        request_hash=f"h{i}",
        request=json.dumps({"messages": [{"role": "user", "content": f"q{i} " + "q" * 4000}]}),
        vars=json.dumps({"i": i}),
        expect=json.dumps(i),
        output=f"a{i} " + "x" * 4000,
        tool_calls=None,
        finish_reason="stop",
        prompt_tokens=10,
        cached_tokens=None,
        completion_tokens=3,
        reasoning_tokens=None,
        latency_s=i / 7,
        cost_usd=None,
        error=None,
        error_class=None,
        attempts=1,
        passed=None if i % 5 == 0 else i % 2 == 0,
        score=1.0,
        grades="[]",
        created_at="2026-01-01T00:00:00+00:00",
        tags=json.dumps(["a", "b"]),
    )


def _peak(work: Callable[[], int], rows: int = ROWS) -> int:
    """Peak bytes Python allocated while `work` ran (it returns the rows it handled)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assert work() == rows
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _write(store: Any, run_id: str, path: Path) -> int:
    """Export `run_id` to `path` with the writer its suffix names."""
    if path.suffix == ".parquet":
        return export_module.write_parquet(store, run_id, path)
    writer = export_module.write_csv if path.suffix == ".csv" else export_module.write_jsonl
    with path.open("w", encoding="utf-8", newline="") as out:
        return writer(store, run_id, out)


def test_the_writers_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module, "_BATCH", BATCH)
    store = open_store(tmp_path / "evals.sqlite")
    try:
        for run_id, count in (("warm", 1), ("big", ROWS)):
            store.start_run(run_id, ["s"], "2026-01-01T00:00:00", {})
            for i in range(count):
                store.add_result(_synthetic(run_id, i))
        one = _synthetic("big", 0)
        data = ROWS * (len(one.request) + len(one.output or ""))  # the text stored, about
        for suffix in ("parquet", "csv", "jsonl"):  # first calls import (pyarrow: pandas)
            _write(store, "warm", tmp_path / f"warm.{suffix}")
        bound = data // 5
        # what a writer that kept the rows would hold: a quarter of them is over the bound
        quarter = ROWS // 4
        held = _peak(
            lambda: len([export_module._flat(row) for row in store.results("big", limit=quarter)]),
            quarter,
        )
        assert held > bound
        peaks = {
            suffix: _peak(lambda: _write(store, "big", tmp_path / f"big.{suffix}"))  # noqa: B023
            for suffix in ("parquet", "csv", "jsonl")
        }
    finally:
        store.close()
    print(f"data {data / 1e6:.1f} MB, bound {bound / 1e6:.2f} MB, a quarter of the rows held")
    print(f"{held / 1e6:.1f} MB, peaks (MB):", {k: round(v / 1e6, 3) for k, v in peaks.items()})
    for suffix, peak in peaks.items():
        assert peak < bound, (suffix, peak, bound)
    meta = pq.ParquetFile(tmp_path / "big.parquet").metadata
    assert meta.num_rows == ROWS and meta.num_row_groups == ROWS // BATCH
    assert all(meta.row_group(i).num_rows == BATCH for i in range(meta.num_row_groups))
    for suffix in ("csv", "jsonl"):
        with (tmp_path / f"big.{suffix}").open(encoding="utf-8") as lines:
            assert sum(1 for _ in lines) == ROWS + 1
