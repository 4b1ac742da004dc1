"""`type: choice`: the option a model's text answers, read the ways models write it, or
scored from the answer token's logprobs."""

from __future__ import annotations

import math
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


# --- scored from logprobs --------------------------------------------------------------


def _tokens(*spec: tuple[str, list[tuple[str, float]]]) -> tuple[Any, ...]:
    from evals.endpoints.logprobs import TokenLogprob

    return tuple(TokenLogprob(token, top[0][1] if top else -0.1, tuple(top)) for token, top in spec)


def _grade_lp(output: str, expect: Any, logprobs: tuple, **options: Any) -> Any:
    grader = build_grader({"type": "choice", **options})
    ctx = GradeContext(expect=expect, vars={"choices": CAPITALS}, case_id="c", logprobs=logprobs)
    return grader.grade(output, ctx)


ONE_TOKEN = _tokens(("B", [("B", -0.5), (" C", -1.5), ("A", -2.0), ("(D", -3.0), ("The", -3.5)]))


def _normalised(*logprobs: float) -> list[float]:
    mass = [math.exp(lp) for lp in logprobs]
    return [m / sum(mass) for m in mass]


def test_one_token_is_scored_from_its_top_logprobs() -> None:
    a, b, c, d = _normalised(-2.0, -0.5, -1.5, -3.0)  # "The" is no option: left out
    result = _grade_lp("B", "B", ONE_TOKEN)
    assert result.passed and not result.error
    assert result.score == pytest.approx(b)
    assert result.brier == pytest.approx(a**2 + (b - 1) ** 2 + c**2 + d**2)
    assert "from logprobs" in result.reason and f"B {b:.2f}" in result.reason
    wrong = _grade_lp("B", "C", ONE_TOKEN)  # the likeliest is B, C was right
    assert not wrong.passed and wrong.score == pytest.approx(c)
    assert wrong.brier == pytest.approx(a**2 + b**2 + (c - 1) ** 2 + d**2)


def test_the_answer_token_is_the_one_the_letter_was_written_in() -> None:
    tokens = _tokens(
        ("The", [("The", -0.1), ("A", -4.0)]),  # a letter among the first token's alternatives
        (" answer", [(" answer", -0.1)]),
        (" is", [(" is", -0.1)]),
        (" C", [(" C", -0.2), (" D", -2.0)]),
    )
    result = _grade_lp("The answer is C", "C", tokens)
    c, d = _normalised(-0.2, -2.0)
    assert result.passed and result.score == pytest.approx(c)
    assert result.brier == pytest.approx((c - 1) ** 2 + d**2)


def test_logprobs_decide_when_the_sampled_text_disagrees() -> None:
    tokens = _tokens((" C", [(" B", -0.3), (" C", -1.4)]))
    result = _grade_lp(" C", "B", tokens)
    assert result.passed  # B was the likelier answer at that position
    assert "the text says C" in result.reason


def test_scoring_modes() -> None:
    text_only = _grade_lp("C", "B", ONE_TOKEN, scoring="text")
    assert not text_only.passed and text_only.brier is None  # the written C is read
    missing = _grade_lp("B", "B", (), scoring="logprobs")
    assert missing.error and "top_logprobs: 5" in missing.reason
    auto = _grade_lp("B", "B", ())
    assert auto.passed and auto.brier is None  # no logprobs sent: the text decides
    no_letters = _tokens(("Paris", [("Paris", -0.1), ("Rome", -2.0)]))
    assert _grade_lp("Paris", "B", no_letters).passed  # read from the option's text
    assert _grade_lp("Paris", "B", no_letters, scoring="logprobs").error
    negated = _grade_lp("B", "B", ONE_TOKEN, type="not-choice")
    assert not negated.passed and negated.brier == _grade_lp("B", "B", ONE_TOKEN).brier


def test_brier_of_a_run_is_the_mean_of_the_graded_samples() -> None:
    from evals.graders.registry import combine
    from evals.records import GradeResult

    results = [GradeResult(True, 1.0, "x", brier=0.2), GradeResult(True, 1.0, "y")]
    assert combine(results).brier == pytest.approx(0.2)  # the grader without one is left out
    assert combine([GradeResult(True, 1.0, "y")]).brier is None


def test_wire_logprobs_are_read_kept_short_and_round_trip() -> None:
    from evals.endpoints.logprobs import MAX_TOKENS_KEPT, chat_logprobs, from_json, to_json

    top = [{"token": "B", "logprob": -1.15}, {"token": "C", "logprob": -1.37}]
    entry = {"token": "B", "logprob": -1.15, "bytes": None, "top_logprobs": top}
    odd = {"token": None, "logprob": "x"}  # skipped, not a malformed response
    tokens = chat_logprobs({"content": [entry, odd] + [entry] * (MAX_TOKENS_KEPT + 5)})
    assert tokens is not None and len(tokens) == MAX_TOKENS_KEPT
    assert tokens[0].token == "B" and tokens[0].top == (("B", -1.15), ("C", -1.37))
    assert from_json(to_json(tokens)) == tokens
    assert chat_logprobs(None) is None and chat_logprobs({"content": None}) is None
    assert to_json(None) is None and from_json(None) is None
