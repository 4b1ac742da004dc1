"""Usage normalisation across providers, and sums with unknowns."""

from __future__ import annotations

from evals.endpoints.usage import normalize_usage, sum_usages
from evals.records import Usage


def test_openai_chat_usage_with_details() -> None:
    raw = {
        "prompt_tokens": 1200,
        "completion_tokens": 900,
        "total_tokens": 2100,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 768,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    assert normalize_usage(raw) == Usage(
        prompt_tokens=1200, cached_tokens=1024, completion_tokens=900, reasoning_tokens=768
    )


def test_groq_like_usage_without_details_is_unknown_not_zero() -> None:
    raw = {
        "prompt_tokens": 40,
        "completion_tokens": 12,
        "total_tokens": 52,
        "queue_time": 0.01,
        "prompt_time": 0.002,
        "completion_time": 0.03,
        "total_time": 0.032,
    }
    usage = normalize_usage(raw)
    assert usage == Usage(prompt_tokens=40, cached_tokens=None, completion_tokens=12)
    assert usage.reasoning_tokens is None


def test_null_details_are_unknown() -> None:
    raw = {"prompt_tokens": 5, "completion_tokens": 1, "prompt_tokens_details": None}
    assert normalize_usage(raw).cached_tokens is None


def test_responses_style_usage() -> None:
    raw = {
        "input_tokens": 12033,
        "input_tokens_details": {"cached_tokens": 11904},
        "output_tokens": 44,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12077,
    }
    assert normalize_usage(raw) == Usage(
        prompt_tokens=12033, cached_tokens=11904, completion_tokens=44, reasoning_tokens=0
    )


def test_llama_cpp_timings_ignored() -> None:
    raw = {
        "prompt_tokens": 20,
        "completion_tokens": 8,
        "total_tokens": 28,
        "prompt_tokens_details": {"cached_tokens": 16},
        "timings": {"cache_n": 16, "prompt_n": 4, "predicted_n": 8, "predicted_ms": 50.0},
    }
    assert normalize_usage(raw) == Usage(prompt_tokens=20, cached_tokens=16, completion_tokens=8)


def test_none_and_garbage() -> None:
    assert normalize_usage(None) == Usage()
    assert normalize_usage({}) == Usage()
    assert normalize_usage({"prompt_tokens": "12", "completion_tokens": -1}) == Usage()
    assert normalize_usage({"prompt_tokens": 12.0, "completion_tokens": True}) == Usage(
        prompt_tokens=12
    )


def test_embeddings_usage() -> None:
    assert normalize_usage({"prompt_tokens": 8, "total_tokens": 8}) == Usage(prompt_tokens=8)


def test_sdk_object_accepted() -> None:
    class Fake:
        def model_dump(self) -> dict:
            return {"prompt_tokens": 3, "completion_tokens": 2, "completion_tokens_details": None}

    assert normalize_usage(Fake()) == Usage(prompt_tokens=3, completion_tokens=2)


def test_sum_usages_excludes_unknowns() -> None:
    total = sum_usages(
        [
            Usage(prompt_tokens=100, cached_tokens=50, completion_tokens=10, reasoning_tokens=None),
            Usage(
                prompt_tokens=200, cached_tokens=None, completion_tokens=20, reasoning_tokens=None
            ),
            Usage(),
        ]
    )
    assert total == Usage(prompt_tokens=300, cached_tokens=50, completion_tokens=30)


def test_sum_usages_empty_and_zero() -> None:
    assert sum_usages([]) == Usage()
    zero = Usage(prompt_tokens=0, cached_tokens=0, completion_tokens=0, reasoning_tokens=0)
    assert sum_usages([zero]) == zero
    assert sum_usages(iter([zero, zero])) == zero
