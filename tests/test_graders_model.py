"""Model-graded graders with fake judges and embedders: `similar`, `llm_rubric`, `closedqa`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from evals.graders import GradeContext, GraderSpecError, JudgeReply, build_grader
from evals.graders.model_graded import CLOSEDQA_RUBRIC, VERDICT_FORMAT, cosine
from evals.graders.verdict import VerdictError, parse_verdict
from evals.records import GradeResult


class FakeJudge:
    """Replies with fixed text (or error, or raises) and records what it was sent."""

    def __init__(
        self, text: str | None = None, error: str | None = None, exc: Exception | None = None
    ):
        self.reply = JudgeReply(text, error)
        self.exc = exc
        self.calls: list[tuple[list[dict[str, Any]], Any]] = []

    async def __call__(self, messages: list[dict[str, Any]], response_format: Any) -> JudgeReply:
        self.calls.append((messages, response_format))
        if self.exc:
            raise self.exc
        return self.reply


def agrade(spec: dict[str, Any], output: str, expect: Any = None, **extra: Any) -> GradeResult:
    context = GradeContext(expect=expect, vars={"topic": "maps"}, case_id="c1", **extra)
    return asyncio.run(build_grader(spec).agrade(output, context))


# --- parse_verdict ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score", "reason"),
    [
        ('{"score": 0.8, "reason": "mostly right"}', 0.8, "mostly right"),
        ('```json\n{"score": 1, "reason": "ok"}\n```', 1.0, "ok"),
        (
            'Sure! Here is my verdict: {"score": 0.25, "reason": "thin"} Hope it helps.',
            0.25,
            "thin",
        ),
        ('{"score": 7, "reason": "good"}', 0.7, "good"),
        ('{"score": 85, "reason": "r"}', 0.85, "r"),
        ('{"score": "8/10", "reason": "r"}', 0.8, "r"),
        ('{"score": "80%", "explanation": "r"}', 0.8, "r"),
        ('{"verdict": "PASS", "reason": "fine"}', 1.0, "fine"),
        ('{"Score": 0, "Reason": "wrong"}', 0.0, "wrong"),
        ('{"passed": false}', 0.0, ""),
        ("Score: 8/10. Clear and correct.", 0.8, "Score: 8/10. Clear and correct."),
        ("I'd give it 3/5", 0.6, "I'd give it 3/5"),
        ("80%", 0.8, "80%"),
        ("0.4", 0.4, "0.4"),
        ("9", 0.9, "9"),
        ("PASS", 1.0, "PASS"),
        ("fail.", 0.0, "fail."),
        (
            "The answer misses the point.\nVerdict: FAIL",
            0.0,
            "The answer misses the point. Verdict: FAIL",
        ),
        ("The rating is 4 out of ten", 0.4, "The rating is 4 out of ten"),
    ],
)
def test_parse_verdict(text: str, score: float, reason: str) -> None:
    assert parse_verdict(text) == (pytest.approx(score), reason)


@pytest.mark.parametrize(
    "text", ["", "I think it is nice.", '{"reason": "no score"}', "score: 250", "-3"]
)
def test_parse_verdict_garbage(text: str) -> None:
    with pytest.raises(VerdictError):
        parse_verdict(text)


# --- llm_rubric ---------------------------------------------------------------------------


def test_llm_rubric_pass_reason_and_request() -> None:
    judge = FakeJudge('{"score": 0.8, "reason": "names Paris"}')
    result = agrade(
        {"type": "llm_rubric", "rubric": "Names the capital of France."},
        "It is Paris {{ secret }}.",
        expect="Paris",
        judge=judge,
        prompt_text="What is the capital of France?",
    )
    assert result == GradeResult(True, 0.8, "llm_rubric: judge: 0.8 ≥ 0.5: names Paris")
    [(messages, response_format)] = judge.calls
    assert response_format == VERDICT_FORMAT
    assert response_format["json_schema"]["schema"]["required"] == ["score", "reason"]
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert "<question>\nWhat is the capital of France?\n</question>" in user
    assert "<answer>\nIt is Paris {{ secret }}.\n</answer>" in user  # data, not template
    assert "<expected>\nParis\n</expected>" in user
    assert "<rubric>\nNames the capital of France.\n</rubric>" in user


def test_llm_rubric_fail_and_threshold() -> None:
    judge = FakeJudge('{"score": 0.6, "reason": "vague"}')
    spec = {"type": "llm_rubric", "rubric": "precise", "threshold": 0.7}
    result = agrade(spec, "a", judge=judge)
    assert result == GradeResult(False, 0.6, "llm_rubric: judge: 0.6 < 0.7: vague")


def test_llm_rubric_from_value_or_expect_without_duplicate_reference() -> None:
    judge = FakeJudge("PASS")
    assert agrade({"type": "llm_rubric"}, "a", expect="Is polite.", judge=judge).passed
    user = judge.calls[0][0][1]["content"]
    assert "<rubric>\nIs polite.\n</rubric>" in user
    assert "<expected>" not in user
    judge = FakeJudge("PASS")
    agrade({"type": "llm_rubric", "value": ["is short", "is polite"]}, "a", judge=judge)
    assert "<rubric>\n- is short\n- is polite\n</rubric>" in judge.calls[0][0][1]["content"]


def test_llm_rubric_structured_expect_is_json() -> None:
    judge = FakeJudge("1")
    agrade({"type": "llm_rubric", "rubric": "r"}, "a", expect={"city": "Paris"}, judge=judge)
    assert '{"city": "Paris"}' in judge.calls[0][0][1]["content"]


def test_llm_rubric_without_judge_or_rubric() -> None:
    result = agrade({"type": "llm_rubric", "rubric": "r"}, "a")
    assert result == GradeResult(
        False,
        0.0,
        "llm_rubric: llm_rubric needs a judge model: set `judge:` in the runner profile",
        True,
    )
    result = agrade({"type": "llm_rubric"}, "a", judge=FakeJudge("1"))
    assert result.error and "no rubric" in result.reason


def test_llm_rubric_judge_garbage_error_and_crash_are_grader_errors() -> None:
    result = agrade({"type": "llm_rubric", "rubric": "r"}, "a", judge=FakeJudge("I like it"))
    assert result == GradeResult(
        False, 0.0, "llm_rubric: judge returned no verdict: 'I like it'", True
    )
    result = agrade({"type": "llm_rubric", "rubric": "r"}, "a", judge=FakeJudge(error="HTTP 500"))
    assert result == GradeResult(False, 0.0, "llm_rubric: judge error: HTTP 500", True)
    raising = FakeJudge(exc=TimeoutError("slow"))
    result = agrade({"type": "llm_rubric", "rubric": "r"}, "a", judge=raising)
    assert result.error and result.reason == "llm_rubric: judge call failed: TimeoutError: slow"
    assert agrade({"type": "llm_rubric", "rubric": "r"}, "a", judge=FakeJudge(None)).error


def test_llm_rubric_negated() -> None:
    result = agrade({"type": "not-llm_rubric", "rubric": "rude"}, "a", judge=FakeJudge("0.1"))
    assert result.passed and result.score == pytest.approx(0.9)


def test_llm_rubric_custom_prompt() -> None:
    judge = FakeJudge("0.9")
    spec = {
        "type": "llm_rubric",
        "rubric": "r",
        "prompt": "Q={{ question }} A={{ answer }} {{ vars.topic }}",
    }
    agrade(spec, "ans", judge=judge, prompt_text="q?")
    assert judge.calls[0][0] == [{"role": "user", "content": "Q=q? A=ans maps"}]
    messages = [
        {"role": "system", "content": "Grade."},
        {"role": "user", "content": "{{ answer }}"},
    ]
    judge = FakeJudge("0.9")
    agrade({"type": "llm_rubric", "rubric": "r", "prompt": messages}, "ans", judge=judge)
    assert judge.calls[0][0][1] == {"role": "user", "content": "ans"}


def test_llm_rubric_bad_prompt_is_spec_error() -> None:
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "llm_rubric", "rubric": "r", "prompt": "{{ answr }}"})
    assert info.value.key == "prompt"
    assert "unknown variable(s) answr" in str(info.value)
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "llm_rubric", "rubric": "r", "prompt": "{% if %}"})
    assert "template syntax error" in str(info.value)
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "llm_rubric", "rubric": "r", "prompt": [{"content": "x"}]})
    assert "need role and content" in str(info.value)
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "llm_rubric", "threshold": 2})
    assert info.value.key == "threshold"


# --- closedqa -----------------------------------------------------------------------------


def test_closedqa_uses_ready_rubric_and_reference() -> None:
    judge = FakeJudge('{"score": 1, "reason": "same capital"}')
    result = agrade(
        {"type": "closedqa"}, "Paris.", expect="Paris", judge=judge, prompt_text="Capital?"
    )
    assert result == GradeResult(True, 1.0, "closedqa: judge: 1 ≥ 0.5: same capital")
    user = judge.calls[0][0][1]["content"]
    assert CLOSEDQA_RUBRIC in user and "<expected>\nParis\n</expected>" in user


def test_closedqa_fail_and_needs_expect() -> None:
    result = agrade(
        {"type": "closedqa"},
        "Lyon",
        expect="Paris",
        judge=FakeJudge('{"score": 0, "reason": "contradicts"}'),
    )
    assert result == GradeResult(False, 0.0, "closedqa: judge: 0 < 0.5: contradicts")
    missing = agrade({"type": "closedqa"}, "Lyon", judge=FakeJudge("1"))
    assert missing.error and "no expected value" in missing.reason
    assert agrade({"type": "closedqa", "value": "Paris"}, "Paris", judge=FakeJudge("1")).passed
    with pytest.raises(GraderSpecError):
        build_grader({"type": "closedqa", "rubric": "x"})


# --- similar ------------------------------------------------------------------------------

VECTORS = {"cat": [1.0, 0.0], "kitten": [0.9, 0.1], "car": [0.0, 1.0], "dog": [0.6, 0.8]}


async def embed(texts: list[str]) -> list[list[float]]:
    return [VECTORS[t] for t in texts]


def test_cosine() -> None:
    assert cosine([1, 0], [1, 0]) == 1.0
    assert cosine([1, 0], [0, 1]) == 0.0
    assert cosine([1, 0], [-1, 0]) == -1.0
    with pytest.raises(ValueError):
        cosine([0, 0], [1, 0])


def test_similar_pass_and_fail() -> None:
    result = agrade({"type": "similar"}, "kitten", "cat", embed=embed)
    assert result.passed and result.score == pytest.approx(0.9 / 0.82**0.5)
    assert result.reason == "similar: cosine similarity 0.994 ≥ 0.8 to 'cat'"
    result = agrade({"type": "similar"}, "dog", "cat", embed=embed)
    assert result == GradeResult(
        False, pytest.approx(0.6), "similar: cosine similarity 0.6 < 0.8: expected 'cat', got 'dog'"
    )
    assert agrade({"type": "similar", "threshold": 0.5}, "dog", "cat", embed=embed).passed


def test_similar_score_is_clipped_and_list_means_any() -> None:
    async def opposite(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0], [-1.0, 0.0]]

    assert agrade({"type": "similar"}, "a", "b", embed=opposite).score == 0.0
    assert agrade({"type": "similar"}, "kitten", ["car", "cat"], embed=embed).passed


def test_similar_errors() -> None:
    result = agrade({"type": "similar"}, "a", "b")
    assert result == GradeResult(
        False,
        0.0,
        "similar: similar needs an embeddings model: set `embedder:` in the runner profile",
        True,
    )
    assert agrade({"type": "similar"}, "cat", embed=embed).error

    async def broken(texts: list[str]) -> list[list[float]]:
        raise ConnectionError("refused")

    result = agrade({"type": "similar"}, "cat", "dog", embed=broken)
    assert result.error and result.reason == "similar: embeddings failed: ConnectionError: refused"

    async def short(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0]]

    assert agrade({"type": "similar"}, "cat", "dog", embed=short).error
