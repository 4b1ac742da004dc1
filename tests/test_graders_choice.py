"""`type: choice`: the option a model's text answers, read the ways models write it."""

from __future__ import annotations

from typing import Any

import pytest

from evals.graders import GradeContext, build_grader
from evals.graders.choice import expected_index, parse_answer

CONFIG = "models:\n  m: {accuracy: 1.0}\n"  # the sim of the HTTP test below
CAPITALS = ["Berlin", "Paris", "Rome", "Madrid"]  # A B C D
CITIES = ["York", "New York", "Boston"]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("B", 1),
        ("b", 1),
        ("(B)", 1),
        ("B.", 1),
        ("  (c)  ", 2),
        ("Answer: B", 1),
        ("answer: d", 3),
        ("The answer is C.", 2),
        ("The answer is (A).", 0),
        ("I think the correct option is D because Madrid is the capital.", 3),
        ("B) Paris", 1),
        ("C. Rome", 2),
        ("Paris", 1),
        ("The capital of France is Paris.", 1),
        ("It is madrid", 3),
        ("A", 0),
        ("I'd go with B", 1),
        ("New York", 1),  # the longer option, not "York" inside it
    ],
)
def test_answers_are_read(text: str, index: int) -> None:
    choices = CITIES if "York" in text else CAPITALS
    assert parse_answer(text, choices)[0] == index


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I do not know.",
        "A good question: Berlin or Paris?",  # two options named, "A" is the article
        "E",  # not one of the four options
        "Either B or C",
    ],
)
def test_no_single_option_is_no_answer(text: str) -> None:
    assert parse_answer(text, CAPITALS)[0] is None


def test_expected_as_letter_index_or_text() -> None:
    assert expected_index("C", CAPITALS) == 2
    assert expected_index("c", CAPITALS) == 2
    assert expected_index(2, CAPITALS) == 2
    assert expected_index("rome", CAPITALS) == 2
    assert isinstance(expected_index(4, CAPITALS), str)  # outside the options
    assert isinstance(expected_index("E", CAPITALS), str)
    assert isinstance(expected_index(True, CAPITALS), str)


def _grade(output: str, expect: Any, **vars_: Any) -> Any:
    grader = build_grader({"type": "choice"})
    ctx = GradeContext(expect=expect, vars={"choices": CAPITALS, **vars_}, case_id="q")
    return grader.grade(output, ctx)


def test_grades_with_the_reason() -> None:
    right = _grade("Answer: B", "B")
    assert right.passed and "answered B (Paris)" in right.reason
    wrong = _grade("The answer is C", 1)
    assert not wrong.passed and not wrong.error
    assert "answered C (Rome)" in wrong.reason and "expected B (Paris)" in wrong.reason
    none = _grade("No idea", "Paris")
    assert not none.passed and not none.error and "no option" in none.reason


def test_a_case_without_options_is_a_grader_error() -> None:
    grader = build_grader({"type": "choice"})
    result = grader.grade("B", GradeContext(expect="B", vars={"question": "?"}, case_id="q"))
    assert result.error and "choices" in result.reason
    other = build_grader({"type": "choice", "choices_var": "options"})
    ok = other.grade("B", GradeContext(expect="B", vars={"options": ["x", "y"]}, case_id="q"))
    assert ok.passed


def test_option_probabilities_from_the_first_tokens_logprobs() -> None:
    import math

    from evals.graders.choice import option_probabilities

    # " B" 0.6, "B" 0.1 (the same option), " A" 0.2, "The" 0.1 (not an option)
    top = [(" B", math.log(0.6)), ("B", math.log(0.1)), (" A", math.log(0.2)), ("The", -2.3)]
    probs = option_probabilities(top, 4)
    assert probs is not None
    # options only: A 0.2, B 0.7 of 0.9 in all
    assert probs == pytest.approx([0.2 / 0.9, 0.7 / 0.9, 0.0, 0.0])
    assert option_probabilities([("Hello", -0.1), (" E", -1.0)], 4) is None  # E: no option


def test_brier_score_by_hand() -> None:
    from evals.stats.calibration import brier_score, mean_brier

    # (0.7 - 1)^2 + 0.2^2 + 0.1^2 + 0^2 = 0.09 + 0.04 + 0.01 = 0.14
    assert brier_score([0.2, 0.7, 0.1, 0.0], 1) == pytest.approx(0.14)
    assert brier_score([0.25] * 4, 0) == pytest.approx(0.75)  # uniform: 1 - 1/4
    assert brier_score([0.0, 1.0], 0) == pytest.approx(2.0)  # sure and wrong
    assert mean_brier([0.14, 0.75]) == pytest.approx(0.445) and mean_brier([]) is None
    with pytest.raises(ValueError):
        brier_score([0.5, 0.5], 2)


def test_shuffled_order_is_reproducible_and_varies_by_repeat() -> None:
    from evals.graders.choice import shuffled_order

    first = shuffled_order(4, 7, "q1", 0)
    assert sorted(first) == [0, 1, 2, 3]
    assert shuffled_order(4, 7, "q1", 0) == first  # same seed, case, repeat
    orders = {tuple(shuffled_order(4, 7, "q1", r)) for r in range(12)}
    assert len(orders) > 1  # repeats see different positions
    assert {tuple(shuffled_order(4, s, "q1", 0)) for s in range(12)} != {tuple(first)}


def _shuffled_run(root: Any, sim: Any, seed: int) -> list[Any]:
    from tests.helpers import REPO, evals_cli, stored_results, write

    text = (REPO / "suites" / "reference" / "choice.yaml").read_text()
    suite = write(
        root / "choice.yaml",
        text.replace("  - {type: choice}", f"  - {{type: choice, shuffle: true, seed: {seed}}}"),
    )
    runner = write(
        root / "r.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        "models:\n  - {id: m, endpoint: sim}\n",
    )
    done = evals_cli(root, "run", str(suite), "-r", str(runner), "--repeat", "3", "--no-cache")
    assert done.returncode == 0, done.stderr
    return stored_results(root)


def test_shuffled_options_by_seed_over_http(sim: Any, paths: Any, tmp_path: Any) -> None:
    import json

    from tests.helpers import chat_log

    first = _shuffled_run(tmp_path / "a", sim, seed=7)
    again = _shuffled_run(tmp_path / "b", sim, seed=7)
    other = _shuffled_run(tmp_path / "c", sim, seed=8)

    def orders(rows: list[Any]) -> dict[tuple[str, int], list[int]]:
        return {(r["case_id"], r["repeat"]): json.loads(r["vars"])["choice_order"] for r in rows}

    assert orders(first) == orders(again)  # reproducible by seed
    assert orders(first) != orders(other)
    assert len({tuple(o) for o in orders(first).values()}) > 1  # repeats differ
    # the model saw the options in the stored order, and a right answer still passes
    sent = [e["request"]["messages"][-1]["content"] for e in chat_log(paths["log"])]
    for row in first:
        shown = json.loads(row["vars"])["choices"]
        listing = "\n".join(f"{'ABCD'[i]}. {option}" for i, option in enumerate(shown))
        assert any(listing in text for text in sent), row["case_id"]
        assert row["passed"] == 1, (row["case_id"], row["grades"])  # the sim answers right
