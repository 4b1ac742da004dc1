"""Imported promptfoo configs run: every example fixture against `evals sim`, and a round
trip whose every verdict is worked out here by hand.

The fixtures are modelled on promptfoo's examples (sources in tests/test_import_promptfoo.py
and in each fixture's first comment); sim-roundtrip was written for this test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, evals_cli, store_query, write

FIXTURES = REPO / "tests" / "fixtures" / "promptfoo"
EXAMPLES = [
    "simple-csv", "simple-test", "eval-self-grading", "mmlu", "compare-llama-vs-gpt",
    "csv-metadata", "groq", "ollama", "multiple-translations",
]  # fmt: skip
CONFIG = "models:\n  perfect: {accuracy: 1.0}\n  embed: {embedding_dimensions: 64}\n"


def _import(root: Path, name: str) -> Path:
    out = root / name
    done = evals_cli(root, "import", "promptfoo", str(FIXTURES / name / "promptfooconfig.yaml"),
                     "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    (suite,) = [p for p in out.glob("*.yaml") if p.name not in ("cases.yaml", "runner.yaml")]
    return suite


def _runner(root: Path, sim: Any) -> Path:
    return write(
        root / "sim-runner.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        "models:\n  - {id: perfect, endpoint: sim}\n"
        "judge: {id: judge, endpoint: sim, model: perfect}\n"
        "embedder: {id: embedder, endpoint: sim, model: embed}\n",
    )


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_imported_example_runs_on_the_sim(name: str, sim: Any, tmp_path: Path) -> None:
    suite = _import(tmp_path, name)
    done = evals_cli(
        tmp_path, "run", str(suite), "-r", str(_runner(tmp_path, sim)), "--limit", "3",
        "--summary-json", "s.json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert rows and all(r["samples"] > 0 for r in rows)
    assert [r["errors"] for r in rows] == [0] * len(rows)  # every grader gave a verdict
    for result in store_query(tmp_path, "SELECT grades FROM results"):
        grades = json.loads(result["grades"])
        assert grades and all(g["reason"] for g in grades)


def test_round_trip_verdicts_match_the_hand_computation(sim: Any, tmp_path: Path) -> None:
    suite = _import(tmp_path, "sim-roundtrip")
    done = evals_cli(
        tmp_path, "run", str(suite), "-r", str(_runner(tmp_path, sim)), "--summary-json", "s.json"
    )
    assert done.returncode == 0, done.stderr
    # "Repeat: G, N P" is answered "G, N P". Graders: defaultTest's not-icontains goodbye
    # (weight 1) on every case; a case passes at weighted score >= 0.5 (defaultTest), or
    # its own threshold.
    expected = {
        # starts-with Hello (weight 3) + icontains {{ name }} (1) + not-icontains (1)
        ("Hello", "Ann"): (True, 5 / 5),
        ("Hello", "Bob"): (True, 5 / 5),
        ("Hi", "Ann"): (False, 2 / 5),  # starts-with fails: 2 of 5 < 0.5
        ("Hi", "Bob"): (False, 2 / 5),
        ("Goodbye", "Cy"): (True, 1 / 2),  # not-icontains fails, contains Cy: 0.5 >= 0.5
        ("Hi", "Di"): (False, 2 / 3),  # "Hi, Di?": equals "Hi, Di!" fails; threshold 1
    }
    got = {}
    for row in store_query(tmp_path, "SELECT vars, passed, score FROM results"):
        vars_ = json.loads(row["vars"])
        got[(vars_["greeting"], vars_["name"])] = (bool(row["passed"]), row["score"])
    assert got.keys() == expected.keys()  # 2 x 2 from the array vars, + 2
    for key, (passed, score) in expected.items():
        assert got[key][0] == passed, key
        assert got[key][1] == pytest.approx(score), key
    (row,) = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert (row["samples"], row["passed"]) == (6, 3)
    assert row["metrics"]["Polite"]["mean"] == pytest.approx(5 / 6)  # only Goodbye fails it
    assert row["metrics"]["Formal"] == {"mean": pytest.approx(2 / 4), "count": 4}
