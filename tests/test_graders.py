"""Graders and their registry: hand-worked examples, pass and fail, with the reasons users see."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from evals.graders import (
    KNOWN_TYPES,
    GradeContext,
    Grader,
    GraderSpecError,
    build_grader,
    combine,
    grade_all,
)
from evals.graders.base import BaseGrader
from evals.graders.json_graders import strip_fence
from evals.graders.numeric import parse_first_number
from evals.graders.registry import known_types, register
from evals.records import GradeResult


def ctx(expect: Any = None) -> GradeContext:
    return GradeContext(expect=expect, vars={}, case_id="c1")


def grade(spec: dict[str, Any], output: str, expect: Any = None) -> GradeResult:
    return build_grader(spec).grade(output, ctx(expect))


def spec_error(spec: Any) -> GraderSpecError:
    with pytest.raises(GraderSpecError) as info:
        build_grader(spec)
    return info.value


# --- registry ---------------------------------------------------------------------------


def test_known_types_and_protocol() -> None:
    assert {"exact", "contains", "regex", "numeric", "json"} <= set(KNOWN_TYPES)
    grader = build_grader({"type": "not-contains", "value": "x"})
    assert isinstance(grader, Grader)
    assert grader.type_name == "not-contains"


def test_unknown_type_suggests_closest_and_lists_known() -> None:
    err = spec_error({"type": "contians"})
    assert err.key == "type"
    assert "did you mean 'contains'?" in str(err)
    for known in KNOWN_TYPES:
        assert known in str(err)


def test_known_types_keep_their_order_in_messages() -> None:
    order = (
        "exact", "contains", "regex", "numeric", "json", "json_schema", "tool_calls",
        "levenshtein", "wer", "similar", "llm_rubric", "closedqa", "python", "all", "any",
        "weighted", "choice", "code_exec",
        # promptfoo's assertion types, under promptfoo's names
        "equals", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
        "starts-with", "word-count", "is-refusal", "is-json", "contains-json", "is-xml",
        "contains-xml", "is-sql", "rouge-n", "bleu", "latency", "cost", "finish-reason",
        "is-valid-openai-tools-call", "tool-call-f1", "llm-rubric", "model-graded-closedqa",
        "factuality",
    )  # fmt: skip
    assert KNOWN_TYPES == order == known_types()
    assert f"known types: {', '.join(order)} (any may be prefixed" in str(spec_error({}))


def test_a_type_cannot_be_registered_twice() -> None:
    class OtherExact(BaseGrader):
        base_type = "exact"

    with pytest.raises(ValueError, match="already registered"):
        register(OtherExact)
    assert build_grader({"type": "exact"}).__class__.__name__ == "ExactGrader"


def test_unknown_negated_type_suggests_negated_name() -> None:
    assert "did you mean 'not-contains'?" in str(spec_error({"type": "not-contans"}))


def test_unknown_type_without_close_match_has_no_suggestion() -> None:
    err = str(spec_error({"type": "zzzzzz"}))
    assert "did you mean" not in err
    assert "exact" in err


def test_missing_or_non_string_type() -> None:
    assert spec_error({"value": 1}).key == "type"
    assert spec_error({"type": 3}).key == "type"
    assert spec_error(["exact"]).key is None


def test_double_negation_is_an_error() -> None:
    err = spec_error({"type": "not-not-exact"})
    assert err.key == "type"
    assert "'exact'" in str(err)


def test_unknown_option_names_key_and_lists_allowed() -> None:
    err = spec_error({"type": "exact", "ignore_cse": True})
    assert err.key == "ignore_cse"
    msg = str(err)
    assert "unknown option 'ignore_cse'" in msg
    assert "did you mean 'ignore_case'?" in msg
    for allowed in ("extract", "value", "weight", "name", "ignore_case", "trim"):
        assert allowed in msg


def test_option_of_another_type_is_unknown() -> None:
    err = spec_error({"type": "contains", "tolerance": 1})
    assert err.key == "tolerance"
    assert "mode" in str(err)


def test_bad_option_value_names_key() -> None:
    err = spec_error({"type": "numeric", "tolerance": "lots"})
    assert err.key == "tolerance"
    assert "'lots'" in str(err)
    assert spec_error({"type": "numeric", "tolerance": -1}).key == "tolerance"
    assert spec_error({"type": "exact", "weight": -2}).key == "weight"
    assert spec_error({"type": "contains", "mode": "some"}).key == "mode"


def test_invalid_extract_regex_is_spec_error() -> None:
    err = spec_error({"type": "exact", "extract": "Answer: (\\d+"})
    assert err.key == "extract"
    assert "not a valid regex" in str(err)


def test_weight_and_name_are_stored() -> None:
    grader = build_grader({"type": "exact", "weight": 2.5, "name": "final"})
    assert grader.weight == 2.5  # type: ignore[attr-defined]
    assert grader.name == "final"  # type: ignore[attr-defined]
    assert build_grader({"type": "exact"}).weight == 1.0  # type: ignore[attr-defined]


def test_name_labels_reason() -> None:
    result = grade({"type": "exact", "name": "final answer"}, "13", expect=12)
    assert result.reason.startswith("final answer: ")


# --- exact ------------------------------------------------------------------------------


def test_exact_pass_trims_and_stringifies_expect() -> None:
    result = grade({"type": "exact"}, "  12\n", expect=12)
    assert result == GradeResult(True, 1.0, result.reason)
    assert "12" in result.reason


def test_exact_fail_reason_shows_expected_and_got() -> None:
    result = grade({"type": "exact"}, "13", expect="12")
    assert not result.passed and result.score == 0.0 and not result.error
    assert "expected '12', got '13'" in result.reason
    assert result.reason.startswith("exact: ")


def test_exact_case_and_trim_options() -> None:
    assert not grade({"type": "exact"}, "Paris", expect="paris").passed
    assert grade({"type": "exact", "ignore_case": True}, "PARIS", expect="paris").passed
    assert not grade({"type": "exact", "trim": False}, "paris ", expect="paris").passed


def test_exact_list_means_any_of() -> None:
    assert grade({"type": "exact"}, "yes", expect=["y", "yes"]).passed
    result = grade({"type": "exact"}, "no", expect=["y", "yes"])
    assert not result.passed
    assert "one of 'y', 'yes'" in result.reason


def test_exact_yaml_bool_compares_as_lowercase_word() -> None:
    assert grade({"type": "exact"}, "true", expect=True).passed


def test_exact_without_expectation_is_an_error() -> None:
    result = grade({"type": "exact"}, "12", expect=None)
    assert result.error and not result.passed and result.score == 0.0
    assert "no expected value" in result.reason
    assert "`expect`" in result.reason and "`value`" in result.reason


def test_value_overrides_case_expect() -> None:
    assert grade({"type": "exact", "value": "B"}, "B", expect="A").passed
    assert not grade({"type": "exact", "value": "B"}, "A", expect="A").passed


def test_long_output_is_truncated_in_reason() -> None:
    result = grade({"type": "exact"}, "x" * 500, expect="y")
    assert "x" * 100 not in result.reason
    assert "..." in result.reason
    assert len(result.reason) < 150


# --- contains ---------------------------------------------------------------------------


def test_contains_single_string() -> None:
    assert grade({"type": "contains"}, "The capital is Paris.", expect="Paris").passed
    result = grade({"type": "contains"}, "The capital is Lyon.", expect="Paris")
    assert not result.passed
    assert "missing 'Paris'" in result.reason


def test_contains_list_defaults_to_all_and_names_missing() -> None:
    result = grade({"type": "contains"}, "red and blue", expect=["red", "green", "blue", "pink"])
    assert not result.passed
    assert "'green', 'pink'" in result.reason
    assert "'red'" not in result.reason.split(":")[1]  # found ones are not listed as missing
    assert grade({"type": "contains"}, "red, green", expect=["red", "green"]).passed


def test_contains_any_mode() -> None:
    spec = {"type": "contains", "mode": "any"}
    assert grade(spec, "only green", expect=["red", "green"]).passed
    result = grade(spec, "purple", expect=["red", "green"])
    assert not result.passed
    assert "none of 'red', 'green'" in result.reason


def test_contains_ignore_case() -> None:
    assert not grade({"type": "contains"}, "PARIS", expect="paris").passed
    assert grade({"type": "contains", "ignore_case": True}, "PARIS", expect="paris").passed


def test_contains_bad_expectations_are_errors() -> None:
    assert grade({"type": "contains"}, "x", expect=None).error
    assert grade({"type": "contains"}, "x", expect=[]).error
    assert grade({"type": "contains"}, "x", expect={"a": 1}).error


# --- negation ---------------------------------------------------------------------------


def test_not_contains_fails_when_present_and_says_negated() -> None:
    result = grade({"type": "not-contains", "value": "x"}, "a x b")
    assert not result.passed and result.score == 0.0 and not result.error
    assert result.reason == "not-contains: output contains 'x' (negated)"


def test_not_contains_passes_when_absent() -> None:
    result = grade({"type": "not-contains", "value": "sorry"}, "Here you go.")
    assert result.passed and result.score == 1.0
    assert result.reason.endswith("(negated)")


def test_not_contains_list_means_none_of_them() -> None:
    spec = {"type": "not-contains", "value": ["sorry", "apologize"]}
    assert not grade(spec, "I am sorry").passed
    assert grade(spec, "Sure!").passed
    # explicit mode: all -> fails only when every one is present
    spec_all = {**spec, "mode": "all"}
    assert grade(spec_all, "I am sorry").passed
    assert not grade(spec_all, "sorry, I apologize").passed


def test_negation_does_not_turn_error_into_pass() -> None:
    result = grade({"type": "not-exact"}, "anything", expect=None)
    assert result.error and not result.passed and result.score == 0.0
    assert "(negated)" not in result.reason


def test_negated_extract_miss_stays_a_failure() -> None:
    result = grade({"type": "not-contains", "value": "x", "extract": "A: (.*)"}, "no answer")
    assert not result.passed


def test_not_exact_and_not_regex() -> None:
    assert grade({"type": "not-exact"}, "13", expect=12).passed
    assert not grade({"type": "not-exact"}, "12", expect=12).passed
    assert grade({"type": "not-regex", "value": r"\d"}, "no digits").passed


# --- extract ----------------------------------------------------------------------------


def test_extract_first_group_is_graded() -> None:
    spec = {"type": "exact", "extract": r"Answer: (\S+)"}
    assert grade(spec, "Let me think... 5+7. Answer: 12", expect=12).passed
    result = grade(spec, "Answer: 13", expect=12)
    assert "got '13'" in result.reason


def test_extract_without_group_uses_whole_match() -> None:
    spec = {"type": "exact", "extract": r"\d+ apples"}
    assert grade(spec, "I have 3 apples today", expect="3 apples").passed


def test_extract_no_match_fails_with_reason() -> None:
    result = grade({"type": "exact", "extract": r"Answer: (\S+)"}, "I don't know", expect=1)
    assert not result.passed and not result.error
    assert "extract pattern" in result.reason and "did not match" in result.reason
    assert "/Answer: (\\S+)/" in result.reason


# --- regex ------------------------------------------------------------------------------


def test_regex_from_expect_and_value() -> None:
    assert grade({"type": "regex"}, "order #4521 shipped", expect=r"#\d{4}\b").passed
    result = grade({"type": "regex", "value": r"^\d+$"}, "twelve")
    assert not result.passed
    assert "does not match" in result.reason and "^\\d+$" in result.reason


def test_regex_flags() -> None:
    assert not grade({"type": "regex", "value": "yes"}, "YES").passed
    assert grade({"type": "regex", "value": "yes", "flags": "i"}, "YES").passed
    assert grade({"type": "regex", "value": "^b$", "flags": "m"}, "a\nb\nc").passed
    assert not grade({"type": "regex", "value": "a.c"}, "a\nc").passed
    assert grade({"type": "regex", "value": "a.c", "flags": ["s"]}, "a\nc").passed


def test_regex_bad_flag_is_spec_error() -> None:
    err = spec_error({"type": "regex", "value": "a", "flags": "ix"})
    assert err.key == "flags"
    assert "'x'" in str(err)


def test_regex_fullmatch() -> None:
    spec = {"type": "regex", "value": r"\d+", "fullmatch": True}
    assert grade(spec, "42\n").passed
    result = grade(spec, "42 apples")
    assert not result.passed and "fully" in result.reason


def test_regex_invalid_pattern_in_spec_is_spec_error() -> None:
    err = spec_error({"type": "regex", "value": "(unclosed"})
    assert err.key == "value"
    assert "regex" in str(err)


def test_regex_invalid_pattern_in_case_is_grading_error() -> None:
    result = grade({"type": "regex"}, "text", expect="[abc")
    assert result.error and not result.passed
    assert "not a valid regex" in result.reason and "/[abc/" in result.reason
    assert grade({"type": "regex"}, "text", expect=5).error
    assert grade({"type": "regex"}, "text", expect=None).error


# --- numeric ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("-3", Decimal("-3")),
        ("The total is 1,234.5 units", Decimal("1234.5")),
        ("about 1e3 people", Decimal("1000")),
        ("costs $12 each", Decimal("12")),
        ("It is 12.", Decimal("12")),
        ("0.25", Decimal("0.25")),
        (".5 of it", Decimal("0.5")),
        ("-$7.50", Decimal("-7.5")),
        ("\u22124", Decimal("-4")),
        ("2.5E-2", Decimal("0.025")),
        ("1,2,3", Decimal("1")),
        ("3 and 4", Decimal("3")),
        ("x-3", Decimal("3")),
    ],
)
def test_parse_first_number_formats(text: str, number: Decimal) -> None:
    assert parse_first_number(text) == number


def test_parse_first_number_none() -> None:
    assert parse_first_number("no digits here") is None


def test_numeric_pass_and_fail_with_tolerance() -> None:
    spec = {"type": "numeric", "tolerance": 0.01}
    assert grade(spec, "12.005", expect=12).passed
    result = grade(spec, "13", expect=12)
    assert not result.passed and result.score == 0.0
    assert "got 13, expected 12 (tolerance 0.01)" in result.reason


def test_numeric_exact_by_default() -> None:
    assert grade({"type": "numeric"}, "12.0", expect=12).passed
    assert not grade({"type": "numeric"}, "12.001", expect=12).passed


def test_numeric_tolerance_edge_is_inclusive_without_float_error() -> None:
    # In binary floats 1.1 - 1.0 = 0.10000000000000009 > 0.1; decimally it is exactly 0.1.
    assert grade({"type": "numeric", "tolerance": 0.1}, "1.1", expect=1.0).passed


def test_numeric_relative_tolerance() -> None:
    spec = {"type": "numeric", "relative_tolerance": 0.05}
    assert grade(spec, "104", expect=100).passed  # 4 <= 5% of 100
    result = grade(spec, "106", expect=100)
    assert not result.passed
    assert "relative tolerance 0.05" in result.reason


def test_numeric_expected_as_string() -> None:
    assert grade({"type": "numeric"}, "1234", expect="1,234").passed
    assert grade({"type": "numeric"}, "total: 12 dollars", expect="$12").passed


def test_numeric_no_number_in_output() -> None:
    result = grade({"type": "numeric"}, "I cannot say", expect=3)
    assert not result.passed and not result.error
    assert "no number in output" in result.reason


def test_numeric_bad_expectation_is_error() -> None:
    assert grade({"type": "numeric"}, "3", expect=None).error
    result = grade({"type": "numeric"}, "3", expect="three")
    assert result.error and "not a number" in result.reason
    assert grade({"type": "numeric"}, "1", expect=True).error


def test_numeric_with_extract() -> None:
    spec = {"type": "numeric", "extract": r"Answer: (\S+)", "tolerance": 0.01}
    assert grade(spec, "First 5 then 7. Answer: 12", expect=12).passed


# --- json -------------------------------------------------------------------------------


SCHEMA = {
    "type": "object",
    "required": ["name", "items"],
    "properties": {
        "name": {"type": "string"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"price": {"type": "number"}}},
        },
    },
}


def test_json_valid_and_invalid() -> None:
    assert grade({"type": "json"}, '{"a": 1}').passed
    assert grade({"type": "json"}, "[1, 2]").passed
    result = grade({"type": "json"}, "{'a': 1}")
    assert not result.passed and not result.error
    assert "not valid JSON" in result.reason


def test_json_fence_is_stripped() -> None:
    fenced = 'Here it is:\n```json\n{"a": [1, 2]}\n```\nAnything else?'
    assert grade({"type": "json"}, fenced).passed
    assert grade({"type": "json"}, '```\n{"a": 1}\n```').passed
    assert strip_fence('```json\n{"b": 2}\n```') == '{"b": 2}'
    assert strip_fence('{"b": 2}') == '{"b": 2}'


def test_json_schema_pass() -> None:
    output = '{"name": "cart", "items": [{"price": 3.5}, {"price": 1}]}'
    assert grade({"type": "json", "schema": SCHEMA}, output).passed


def test_json_schema_failure_reports_path_and_message() -> None:
    output = '{"name": "cart", "items": [{"price": 3.5}, {"price": "free"}]}'
    result = grade({"type": "json", "schema": SCHEMA}, output)
    assert not result.passed and not result.error
    assert "$.items[1].price" in result.reason
    assert "'free' is not of type 'number'" in result.reason


def test_json_schema_missing_required_property() -> None:
    result = grade({"type": "json", "schema": SCHEMA}, '{"items": []}')
    assert not result.passed
    assert "'name' is a required property" in result.reason


def test_json_invalid_schema_is_spec_error() -> None:
    err = spec_error({"type": "json", "schema": {"type": "nonsense"}})
    assert err.key == "schema"


def test_json_refuses_value_option() -> None:
    assert spec_error({"type": "json", "value": {"a": 1}}).key == "value"


def test_json_ignores_case_expect() -> None:
    assert grade({"type": "json"}, '{"a": 1}', expect={"a": 2}).passed


# --- grade_all and combine -------------------------------------------------------------


def test_grade_all_keeps_order() -> None:
    graders = [build_grader({"type": "exact"}), build_grader({"type": "numeric"})]
    results = grade_all(graders, "12", ctx(12))
    assert [r.passed for r in results] == [True, True]
    assert results[0].reason.startswith("exact:")
    assert results[1].reason.startswith("numeric:")


def test_combine_all_pass() -> None:
    results = [GradeResult(True, 1.0, "a"), GradeResult(True, 1.0, "b")]
    assert combine(results) == GradeResult(True, 1.0, "all 2 graders passed")


def test_combine_failures_joined_and_mean_score() -> None:
    results = [
        GradeResult(True, 1.0, "ok"),
        GradeResult(False, 0.0, "exact: wrong"),
        GradeResult(True, 1.0, "ok"),
        GradeResult(False, 0.0, "numeric: far off"),
    ]
    combined = combine(results)
    assert not combined.passed and not combined.error
    assert combined.score == 0.5
    assert combined.reason == "exact: wrong; numeric: far off"


def test_combine_error_propagates() -> None:
    results = [GradeResult(True, 1.0, "ok"), GradeResult(False, 0.0, "regex: bad", error=True)]
    combined = combine(results)
    assert combined.error and not combined.passed
    assert combined.reason == "regex: bad"


def test_combine_clear_failure_beats_a_grader_error() -> None:
    # "all must pass" is false once one grader fails outright: the case is a
    # failure (it stays in the accuracy denominator), not an error.
    results = [
        GradeResult(False, 0.0, "exact: wrong"),
        GradeResult(False, 0.0, "regex: bad", error=True),
    ]
    for ordered in (results, results[::-1]):
        combined = combine(ordered)
        assert not combined.passed and not combined.error
        assert "exact: wrong" in combined.reason and "regex: bad" in combined.reason


def test_all_group_clear_failure_beats_a_child_error() -> None:
    spec = {"type": "all", "graders": [{"type": "exact"}, {"type": "contains", "value": "zz"}]}
    result = grade(spec, "hello", expect=None)  # exact has no expectation: an error
    assert not result.passed and not result.error
    assert "could not grade" not in result.reason and "1 of 2 failed" in result.reason


def test_combine_empty_is_error() -> None:
    combined = combine([])
    assert combined.error and not combined.passed
