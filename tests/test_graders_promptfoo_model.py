"""promptfoo-parity graders: latency, cost, finish-reason, is-valid-openai-tools-call,
tool-call-f1, llm-rubric, model-graded-closedqa, factuality, and python's promptfoo forms.

Each verdict below is the one promptfoo's documentation gives for the same inputs; the page
used is noted per section. Judges are plain async callables.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from evals.graders import GradeContext, GraderSpecError, JudgeReply, build_grader
from evals.graders.promptfoo_model import CATEGORY_FORMAT, parse_category
from evals.graders.response_facts import normalise_reason
from evals.graders.tool_checks import expected_names, f1
from evals.records import GradeResult


def ctx(expect: Any = None, **extra: Any) -> GradeContext:
    return GradeContext(expect=expect, vars={"city": "Paris"}, case_id="c1", **extra)


def grade(spec: dict[str, Any], output: str = "", expect: Any = None, **extra: Any) -> GradeResult:
    return build_grader(spec).grade(output, ctx(expect, **extra))


def agrade(spec: dict[str, Any], output: str = "", expect: Any = None, **extra: Any) -> GradeResult:
    return asyncio.run(build_grader(spec).agrade(output, ctx(expect, **extra)))


def spec_error(spec: dict[str, Any]) -> GraderSpecError:
    with pytest.raises(GraderSpecError) as info:
        build_grader(spec)
    return info.value


def call(name: str, arguments: Any = "{}") -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": f"call_{name}", "type": "function", "function": {"name": name, "arguments": args}}


class Judge:
    """Replies with fixed text (or an error) and records what it was asked."""

    def __init__(self, text: str | None = None, error: str | None = None) -> None:
        self.reply = JudgeReply(text, error)
        self.calls: list[tuple[list[dict[str, Any]], Any]] = []

    async def __call__(self, messages: list[dict[str, Any]], response_format: Any) -> JudgeReply:
        self.calls.append((messages, response_format))
        return self.reply


# --- latency: https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#latency


def test_latency_passes_at_or_under_the_threshold_in_ms() -> None:
    spec = {"type": "latency", "threshold": 5000}
    assert grade(spec, latency_s=1.2) == GradeResult(True, 1.0, "latency: latency 1200ms ≤ 5000ms")
    assert grade(spec, latency_s=5.0).passed  # promptfoo: latencyMs <= threshold
    assert grade(spec, latency_s=5.2) == GradeResult(False, 0.0, "latency: latency 5200ms > 5000ms")


def test_latency_of_a_cache_hit_is_the_original_one() -> None:
    result = grade({"type": "latency", "threshold": 500}, latency_s=0.3, cache_hit=True)
    assert result.passed
    assert (
        result.reason == "latency: latency 300ms (cached: latency of the original request) ≤ 500ms"
    )


def test_unknown_latency_is_an_error_even_negated() -> None:
    for kind in ("latency", "not-latency"):
        result = grade({"type": kind, "threshold": 500})
        assert result.error and not result.passed
        assert result.reason == f"{kind}: latency unknown: the response was not timed"


def test_not_latency_and_weight_metric() -> None:
    spec = {"type": "not-latency", "threshold": 100, "weight": 2, "metric": "speed"}
    grader = build_grader(spec)
    assert grader.weight == 2 and grader.metric == "speed"
    assert grader.grade("", ctx(latency_s=0.5)).passed  # 500ms is not <= 100ms
    assert not grader.grade("", ctx(latency_s=0.05)).passed


def test_latency_specs() -> None:
    assert "needs option 'threshold'" in str(spec_error({"type": "latency"}))
    assert spec_error({"type": "latency", "threshold": -1}).key == "threshold"
    assert spec_error({"type": "latency", "threshold": 10, "field": "a"}).key == "field"


# --- cost: https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#cost


def test_cost_passes_at_or_under_the_threshold_in_dollars() -> None:
    spec = {"type": "cost", "threshold": 0.001}
    assert grade(spec, cost_usd=0.0004) == GradeResult(True, 1.0, "cost: cost $0.0004 ≤ $0.001")
    assert grade(spec, cost_usd=0.001).passed
    result = grade(spec, cost_usd=0.0023)
    assert not result.passed and result.reason == "cost: cost $0.0023 > $0.001"
    assert grade({"type": "cost", "threshold": 1}, cost_usd=1.5).reason == "cost: cost $1.5 > $1"


def test_unknown_cost_says_the_model_has_no_price() -> None:
    result = grade({"type": "cost", "threshold": 0.01})
    assert result.error and "the model has no price" in result.reason
    assert grade({"type": "not-cost", "threshold": 0.01}).error


def test_cost_specs() -> None:
    assert spec_error({"type": "cost"}).key == "threshold"
    assert spec_error({"type": "cost", "threshold": "cheap"}).key == "threshold"


# --- finish-reason: https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#finish-reason


def test_finish_reason_matches_case_insensitively() -> None:
    assert grade({"type": "finish-reason", "value": "stop"}, finish_reason="stop") == GradeResult(
        True, 1.0, "finish-reason: finish reason 'stop', as expected"
    )
    assert grade({"type": "finish-reason", "value": "STOP"}, finish_reason="stop").passed
    result = grade({"type": "finish-reason", "value": "stop"}, finish_reason="length")
    assert result == GradeResult(
        False, 0.0, "finish-reason: finish reason 'length', expected 'stop'"
    )


def test_finish_reason_provider_spellings_are_normalised() -> None:
    assert grade({"type": "finish-reason", "value": "stop"}, finish_reason="end_turn").reason == (
        "finish-reason: finish reason 'end_turn' (= 'stop'), as expected"
    )
    assert grade({"type": "finish-reason", "value": "tool_calls"}, finish_reason="tool_use").passed
    assert grade({"type": "finish-reason", "value": "length"}, finish_reason="max_tokens").passed
    assert normalise_reason("function_call") == "tool_calls"
    assert normalise_reason("Content-Filter") == "content_filter"


def test_finish_reason_unknown_negation_and_specs() -> None:
    result = grade({"type": "finish-reason", "value": "stop"})
    assert result.error and "did not report one" in result.reason
    assert grade({"type": "not-finish-reason", "value": "length"}, finish_reason="stop").passed
    assert not grade({"type": "not-finish-reason", "value": "stop"}, finish_reason="stop").passed
    assert spec_error({"type": "finish-reason"}).key == "value"
    assert spec_error({"type": "finish-reason", "value": ["stop"]}).key == "value"


# --- is-valid-openai-tools-call:
# https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#is-valid-openai-tools-call

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
TOOLS_SPEC = {"type": "is-valid-openai-tools-call", "value": [WEATHER]}


def test_valid_tool_calls_pass() -> None:
    result = grade(TOOLS_SPEC, tool_calls=(call("get_weather", {"city": "Paris", "days": 2}),))
    assert result == GradeResult(
        True,
        1.0,
        "is-valid-openai-tools-call: 1 tool call(s) valid against the offered tools: get_weather",
    )


def test_tool_calls_breaking_the_schema_fail() -> None:
    result = grade(TOOLS_SPEC, tool_calls=(call("get_weather", {"days": "two"}),))
    assert not result.passed and not result.error
    assert result.reason == (
        "is-valid-openai-tools-call: call 1 get_weather: arguments do not match the schema: "
        "'city' is a required property; days: 'two' is not of type 'integer'"
    )


def test_unknown_tool_bad_json_and_no_calls_fail() -> None:
    result = grade(TOOLS_SPEC, tool_calls=(call("book_flight"),))
    assert result.reason == (
        "is-valid-openai-tools-call: call 1 book_flight: no offered tool has that name "
        "(offered: get_weather)"
    )
    result = grade(TOOLS_SPEC, tool_calls=(call("get_weather", '{"city": '),))
    assert not result.passed and "arguments are not valid JSON" in result.reason
    result = grade(TOOLS_SPEC, "It is sunny.")
    assert result == GradeResult(
        False,
        0.0,
        "is-valid-openai-tools-call: no tool calls made; the model replied 'It is sunny.'",
    )


def test_without_offered_tools_only_the_shape_is_checked() -> None:
    spec = {"type": "is-valid-openai-tools-call"}
    result = grade(spec, tool_calls=(call("anything", {"x": 1}),))
    assert result.passed and "structure only" in result.reason
    assert not grade(spec, tool_calls=(call("anything", "[1]"),)).passed  # not an object
    assert not grade(spec, tool_calls=({"type": "function", "function": {}},)).passed


def test_the_requests_tools_are_the_offered_ones_when_value_is_absent() -> None:
    spec = {"type": "is-valid-openai-tools-call"}
    offered = {"offered_tools": (WEATHER,)}
    assert grade(spec, tool_calls=(call("get_weather", {"city": "Rome"}),), **offered).passed
    unknown = grade(spec, tool_calls=(call("book_flight"),), **offered)
    assert "no offered tool has that name (offered: get_weather)" in unknown.reason
    responses_form = {"type": "function", "name": "get_weather",
                      "parameters": WEATHER["function"]["parameters"]}  # fmt: skip
    bad = grade(spec, tool_calls=(call("get_weather", {"days": 1}),),
                offered_tools=(responses_form,))  # fmt: skip
    assert not bad.passed and "'city' is a required property" in bad.reason


def test_tools_call_negation_and_specs() -> None:
    assert grade({**TOOLS_SPEC, "type": "not-is-valid-openai-tools-call"}).passed
    assert spec_error({"type": "is-valid-openai-tools-call", "value": "get_weather"}).key == "value"
    bad_schema = {"function": {"name": "f", "parameters": {"type": "objekt"}}}
    err = spec_error({"type": "is-valid-openai-tools-call", "value": [bad_schema]})
    assert "not a valid JSON schema" in str(err)
    assert "needs `function.name`" in str(
        spec_error({"type": "is-valid-openai-tools-call", "value": [{"type": "function"}]})
    )


# --- tool-call-f1: https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#tool-call-f1


@pytest.mark.parametrize(
    ("expected", "called", "score"),
    [  # promptfoo's "Scoring examples" table
        (["get_weather", "book_flight"], ["get_weather", "book_flight"], 1.0),
        (["get_weather", "book_flight"], ["get_weather"], 2 / 3),
        (["get_weather", "book_flight"], ["get_weather", "book_flight", "search"], 0.8),
        (["get_weather"], ["book_flight"], 0.0),
    ],
)
def test_f1_table_from_the_docs(expected: list[str], called: list[str], score: float) -> None:
    result = grade({"type": "tool-call-f1", "value": expected}, tool_calls=tuple(map(call, called)))
    assert result.score == pytest.approx(score)
    assert result.passed == (score == 1.0)  # default threshold 1.0: the exact set


def test_f1_reason_threshold_and_comma_string() -> None:
    spec = {"type": "tool-call-f1", "value": "get_weather, book_flight"}
    result = grade(spec, tool_calls=(call("get_weather"), call("get_weather")))
    assert result.reason == (
        "tool-call-f1: F1 0.667 < 1 (precision 1, recall 0.5): called get_weather; "
        "expected book_flight, get_weather"
    )
    assert grade({**spec, "threshold": 0.6}, tool_calls=(call("get_weather"),)).passed
    none = grade(spec)
    assert not none.passed and "called (none)" in none.reason


def test_f1_expected_from_the_case_and_negation() -> None:
    context = ctx(expect_tool_calls=[{"name": "get_weather"}], tool_calls=(call("get_weather"),))
    assert build_grader({"type": "tool-call-f1"}).grade("", context).passed
    result = grade({"type": "not-tool-call-f1", "value": ["a", "b"]}, tool_calls=(call("a"),))
    assert result.passed and result.score == pytest.approx(1 / 3)  # 1 - F1 under negation
    assert grade({"type": "tool-call-f1"}).error


def test_f1_helpers_and_specs() -> None:
    assert f1({"a"}, set()) == (0.0, 0.0, 0.0)
    assert expected_names(" a , ,b") == ["a", "b"]
    assert isinstance(expected_names(""), str)
    assert spec_error({"type": "tool-call-f1", "value": ""}).key == "value"
    assert spec_error({"type": "tool-call-f1", "value": {"a": 1}}).key == "value"
    assert spec_error({"type": "tool-call-f1", "value": ["a"], "threshold": 2}).key == "threshold"


# --- llm-rubric: https://www.promptfoo.dev/docs/configuration/expected-outputs/model-graded/llm-rubric/


def test_llm_rubric_value_is_the_rubric() -> None:
    judge = Judge('{"score": 0.9, "reason": "friendly"}')
    spec = {"type": "llm-rubric", "value": "Is friendly", "metric": "tone"}
    result = agrade(spec, "Hi there!", judge=judge, prompt_text="Greet me")
    assert result == GradeResult(True, 0.9, "llm-rubric: judge: 0.9 ≥ 0.5: friendly")
    user = judge.calls[0][0][-1]["content"]
    assert "Is friendly" in user and "Hi there!" in user and "Greet me" in user
    assert "<expected>" not in user  # the value is the rubric, not a reference answer
    low = agrade({**spec, "threshold": 0.95}, "Hi", judge=Judge('{"score": 0.9, "reason": "ok"}'))
    assert not low.passed and low.reason == "llm-rubric: judge: 0.9 < 0.95: ok"


def test_llm_rubric_errors_and_negation() -> None:
    assert "needs a judge model" in agrade({"type": "llm-rubric", "value": "x"}).reason
    result = agrade({"type": "llm-rubric", "value": "x"}, judge=Judge(error="rate limited"))
    assert result.error and result.reason == "llm-rubric: judge error: rate limited"
    negated = agrade(
        {"type": "not-llm-rubric", "value": "Is rude"}, "Hi", judge=Judge('{"score": 0}')
    )
    assert negated.passed
    assert build_grader({"type": "llm-rubric", "value": "x"}).grade("a", ctx()).error  # sync


# --- model-graded-closedqa:
# https://www.promptfoo.dev/docs/configuration/expected-outputs/model-graded/model-graded-closedqa/


def test_closedqa_value_is_a_criterion() -> None:
    judge = Judge('{"score": 1, "reason": "it is in French"}')
    spec = {"type": "model-graded-closedqa", "value": "The answer is in French"}
    result = agrade(spec, "Bonjour", judge=judge)
    assert result == GradeResult(
        True, 1.0, "model-graded-closedqa: judge: 1 ≥ 0.5: it is in French"
    )
    assert "criterion: The answer is in French" in judge.calls[0][0][-1]["content"]
    failed = agrade(spec, "Hello", judge=Judge('{"score": 0, "reason": "English"}'))
    assert not failed.passed and failed.reason == "model-graded-closedqa: judge: 0 < 0.5: English"
    assert "no criterion" in agrade({"type": "model-graded-closedqa"}, judge=judge).reason


# --- factuality: https://www.promptfoo.dev/docs/configuration/expected-outputs/model-graded/factuality/


def fact(category: str, reason: str = "because") -> Judge:
    return Judge(json.dumps({"reason": reason, "category": category}))


@pytest.mark.parametrize(("category", "passed"), [("A", 1), ("B", 1), ("C", 1), ("D", 0), ("E", 1)])
def test_factuality_passes_every_category_but_d(category: str, passed: int) -> None:
    spec = {"type": "factuality", "value": "Sacramento is the capital of California"}
    result = agrade(spec, "Sacramento", judge=fact(category))
    assert (result.passed, result.score) == (bool(passed), float(passed))


def test_factuality_prompt_format_and_reason() -> None:
    judge = fact("B", "adds the founding year")
    result = agrade(
        {"type": "factuality"},
        "Paris, capital since 987.",
        "Paris",
        judge=judge,
        prompt_text="Capital of France?",
    )
    assert result.reason == (
        "factuality: judge chose (B) the answer is a superset of the reference and fully "
        "consistent with it (score 1): adds the founding year"
    )
    messages, response_format = judge.calls[0]
    assert response_format == CATEGORY_FORMAT
    user = messages[-1]["content"]
    assert "<reference>\nParis\n</reference>" in user and "Capital of France?" in user
    disagree = agrade({"type": "factuality", "value": "Paris"}, "Lyon", judge=fact("D", "Lyon"))
    assert disagree.reason.startswith("factuality: judge chose (D) the answer and the reference")


def test_factuality_custom_scores_threshold_and_negation() -> None:
    spec = {"type": "factuality", "value": "Paris", "factuality": {"superset": 0.6}}
    assert agrade(spec, "x", judge=fact("B")) == GradeResult(
        True,
        0.6,
        "factuality: judge chose (B) the answer is a superset of the reference and fully "
        "consistent with it (score 0.6): because",
    )
    strict = agrade({**spec, "threshold": 0.8}, "x", judge=fact("B"))  # generic threshold
    assert not strict.passed and strict.reason.endswith("(score 0.6 < 0.8)")
    lenient = {"type": "factuality", "value": "P", "factuality": {"differButFactual": 0}}
    assert not agrade(lenient, "x", judge=fact("E")).passed
    assert agrade({"type": "not-factuality", "value": "Paris"}, "Lyon", judge=fact("D")).passed


def test_factuality_unreadable_replies_and_missing_inputs_are_errors() -> None:
    spec = {"type": "factuality", "value": "Paris"}
    assert agrade(spec, "x", judge=Judge("(C) Same facts.")).passed  # openai/evals style
    bad = agrade(spec, "x", judge=Judge('{"category": "F", "reason": "?"}'))
    assert bad.error and "named no category A-E" in bad.reason
    assert agrade(spec, "x", judge=Judge("no idea")).error
    assert agrade({"type": "factuality"}, "x", judge=fact("A")).error  # no reference
    assert agrade(spec, "x").error  # no judge
    assert parse_category('```json\n{"Category": "(a)", "reason": "r"}\n```') == ("A", "r")


def test_factuality_specs() -> None:
    assert spec_error({"type": "factuality", "factuality": {"subset": 2}}).key == "factuality"
    assert spec_error({"type": "factuality", "factuality": {"typo": 1}}).key == "factuality"
    assert spec_error({"type": "factuality", "options": {}}).key == "options"


# --- python, promptfoo forms: https://www.promptfoo.dev/docs/configuration/expected-outputs/python/


def test_inline_expression_with_output_and_context() -> None:
    spec = {"type": "python", "value": "output.lower().startswith('yes')"}
    assert grade(spec, "Yes, it is") == GradeResult(True, 1.0, "python: python code returned True")
    assert not grade(spec, "No").passed
    uses_vars = {"type": "python", "value": "context['vars']['city'] in output"}
    assert grade(uses_vars, "It is Paris").passed
    assert grade({"type": "python", "value": "context.vars['city'] in output"}, "Paris").passed
    assert grade({"type": "python", "value": "output[0:3] == 'abc'"}, "abcdef").passed


def test_inline_multiline_snippet_returns_a_dict() -> None:
    code = (
        "words = len(output.split())\n"
        "if words <= 3:\n"
        "    return {'pass': True, 'score': 1.0, 'reason': f'{words} words'}\n"
        "return {'pass': False, 'score': 0.0, 'reason': 'too long', 'named_scores': {'w': words}}\n"
    )
    spec = {"type": "python", "value": code}
    assert grade(spec, "one two") == GradeResult(True, 1.0, "python: 2 words")
    assert grade(spec, "one two three four").reason == "python: too long"


def test_inline_numbers_pass_above_zero_unless_a_threshold_is_set() -> None:
    spec = {"type": "python", "value": "len(output) / 10"}
    assert grade(spec, "ab") == GradeResult(
        True, pytest.approx(0.2), "python: python code scored 0.2 > 0"
    )
    assert not grade(spec, "").passed
    assert not grade({**spec, "threshold": 0.5}, "ab").passed
    dict_spec = {"type": "python", "value": "{'pass': True, 'score': 0.3}", "threshold": 0.5}
    result = grade(dict_spec, "x")
    assert not result.passed and result.reason == "python: score 0.3 < threshold 0.5"
    assert grade({"type": "python", "value": "'true'"}, "x").passed  # promptfoo reads strings


def test_inline_errors_and_negation() -> None:
    assert grade({"type": "not-python", "value": "'x' in output"}, "abc").passed
    crashed = grade({"type": "python", "value": "output.nope()"}, "x")
    assert crashed.error and "python code raised AttributeError" in crashed.reason
    err = spec_error({"type": "python", "value": "output ==="})
    assert err.key == "value" and "not valid Python" in str(err)
    nothing = grade({"type": "python", "value": "x = 1\ny = 2"}, "x")
    assert nothing.error and "returned None" in nothing.reason


GRADER_FILE = """
def get_assert(output, context):
    return {"pass": output == context["vars"]["city"], "score": 1.0, "reason": "file says so"}

def shout(output, context):
    return output.isupper()
"""


@pytest.fixture()
def grader_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "pf_assert.py").write_text(GRADER_FILE)
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])  # as load_suite does
    return tmp_path


def test_file_value_calls_get_assert(grader_dir: Path) -> None:
    spec = {"type": "python", "value": "file://checks/pf_assert.py"}
    assert grade(spec, "Paris") == GradeResult(True, 1.0, "python: file says so")
    named = {"type": "python", "value": "file://checks/pf_assert.py:shout"}
    assert grade(named, "LOUD").passed and not grade(named, "quiet").passed
    absolute = {"type": "python", "value": f"file://{grader_dir / 'checks' / 'pf_assert.py'}"}
    assert grade(absolute, "Paris").passed


def test_file_value_problems_are_spec_errors(grader_dir: Path) -> None:
    assert "not found" in str(spec_error({"type": "python", "value": "file://nope.py"}))
    err = spec_error({"type": "python", "value": "file://checks/pf_assert.py:missing"})
    assert "has no function 'missing'" in str(err) and err.key == "value"
    assert ".py file" in str(spec_error({"type": "python", "value": "file://checks/a.txt"}))
    (grader_dir / "broken.py").write_text("raise RuntimeError('boom')\n")
    assert "RuntimeError: boom" in str(spec_error({"type": "python", "value": "file://broken.py"}))
