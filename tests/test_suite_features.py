"""Suite features for promptfoo-style suites: `defaults:`, a case's `matrix:`, `file://`
vars and prompts, weights and a case `threshold`, named `metric:`s.

Expected figures are worked out by hand in each test from what the sim answers
("Repeat: X" is answered with X).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.config.suite import load_suite
from evals.errors import InputError
from tests.helpers import evals_cli, store_query, write

CONFIG = "models:\n  perfect: {accuracy: 1.0}\n"

SUITE = """\
name: features
prompt: "{{ q }}{{ tail }}"
defaults:
  vars: {tail: ""}
  threshold: 0.5
graders:
  - {type: contains, value: hello, weight: 2, metric: Greets}
cases:
  - id: from-file
    vars: {q: "file://question.txt"}
  - id: grid
    matrix: {q: ["Repeat: hi", "Repeat: hello there"], tail: ["", " now"]}
    graders: [{type: regex, value: "^hi", metric: Starts}]
  - id: strict
    vars: {q: "Repeat: hello"}
    threshold: 1.0
    graders: [{type: regex, value: "^bye"}]
  - id: report-only
    vars: {q: "Repeat: hello"}
    graders: [{type: regex, value: "^bye", weight: 0, metric: Starts}]
"""


def _write(root: Path) -> Path:
    write(root / "question.txt", "Repeat: hello")
    return write(root / "suite.yaml", SUITE)


def test_cases_get_defaults_matrices_and_file_values(tmp_path: Path) -> None:
    cases = list(load_suite(_write(tmp_path)).cases())
    assert [c.id for c in cases] == [
        "from-file",
        "grid[q=Repeat: hi,tail=]",
        "grid[q=Repeat: hi,tail= now]",
        "grid[q=Repeat: hello there,tail=]",
        "grid[q=Repeat: hello there,tail= now]",
        "strict",
        "report-only",
    ]
    assert cases[0].vars == {"tail": "", "q": "Repeat: hello"}  # default var, file read
    assert cases[2].vars == {"tail": " now", "q": "Repeat: hi"}  # the matrix wins
    assert [c.threshold for c in cases] == [0.5] * 5 + [1.0, 0.5]


def test_file_prompts_and_missing_files(tmp_path: Path) -> None:
    write(tmp_path / "chat.json", json.dumps([
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "{{ q }}"},
    ]))  # fmt: skip
    write(tmp_path / "plain.txt", "Repeat: {{ q }}")
    suite = write(
        tmp_path / "s.yaml",
        "name: p\nprompts: {chat: 'file://chat.json', plain: 'file://plain.txt'}\n"
        "cases: [{vars: {q: x}, expect: x}]\ngraders: [{type: exact}]\n",
    )
    prompts = load_suite(suite).prompts
    assert [m["role"] for m in prompts["chat"].render({"q": "x"})] == ["system", "user"]
    assert prompts["plain"].render({"q": "x"})[0]["content"] == "Repeat: x"
    missing = write(tmp_path / "m.yaml", suite.read_text().replace("plain.txt", "nope.txt"))
    with pytest.raises(InputError, match=r"nope\.txt cannot be read") as err:
        load_suite(missing)
    assert err.value.line == 2
    bad_var = write(
        tmp_path / "v.yaml",
        "name: v\nprompt: '{{ q }}'\ncases:\n  - {id: a, vars: {q: 'file://gone.txt'}}\n"
        "graders: [{type: exact}]\n",
    )
    with pytest.raises(InputError, match=r"case 'a': var `q` names file://gone\.txt") as err:
        list(load_suite(bad_var).cases())
    assert err.value.line == 4


@pytest.fixture(scope="module")
def run(sim: Any, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("features")
    suite = _write(root)
    runner = write(
        root / "r.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        "models:\n  - {id: perfect, endpoint: sim}\n",
    )
    done = evals_cli(root, "run", str(suite), "-r", str(runner), "--summary-json", "s.json")
    assert done.returncode == 0, done.stderr
    return root, json.loads((root / "s.json").read_text())


def test_weighted_scores_thresholds_and_metrics_over_http(run) -> None:
    root, summary = run
    stored = {r["case_id"]: r for r in store_query(root, "SELECT * FROM results")}
    # By hand. contains hello weighs 2, the case's regex 1; a case passes at score >= 0.5.
    expected = {
        "from-file": (True, 1.0),  # "hello": contains passes, nothing else
        "grid[q=Repeat: hi,tail=]": (False, 1 / 3),  # "hi": regex only: 1/3
        "grid[q=Repeat: hi,tail= now]": (False, 1 / 3),
        "grid[q=Repeat: hello there,tail=]": (True, 2 / 3),  # contains only: 2/3
        "grid[q=Repeat: hello there,tail= now]": (True, 2 / 3),
        "strict": (False, 2 / 3),  # threshold 1.0: 2/3 is not enough
        "report-only": (True, 1.0),  # the failing regex weighs 0: reported, not counted
    }
    assert set(stored) == set(expected)
    for case_id, (passed, score) in expected.items():
        assert bool(stored[case_id]["passed"]) == passed, case_id
        assert stored[case_id]["score"] == pytest.approx(score), case_id
    (row,) = summary["rows"]
    assert row["samples"] == 7 and row["passed"] == 4
    # Greets: contains on all 7 answers, 5 contain "hello"; Starts: 4 grid regexes pass
    # for the 2 "hi" answers, and report-only's regex fails: 2 of 5
    assert row["metrics"] == {
        "Greets": {"mean": pytest.approx(5 / 7), "count": 7},
        "Starts": {"mean": pytest.approx(2 / 5), "count": 5},
    }


def test_the_report_has_a_column_per_metric(run) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import chromium

    root, summary = run
    with chromium() as driver:
        driver.get((root / "reports" / summary["run_id"] / "index.html").as_uri())
        heads = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "th.metric")]
        assert heads == ["Greets", "Starts"]
        cells = driver.find_elements(By.CSS_SELECTOR, "table.comparison tbody td.metric")
        assert [c.text for c in cells] == [f"{5 / 7:.3f}", f"{2 / 5:.3f}"]
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_a_changed_file_changes_the_suite_fingerprint(tmp_path: Path) -> None:
    from evals.config.fingerprint import suite_fingerprint

    suite = _write(tmp_path)
    before = suite_fingerprint(load_suite(suite))
    write(tmp_path / "question.txt", "Repeat: goodbye")
    assert suite_fingerprint(load_suite(suite)) != before


def test_a_templated_grader_value_is_rendered_with_the_case_vars(tmp_path: Path) -> None:
    from evals.graders import GradeContext, build_grader

    grader = build_grader({"type": "icontains", "value": "{{ city }}"})
    ctx = GradeContext(expect=None, vars={"city": "paris"}, case_id="c")
    assert grader.grade("I love Paris", ctx).passed
    # the case's vars are data: a var holding template markup is not rendered again
    literal = GradeContext(expect=None, vars={"city": "{{ 7 * 7 }}"}, case_id="c")
    assert grader.grade("49", literal).passed is False
    assert grader.grade("it is {{ 7 * 7 }}", literal).passed
    missing = grader.grade("x", GradeContext(expect=None, vars={}, case_id="c"))
    assert missing.error and "'city' is undefined" in missing.reason
    # caught before sending: `evals validate` names the case and the missing var
    suite = write(
        tmp_path / "t.yaml",
        "name: t\nprompt: '{{ q }}'\ncases:\n  - {id: a, vars: {q: x}}\n"
        "graders: [{type: icontains, value: '{{ city }}'}]\n",
    )
    done = evals_cli(tmp_path, "validate", str(suite))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "case 'a'" in done.stderr and "uses city" in done.stderr
