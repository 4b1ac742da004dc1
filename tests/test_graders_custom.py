"""`python` (user functions) and the groups `all`, `any`, `weighted`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from evals.graders import GradeContext, GraderSpecError, JudgeReply, build_grader
from evals.records import GradeResult

MOD = "tests.graders_custom"


def ctx(expect: Any = None, **extra: Any) -> GradeContext:
    return GradeContext(expect=expect, vars={}, case_id="c1", **extra)


def grade(spec: dict[str, Any], output: str, expect: Any = None) -> GradeResult:
    return build_grader(spec).grade(output, ctx(expect))


def agrade(spec: dict[str, Any], output: str, expect: Any = None, **extra: Any) -> GradeResult:
    return asyncio.run(build_grader(spec).agrade(output, ctx(expect, **extra)))


def spec_error(spec: dict[str, Any]) -> GraderSpecError:
    with pytest.raises(GraderSpecError) as info:
        build_grader(spec)
    return info.value


def py(name: str, **options: Any) -> dict[str, Any]:
    return {"type": "python", "value": f"{MOD}:{name}", **options}


# --- python -------------------------------------------------------------------------------


def test_bool_result() -> None:
    assert grade(py("is_upper"), "YES") == GradeResult(
        True, 1.0, f"python: {MOD}:is_upper returned True"
    )
    assert grade(py("is_upper"), "no") == GradeResult(
        False, 0.0, f"python: {MOD}:is_upper returned False"
    )


def test_number_result_against_threshold() -> None:
    assert grade(py("length_score"), "abcdefgh") == GradeResult(
        True, pytest.approx(0.8), f"python: {MOD}:length_score scored 0.8 ≥ 0.5"
    )
    result = grade(py("length_score", threshold=0.9), "abcdefgh")
    assert not result.passed and result.reason == f"python: {MOD}:length_score scored 0.8 < 0.9"


def test_dict_result() -> None:
    assert grade(py("mentions_expect"), "It is Paris", "Paris") == GradeResult(
        True, 1.0, "python: mentions Paris"
    )
    assert grade(py("mentions_expect"), "Lyon", "Paris").reason == "python: does not mention Paris"
    result = grade(py("score_only"), "x")
    assert result == GradeResult(False, 0.25, f"python: {MOD}:score_only scored 0.25 < 0.5")


def test_grade_result_is_used_as_is() -> None:
    assert grade(py("full_result"), "x") == GradeResult(True, 0.9, "python: custom says fine")


def test_function_option_and_value_as_expectation() -> None:
    spec = {"type": "python", "function": f"{MOD}:mentions_expect", "value": "Rome"}
    assert grade(spec, "Rome!", "Paris").passed  # `value` overrides the case's expect


def test_async_function() -> None:
    assert agrade(py("async_equals"), "ok", "ok").passed
    assert not agrade(py("async_equals"), "ok", "no").passed
    sync = grade(py("async_equals"), "ok", "ok")
    assert sync.error and "needs async grading" in sync.reason


def test_exceptions_and_bad_returns_are_errors() -> None:
    result = grade(py("boom"), "x")
    assert result == GradeResult(False, 0.0, f"python: {MOD}:boom raised ValueError: boom", True)
    assert agrade(py("boom"), "x").error
    result = grade(py("returns_none"), "x")
    assert result.error and result.reason == (
        f"python: {MOD}:returns_none returned None; return a bool, a score in [0, 1], "
        "a dict with pass/score/reason, or a GradeResult"
    )
    result = grade(py("out_of_range"), "x")
    assert (
        result.error
        and result.reason == f"python: {MOD}:out_of_range returned score 1.5, not in [0, 1]"
    )
    result = grade(py("typo_dict"), "x")
    assert result.error and "unknown key(s) ['pased']; use pass, score, reason" in result.reason


def test_negated_python() -> None:
    assert grade({**py("is_upper"), "type": "not-python"}, "no").passed
    assert grade({**py("boom"), "type": "not-python"}, "x").error


def test_import_problems_are_spec_errors() -> None:
    err = spec_error({"type": "python", "value": "no_such_pkg_xyz.mod:fn"})
    assert err.key == "value"
    assert "cannot import module 'no_such_pkg_xyz.mod'" in str(err)
    assert "PYTHONPATH" in str(err)
    err = spec_error(py("nope"))
    assert f"module '{MOD}' has no function 'nope'" in str(err)
    assert "not a function" in str(spec_error(py("NOT_A_FUNCTION")))
    assert "'package.module:function'" in str(
        spec_error({"type": "python", "value": "tests.graders_custom"})
    )
    assert spec_error({"type": "python"}).key == "value"
    assert spec_error({"type": "python", "function": "a:b:c"}).key == "function"


# --- groups -------------------------------------------------------------------------------

EXACT = {"type": "exact"}
CONTAINS_PARIS = {"type": "contains", "value": "Paris"}
NUMBER = {"type": "regex", "value": r"\d"}


def test_all() -> None:
    spec = {"type": "all", "graders": [CONTAINS_PARIS, NUMBER]}
    assert grade(spec, "Paris 1") == GradeResult(True, 1.0, "all: all 2 passed")
    result = grade(spec, "Paris")
    assert result == GradeResult(
        False, 0.5, "all: 1 of 2 failed: regex: output does not match /\\d/: 'Paris'"
    )


def test_any() -> None:
    spec = {
        "type": "any",
        "graders": [{"type": "exact", "value": "yes"}, {"type": "exact", "value": "y"}],
    }
    assert grade(spec, "y") == GradeResult(
        True, 1.0, "any: 1 of 2 passed: exact: output equals 'y'"
    )
    result = grade(spec, "no")
    assert result == GradeResult(
        False,
        0.0,
        "any: none of 2 passed: exact: expected 'yes', got 'no'; exact: expected 'y', got 'no'",
    )


def test_weighted() -> None:
    spec = {
        "type": "weighted",
        "threshold": 0.7,
        "graders": [{**CONTAINS_PARIS, "weight": 3}, {**NUMBER, "weight": 1}],
    }
    result = grade(spec, "Paris")
    assert result == GradeResult(
        True,
        0.75,
        "weighted: weighted score 0.75 ≥ 0.7; failed: regex: output does not match /\\d/: 'Paris'",
    )
    result = grade(spec, "Lyon 1")
    assert result == GradeResult(
        False,
        0.25,
        "weighted: weighted score 0.25 < 0.7; "
        "failed: contains: output is missing 'Paris': 'Lyon 1'",
    )
    assert grade({**spec, "threshold": 0.5}, "Paris 2").reason == "weighted: weighted score 1 ≥ 0.5"


def test_weighted_default_threshold_and_partial_scores() -> None:
    spec = {"type": "weighted", "graders": [{"type": "levenshtein", "value": "abcd"}, NUMBER]}
    result = grade(spec, "abcx")  # levenshtein 0.75 (a fail at 0.8), regex 0 -> mean 0.375
    assert not result.passed and result.score == pytest.approx(0.375)


def test_group_errors() -> None:
    spec = {"type": "all", "graders": [EXACT, NUMBER]}
    result = grade(spec, "1")  # exact has no expectation: an error
    assert result.error and result.reason.startswith(
        "all: 1 of 2 could not grade: exact: no expected value"
    )
    any_spec = {"type": "any", "graders": [EXACT, NUMBER]}
    assert grade(any_spec, "1").passed  # a pass outweighs a sibling's error
    assert grade(any_spec, "x").error  # ... but no pass and an error is an error
    assert grade({"type": "weighted", "graders": [EXACT, NUMBER]}, "1").error


def test_group_value_and_field_apply_to_children() -> None:
    spec = {
        "type": "all",
        "field": "answer",
        "value": "Paris",
        "graders": [{"type": "exact"}, {"type": "levenshtein"}],
    }
    assert grade(spec, '{"answer": "Paris"}', expect="other").passed
    assert not grade(spec, '{"answer": "Lyon"}').passed


def test_nested_and_negated_groups() -> None:
    spec = {
        "type": "not-any",
        "graders": [
            {"type": "contains", "value": "sorry"},
            {"type": "all", "graders": [NUMBER, CONTAINS_PARIS]},
        ],
    }
    assert grade(spec, "Lyon").passed
    assert not grade(spec, "Paris 3").passed


def test_groups_with_async_children() -> None:
    async def judge(messages: list[dict[str, Any]], fmt: Any) -> JudgeReply:
        return JudgeReply('{"score": 0.9, "reason": "polite"}')

    spec = {"type": "all", "graders": [{"type": "llm_rubric", "rubric": "polite"}, CONTAINS_PARIS]}
    result = agrade(spec, "Paris, please", judge=judge)
    assert result == GradeResult(True, pytest.approx(0.95), "all: all 2 passed")
    sync = grade(spec, "Paris, please")
    assert sync.error and "needs async grading" in sync.reason


def test_group_child_crash_is_an_error_not_a_raise() -> None:
    result = agrade({"type": "any", "graders": [py("boom")]}, "x")
    assert result.error and "boom raised ValueError: boom" in result.reason


def test_group_spec_errors_name_the_nested_path() -> None:
    err = spec_error({"type": "all", "graders": [EXACT, {"type": "numeric", "tolrance": 1}]})
    assert err.key == "graders[1].tolrance"
    assert str(err).startswith(
        "grader 'all': graders[1]: unknown option 'tolrance' for grader 'numeric'"
    )
    assert "did you mean 'tolerance'?" in str(err)
    err = spec_error({"type": "any", "graders": [{"type": "all", "graders": [{"type": "exat"}]}]})
    assert err.key == "graders[0].graders[0].type"
    assert "did you mean 'exact'?" in str(err)
    assert spec_error({"type": "all"}).key == "graders"
    assert "needs option 'graders'" in str(spec_error({"type": "all"}))
    assert spec_error({"type": "all", "graders": []}).key == "graders"
    # every grader takes `threshold` now (the generic one); a misspelt key is still named
    typo = spec_error({"type": "any", "graders": [EXACT], "treshold": 0.5})
    assert typo.key == "treshold" and "did you mean 'threshold'?" in str(typo)
    zero = spec_error({"type": "weighted", "graders": [{**EXACT, "weight": 0}]})
    assert "weights sum to 0" in str(zero)


def test_group_spec_error_line_from_yaml() -> None:
    from evals.config.yamlload import LineDict

    child = LineDict({"type": "numeric", "tolrance": 1})
    child.line, child.key_lines = 7, {"type": 7, "tolrance": 8}
    err = spec_error({"type": "all", "graders": [child]})
    assert err.line == 8
