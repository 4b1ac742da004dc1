"""Suite fingerprints: one hash over the suite file and the files it reads."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from evals.config.fingerprint import suite_fingerprint
from evals.config.suite import load_suite
from tests.helpers import REPO, write

SUITE = """\
name: fp
prompt: "What is {{ a }}?"
cases: cases.jsonl
graders:
  - {type: json_schema, schema_file: person.schema.json}
"""
CASES = '{"id": "c1", "vars": {"a": 1}, "expect": 1}\n'
SCHEMA = '{"type": "object"}\n'


def _suite(folder: Path, suite: str = SUITE, cases: str = CASES, schema: str = SCHEMA) -> Path:
    write(folder / "cases.jsonl", cases)
    write(folder / "person.schema.json", schema)
    return write(folder / "fp.yaml", suite)


def test_the_same_files_give_the_same_fingerprint_wherever_they_are(tmp_path: Path) -> None:
    one = suite_fingerprint(load_suite(_suite(tmp_path / "one")))
    two = suite_fingerprint(load_suite(_suite(tmp_path / "two")))
    assert one == two and len(one) == 64 and int(one, 16) >= 0


def test_a_change_to_any_file_changes_it(tmp_path: Path) -> None:
    base = suite_fingerprint(load_suite(_suite(tmp_path / "base")))
    changed = [
        _suite(tmp_path / "suite", suite=SUITE.replace("What is", "What's")),
        _suite(tmp_path / "cases", cases=CASES.replace('"expect": 1', '"expect": 2')),
        _suite(tmp_path / "schema", schema='{"type": "object", "required": ["a"]}\n'),
    ]
    prints = [suite_fingerprint(load_suite(path)) for path in changed]
    assert len({base, *prints}) == 4


def test_inline_cases_are_part_of_the_suite_file(tmp_path: Path) -> None:
    text = 'name: inline\nprompt: "{{ a }}"\ncases: [{vars: {a: 1}, expect: "1"}]\n'
    text += "graders: [{type: exact}]\n"
    path = write(tmp_path / "inline.yaml", text)
    data = path.read_bytes()
    expected = hashlib.sha256(f"suite\0{len(data)}\0".encode() + data).hexdigest()
    assert suite_fingerprint(load_suite(path)) == expected


def test_reference_suites_have_fingerprints(tmp_path: Path) -> None:
    structured = REPO / "suites" / "reference" / "structured.yaml"
    copy = tmp_path / "reference" / "structured.yaml"
    copy.parent.mkdir()
    shutil.copy(structured, copy)
    shutil.copytree(REPO / "suites" / "data", tmp_path / "data")
    assert suite_fingerprint(load_suite(structured)) == suite_fingerprint(load_suite(copy))
    (tmp_path / "data" / "person.schema.json").write_text('{"type": "object"}\n')
    assert suite_fingerprint(load_suite(structured)) != suite_fingerprint(load_suite(copy))


def test_a_run_records_each_suite_fingerprint(tmp_path: Path) -> None:
    from evals.run.options import RunOptions
    from evals.run.prepare import prepare, run_config

    suite = _suite(tmp_path)
    runner = write(
        tmp_path / "runner.yaml",
        'endpoints:\n  local: {base_url: "http://127.0.0.1:9/v1", api_key_env: null}\n'
        "models:\n  - {id: m, endpoint: local}\n",
    )
    options = RunOptions(suite_paths=[suite], runner_path=runner)
    config = run_config(options, prepare(options))
    assert config["suite_fingerprints"] == {"fp": suite_fingerprint(load_suite(suite))}
