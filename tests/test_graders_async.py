"""The async grading path, the `field` option and crash safety of grade_all(_async)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from evals.graders import (
    GradeContext,
    GraderSpecError,
    build_grader,
    grade_all,
    grade_all_async,
)
from evals.graders.fields import field_text, get_field, parse_field_path
from evals.records import GradeResult


def ctx(expect: Any = None, **extra: Any) -> GradeContext:
    return GradeContext(expect=expect, vars={}, case_id="c1", **extra)


def agrade(spec: dict[str, Any], output: str, expect: Any = None, **extra: Any) -> GradeResult:
    return asyncio.run(build_grader(spec).agrade(output, ctx(expect, **extra)))


def grade(spec: dict[str, Any], output: str, expect: Any = None) -> GradeResult:
    return build_grader(spec).grade(output, ctx(expect))


# --- async path ---------------------------------------------------------------------------


def test_agrade_of_a_sync_grader_equals_grade() -> None:
    for spec, output, expect in [
        ({"type": "exact"}, "12", 12),
        ({"type": "exact"}, "13", 12),
        ({"type": "numeric", "tolerance": 0.5}, "x 3.2", 3),
        ({"type": "contains", "ignore_case": True}, "PARIS", "paris"),
    ]:
        assert agrade(spec, output, expect) == grade(spec, output, expect)


def test_negation_and_extract_on_the_async_path() -> None:
    result = agrade({"type": "not-contains", "value": "x"}, "a x b")
    assert result == GradeResult(False, 0.0, "not-contains: output contains 'x' (negated)")
    spec = {"type": "exact", "extract": r"Answer: (\S+)"}
    assert agrade(spec, "so... Answer: 12", 12).passed
    miss = agrade(spec, "no idea", 12)
    assert not miss.passed and not miss.error
    assert miss.reason == "exact: extract pattern /Answer: (\\S+)/ did not match output 'no idea'"


def test_async_only_grader_on_sync_path_is_an_error() -> None:
    result = build_grader({"type": "llm_rubric", "rubric": "polite"}).grade("hi", ctx())
    assert result.error and not result.passed
    assert result.reason == (
        "llm_rubric: needs async grading (agrade / grade_all_async): it awaits a model"
    )


def test_negated_async_only_error_is_not_inverted() -> None:
    result = agrade({"type": "not-llm_rubric", "rubric": "polite"}, "hi")  # no judge
    assert result.error and not result.passed and result.score == 0.0


class Raises:
    """A foreign Grader (not a BaseGrader) whose methods raise."""

    type_name = "raises"
    name = None

    def grade(self, output: str, ctx: GradeContext) -> GradeResult:
        raise RuntimeError("sync kaboom")

    async def agrade(self, output: str, ctx: GradeContext) -> GradeResult:
        raise RuntimeError("kaboom")


def test_grade_all_async_runs_all_in_order_and_never_raises() -> None:
    graders = [build_grader({"type": "exact"}), Raises(), build_grader({"type": "numeric"})]
    results = asyncio.run(grade_all_async(graders, "12", ctx(12)))
    assert [r.passed for r in results] == [True, False, True]
    assert results[1] == GradeResult(
        False, 0.0, "raises: grader crashed: RuntimeError: kaboom", True
    )
    sync = grade_all(graders, "12", ctx(12))
    assert sync[1].error and "sync kaboom" in sync[1].reason


def test_grade_all_async_is_concurrent() -> None:
    started: list[str] = []

    async def slow_judge(messages: list[dict[str, Any]], fmt: Any) -> Any:
        from evals.graders import JudgeReply

        started.append("x")
        await asyncio.sleep(0.2)
        return JudgeReply('{"score": 1, "reason": "ok"}')

    graders = [build_grader({"type": "llm_rubric", "rubric": f"r{i}"}) for i in range(5)]

    async def main() -> tuple[list[GradeResult], float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await grade_all_async(graders, "a", ctx(judge=slow_judge))
        return results, loop.time() - start

    results, elapsed = asyncio.run(main())
    assert all(r.passed for r in results)
    assert elapsed < 0.6  # five 0.2 s judge calls overlapped, not 1.0 s in a row


# --- field --------------------------------------------------------------------------------

ORDER = '{"customer": {"name": "Ada"}, "items": [{"sku": "A1", "price": 3.5}], "paid": true}'


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("items[0].price", ("items", 0, "price")),
        ("$.customer.name", ("customer", "name")),
        ("[2]", (2,)),
        ("a[-1]", ("a", -1)),
    ],
)
def test_parse_field_path(path: str, parts: tuple[Any, ...]) -> None:
    assert parse_field_path(path) == parts


def test_field_path_errors_are_spec_errors() -> None:
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "exact", "field": "items[x]"})
    assert info.value.key == "field"
    assert "bad field path 'items[x]' at '[x]'" in str(info.value)
    with pytest.raises(GraderSpecError):
        build_grader({"type": "exact", "field": "a..b"})


def test_get_field_and_text() -> None:
    data = {"a": [{"b": None}], "n": 2.50}
    assert get_field(data, ("a", 0, "b")) is None
    assert field_text({"x": [1, True]}) == '{"x":[1,true]}'
    assert field_text("Ada") == "Ada"
    assert field_text(2.5) == "2.5"


def test_field_selects_value_for_any_grader() -> None:
    assert grade({"type": "exact", "field": "customer.name"}, ORDER, "Ada").passed
    assert grade({"type": "numeric", "field": "items[0].price"}, ORDER, 3.5).passed
    assert grade({"type": "exact", "field": "paid"}, ORDER, True).passed
    assert grade({"type": "exact", "field": "items[0]"}, ORDER, '{"sku":"A1","price":3.5}').passed
    result = grade({"type": "exact", "field": "customer.name"}, ORDER, "Bob")
    assert result.reason == "exact at customer.name: expected 'Bob', got 'Ada'"


def test_field_strips_fence() -> None:
    fenced = f"Here:\n```json\n{ORDER}\n```"
    assert grade({"type": "exact", "field": "items[0].sku"}, fenced, "A1").passed


def test_field_missing_names_the_path() -> None:
    result = grade({"type": "exact", "field": "items[1].price"}, ORDER, 1)
    assert not result.passed and not result.error
    assert result.reason == (
        "exact at items[1].price: field not found: $.items has 1 item(s), no index 1"
    )
    result = grade({"type": "exact", "field": "customer.email", "name": "email"}, ORDER, "x")
    assert result.reason == "email: field customer.email not found: no key 'email' in $.customer"
    result = grade({"type": "exact", "field": "paid.at"}, ORDER, "x")
    assert result.reason == "exact at paid.at: field not found: $.paid is true, not an object"


def test_field_on_invalid_json_fails() -> None:
    result = grade({"type": "exact", "field": "a"}, "not json", "x")
    assert not result.passed and not result.error
    assert result.reason.startswith("exact at a: output is not valid JSON, cannot read field (")


def test_field_miss_is_not_inverted_by_negation() -> None:
    assert not grade({"type": "not-contains", "field": "nope", "value": "x"}, ORDER).passed
    assert grade({"type": "not-contains", "field": "customer.name", "value": "x"}, ORDER).passed


def test_field_applies_before_extract() -> None:
    output = '{"note": "total: 42 EUR"}'
    spec = {"type": "numeric", "field": "note", "extract": r"total: (\d+)"}
    assert grade(spec, output, 42).passed
    miss = grade({**spec, "extract": r"sum: (\d+)"}, output, 42)
    assert miss.reason == (
        "numeric at note: extract pattern /sum: (\\d+)/ did not match field 'total: 42 EUR'"
    )


def test_field_on_async_path() -> None:
    assert agrade({"type": "exact", "field": "customer.name"}, ORDER, "Ada").passed
    assert not agrade({"type": "exact", "field": "nope"}, ORDER, "Ada").passed


# --- registry -----------------------------------------------------------------------------

NEW_TYPES = {
    "json_schema", "tool_calls", "levenshtein", "wer", "similar", "llm_rubric", "closedqa",
    "python", "all", "any", "weighted",
}  # fmt: skip


def test_new_types_are_known_and_suggested() -> None:
    from evals.graders import KNOWN_TYPES

    assert set(KNOWN_TYPES) >= NEW_TYPES
    for typo, meant in [
        ("llm_rubrik", "llm_rubric"),
        ("toolcalls", "tool_calls"),
        ("not-levenstein", "not-levenshtein"),
        ("json_shema", "json_schema"),
    ]:
        with pytest.raises(GraderSpecError) as info:
            build_grader({"type": typo})
        assert f"did you mean '{meant}'?" in str(info.value)
