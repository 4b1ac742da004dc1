"""`evals load` grades what it received as a run does: model-graded graders call the
runner's judge (through the engine, priced), or count as grading errors without one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import chat_log, evals_cli, write

CONFIG = "models:\n  fast: {accuracy: 1.0}\n  judge: {accuracy: 1.0}\n"
SUITE = """\
name: rubric
prompt: "Repeat: {{ text }}"
cases:
  - {id: a, vars: {text: hello there world}, expect: hello there world}
graders: [{type: llm_rubric, rubric: "says the words back"}]
"""


def _load(tmp_path: Path, sim: Any, judge: bool) -> dict[str, Any]:
    suite = write(tmp_path / "s.yaml", SUITE)
    runner = write(
        tmp_path / "r.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        "models:\n  - {id: fast, endpoint: sim}\n"
        + ("judge: {id: judge, endpoint: sim, model: judge}\n" if judge else "")
        + "pricing:\n  judge: {input: 1.0, output: 2.0}\n  fast: {input: 0, output: 0}\n",
    )
    out = tmp_path / "load.json"
    done = evals_cli(tmp_path, "load", str(suite), "-r", str(runner), "--rate", "20",
                     "--requests", "6", "--json", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(out.read_text())["rows"]
    return row


def test_the_judge_grades_a_load_tests_answers(sim: Any, paths: dict, tmp_path: Path) -> None:
    before = len(chat_log(paths["log"])) if paths["log"].exists() else 0
    row = _load(tmp_path, sim, judge=True)
    judged = [e for e in chat_log(paths["log"])[before:] if e["model"] == "judge"]
    # six identical answers: the judge is asked once, then its verdict is replayed
    assert len(judged) == 1
    assert (row["completed"], row["graded"], row["grading_errors"]) == (6, 6, 0)
    assert row["accuracy"] == 1.0
    usage = judged[0]["usage"]
    paid = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1e6
    # each answer's grading is booked at what its verdict cost (replays at the original
    # cost, as a run's results are): six times the one call the judge was paid for
    assert abs(row["grader_cost_usd"] - 6 * paid) < 1e-12


def test_without_a_judge_model_graded_answers_are_grading_errors(sim: Any, tmp_path: Path) -> None:
    row = _load(tmp_path, sim, judge=False)
    assert (row["completed"], row["graded"], row["grading_errors"]) == (6, 0, 6)
    assert row["accuracy"] is None
