"""`tool_calls`: hand-worked calls, the pairing of parallel calls, and the exact reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evals.graders import GradeContext, GraderSpecError, build_grader
from evals.graders.tool_calls import assign, same_scalar
from evals.records import GradeResult

WEATHER = {"name": "get_weather", "arguments": {"city": "Paris"}}
TIME = {"name": "get_time"}


def call(name: str, arguments: Any = None, raw: str | None = None) -> dict[str, Any]:
    text = raw if raw is not None else json.dumps(arguments or {})
    return {"id": f"call_{name}", "type": "function", "function": {"name": name, "arguments": text}}


def grade(
    expected: Any,
    calls: list[dict[str, Any]],
    output: str = "",
    via: str = "value",
    **options: Any,
) -> GradeResult:
    spec: dict[str, Any] = {"type": "tool_calls", **options}
    if via == "value":
        spec["value"] = expected
    context = GradeContext(
        expect=expected if via == "expect" else None,
        vars={},
        case_id="c1",
        tool_calls=tuple(calls),
        expect_tool_calls=expected if via == "expect_tool_calls" else None,
    )
    return build_grader(spec).grade(output, context)


def test_single_call_passes() -> None:
    result = grade([WEATHER], [call("get_weather", {"city": "Paris", "unit": "C"})])
    assert result == GradeResult(True, 1.0, "tool_calls: expected calls made: get_weather")


@pytest.mark.parametrize("via", ["value", "expect_tool_calls", "expect"])
def test_expected_calls_sources(via: str) -> None:
    assert grade([WEATHER], [call("get_weather", {"city": "Paris"})], via=via).passed
    assert not grade([WEATHER], [call("get_weather", {"city": "Rome"})], via=via).passed


def test_value_wins_over_case_expectations() -> None:
    context = GradeContext(
        expect=[TIME], vars={}, case_id="c", tool_calls=(call("get_weather", {"city": "Paris"}),),
        expect_tool_calls=[TIME],
    )  # fmt: skip
    assert build_grader({"type": "tool_calls", "value": [WEATHER]}).grade("", context).passed
    assert not build_grader({"type": "tool_calls"}).grade("", context).passed


def test_wrong_argument_names_call_and_argument() -> None:
    calls = [call("get_time"), call("get_weather", {"city": "Pariss"})]
    result = grade([WEATHER, TIME], calls)
    assert not result.passed and not result.error
    assert (
        result.reason
        == "tool_calls: call 2 get_weather: argument 'city' is 'Pariss', expected 'Paris'"
    )
    assert result.score == 0.5  # one of two expected calls right


def test_parallel_calls_in_any_order() -> None:
    calls = [call("get_time"), call("get_weather", {"city": "Paris"})]
    assert grade([WEATHER, TIME], calls).passed


def test_duplicate_function_calls_pair_optimally() -> None:
    expected = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": {"city": "Rome"}},
    ]
    swapped = [call("get_weather", {"city": "Rome"}), call("get_weather", {"city": "Paris"})]
    assert grade(expected, swapped).passed
    one_wrong = [call("get_weather", {"city": "Rome"}), call("get_weather", {"city": "Berlin"})]
    result = grade(expected, one_wrong)
    # Greedy pairing (Paris with the first call) would blame call 1 and Rome; optimal blames 2.
    assert (
        result.reason
        == "tool_calls: call 2 get_weather: argument 'city' is 'Berlin', expected 'Paris'"
    )


def test_missing_and_extra_calls() -> None:
    result = grade([WEATHER, TIME], [call("get_weather", {"city": "Paris"}), call("send_email")])
    assert result.reason == "tool_calls: missing call get_time; unexpected extra call send_email"
    assert result.score == pytest.approx(1 / 3)


def test_missing_duplicate_call_shows_its_arguments() -> None:
    expected = [WEATHER, {"name": "get_weather", "arguments": {"city": "Rome"}}]
    result = grade(expected, [call("get_weather", {"city": "Rome"})])
    assert result.reason == "tool_calls: missing call get_weather(city='Paris')"


def test_allow_extra_calls() -> None:
    calls = [call("get_weather", {"city": "Paris"}), call("send_email")]
    result = grade([WEATHER], calls, allow_extra_calls=True)
    assert result == GradeResult(
        True, 1.0, "tool_calls: expected calls made: get_weather (and 1 extra)"
    )


def test_no_tool_calls_made() -> None:
    result = grade([WEATHER], [], output="It is sunny.")
    assert result.reason == (
        "tool_calls: no tool calls made, expected get_weather; the model replied 'It is sunny.'"
    )
    assert grade([WEATHER], []).reason == "tool_calls: no tool calls made, expected get_weather"


def test_expecting_no_calls() -> None:
    assert grade([], []) == GradeResult(True, 1.0, "tool_calls: no tool calls made, as expected")
    assert grade([], [call("send_email")]).reason == "tool_calls: unexpected extra call send_email"


def test_strict_order() -> None:
    in_order = [call("get_weather", {"city": "Paris"}), call("get_time")]
    assert grade([WEATHER, TIME], in_order, order="strict").passed
    result = grade([WEATHER, TIME], in_order[::-1], order="strict")
    assert result.reason == (
        "tool_calls: calls out of order: expected get_weather, get_time; got get_time, get_weather"
    )


def test_strict_order_with_extras_and_duplicates() -> None:
    same = {"name": "f", "arguments": {"x": 1}}
    calls = [call("f", {"x": 1}), call("log"), call("f", {"x": 1})]
    assert grade([same, same], calls, order="strict", allow_extra_calls=True).passed


def test_subset_and_exact_matching() -> None:
    calls = [call("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert grade([WEATHER], calls).passed
    result = grade([WEATHER], calls, match="exact")
    assert result.reason == "tool_calls: call 1 get_weather: unexpected argument 'unit' = 'celsius'"
    missing = grade([{"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}],
                    [call("get_weather", {"city": "Paris"})])  # fmt: skip
    assert missing.reason == (
        "tool_calls: call 1 get_weather: argument 'unit' is missing, expected 'C'"
    )


def test_arguments_left_out_are_not_checked_but_empty_ones_are_in_exact_mode() -> None:
    assert grade([TIME], [call("get_time", {"tz": "UTC"})]).passed
    none = {"name": "get_time", "arguments": {}}
    assert grade([none], [call("get_time", {"tz": "UTC"})]).passed
    assert not grade([none], [call("get_time", {"tz": "UTC"})], match="exact").passed


def test_sensible_comparisons() -> None:
    expected = [
        {"name": "book", "arguments": {"n": 2, "price": 1.5, "city": "New York", "ok": True}}
    ]
    got = call("book", {"n": 2.0, "price": "1.50", "city": "  new york ", "ok": "true"})
    assert grade(expected, [got]).passed
    assert not grade(expected, [got], case_sensitive=True).passed
    assert not grade(
        expected, [call("book", {"n": "two", "price": 1.5, "city": "NY", "ok": 1})]
    ).passed


def test_same_scalar_table() -> None:
    assert same_scalar(1, 1.0) and same_scalar("3", 3) and same_scalar(3, " 3 ")
    assert not same_scalar("3a", 3) and not same_scalar(True, 1) and not same_scalar(None, "")
    assert same_scalar("Paris", " paris") and not same_scalar("Paris", "paris", True)
    assert same_scalar(None, None) and same_scalar(False, "FALSE")


def test_nested_arguments_report_the_path() -> None:
    expected = [{"name": "create", "arguments": {"user": {"name": "Ada", "tags": ["a", "b"]}}}]
    assert grade(
        expected, [call("create", {"user": {"name": "ada", "tags": ["a", "b"], "x": 1}})]
    ).passed
    result = grade(expected, [call("create", {"user": {"name": "Ada", "tags": ["a", "c"]}})])
    assert (
        result.reason == "tool_calls: call 1 create: argument 'user.tags[1]' is 'c', expected 'b'"
    )
    result = grade(expected, [call("create", {"user": {"name": "Ada", "tags": ["a"]}})])
    assert result.reason == (
        'tool_calls: call 1 create: argument \'user.tags\' is ["a"], expected ["a", "b"]'
    )


def test_several_wrong_arguments_are_all_listed() -> None:
    expected = [{"name": "f", "arguments": {"a": 1, "b": "x"}}]
    result = grade(expected, [call("f", {"a": 2, "b": "y"})])
    assert result.reason == (
        "tool_calls: call 1 f: argument 'a' is 2, expected 1, argument 'b' is 'y', expected 'x'"
    )


def test_invalid_arguments_json_fails_with_reason() -> None:
    result = grade([WEATHER], [call("get_weather", raw="{city: Paris}")])
    assert not result.passed and not result.error
    assert result.reason.startswith(
        "tool_calls: call 1 get_weather: arguments are not valid JSON ("
    )
    assert result.reason.endswith("'{city: Paris}'")


def test_empty_arguments_string_is_no_arguments() -> None:
    assert grade(
        [{"name": "get_time", "arguments": {}}], [call("get_time", raw="")], match="exact"
    ).passed


def test_wrong_function_name_is_missing_plus_extra() -> None:
    result = grade([WEATHER], [call("get_wether", {"city": "Paris"})])
    assert result.reason == "tool_calls: missing call get_weather; unexpected extra call get_wether"


def test_negated() -> None:
    assert (
        build_grader({"type": "not-tool_calls", "value": [TIME]})
        .grade(
            "", GradeContext(expect=None, vars={}, case_id="c", tool_calls=(call("send_email"),))
        )
        .passed
    )


def test_bad_expectations() -> None:
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "tool_calls", "value": [{"name": "f", "args": {}}]})
    assert info.value.key == "value"
    assert "expected call 1 has unknown key(s) ['args']; use name and arguments" in str(info.value)
    with pytest.raises(GraderSpecError):
        build_grader({"type": "tool_calls", "value": [{"arguments": {}}]})
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "tool_calls", "extract": "x"})
    assert info.value.key == "extract"
    assert grade(None, [], via="expect").error
    bad = grade("get_weather", [], via="expect")
    assert bad.error and "must be a list of {name, arguments}" in bad.reason


def test_a_single_mapping_means_one_call() -> None:
    assert grade(WEATHER, [call("get_weather", {"city": "paris"})]).passed


def test_assign_is_optimal() -> None:
    # Greedy by row would take column 0 for row 0 (cost 1) and leave row 1 with cost 10.
    assert assign([[1, 2], [1, 10]]) == [1, 0]
    assert assign([[5, 0, 9], [0, 5, 9]]) == [1, 0]
    assert assign([]) == []
