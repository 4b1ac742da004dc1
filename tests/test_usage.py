"""Usage normalisation across providers, and sums with unknowns."""

from __future__ import annotations

from evals.endpoints.usage import normalize_usage, sum_usages, usage_of
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


# --- provider flavours (issue 14) ----------------------------------------------------------
# Payloads below are copied from provider documentation / SDK types, numbers included.


def test_deepseek_cache_hit_tokens_are_cached_tokens() -> None:
    # DeepSeek's context-caching guide: the cache figures are top-level in `usage`,
    # prompt_tokens = prompt_cache_hit_tokens + prompt_cache_miss_tokens.
    raw = {
        "prompt_tokens": 10000,
        "completion_tokens": 500,
        "total_tokens": 10500,
        "prompt_cache_hit_tokens": 9000,
        "prompt_cache_miss_tokens": 1000,
        "completion_tokens_details": {"reasoning_tokens": 120},
    }
    assert normalize_usage(raw) == Usage(
        prompt_tokens=10000, cached_tokens=9000, completion_tokens=500, reasoning_tokens=120
    )


def test_deepseek_zero_hits_are_zero_not_unknown() -> None:
    # deepseek-chat reference response (API docs): hit 0 was sent, so it is 0.
    raw = {
        "completion_tokens": 11,
        "prompt_tokens": 16,
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": 16,
        "total_tokens": 27,
    }
    assert normalize_usage(raw).cached_tokens == 0


def test_newer_deepseek_sends_both_and_details_win() -> None:
    # deepseek-reasoner response captured in 2025: both forms, equal.
    raw = {
        "prompt_tokens": 6,
        "completion_tokens": 92,
        "total_tokens": 98,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 81},
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": 6,
    }
    assert normalize_usage(raw) == Usage(
        prompt_tokens=6, cached_tokens=0, completion_tokens=92, reasoning_tokens=81
    )
    disagreeing = {**raw, "prompt_tokens_details": {"cached_tokens": 4}}
    assert normalize_usage(disagreeing).cached_tokens == 4


def test_deepseek_miss_alone_does_not_invent_hits() -> None:
    raw = {"prompt_tokens": 16, "completion_tokens": 11, "prompt_cache_miss_tokens": 16}
    assert normalize_usage(raw).cached_tokens is None
    assert normalize_usage({**raw, "prompt_cache_hit_tokens": None}).cached_tokens is None
    assert normalize_usage({**raw, "prompt_cache_hit_tokens": -1}).cached_tokens is None


# The last chunk of the streaming example in Groq's API reference (console.groq.com): the
# usage rides in `x_groq` of the chunk with the finish reason (groq-python's XGroq.usage,
# "Only sent in the final chunk").
GROQ_FINAL_CHUNK = {
    "id": "chatcmpl-bc4c2b5f-ad1c-4152-831f-a0885de968a3",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "llama-3.3-70b-versatile",
    "system_fingerprint": "fp_c06d5113ec",
    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}],
    "x_groq": {
        "id": "req_<generated>",
        "usage": {
            "queue_time": 0.090320431,
            "prompt_tokens": 38,
            "prompt_time": 0.003210785,
            "completion_tokens": 4,
            "completion_time": 0.027554055,
            "total_tokens": 42,
            "total_time": 0.03076484,
        },
    },
}


def test_groq_x_groq_usage_is_read() -> None:
    usage = usage_of(GROQ_FINAL_CHUNK)
    assert usage == Usage(prompt_tokens=38, completion_tokens=4)
    assert usage.cached_tokens is None  # Groq did not say: unknown, not 0


def test_top_level_usage_wins_over_x_groq() -> None:
    top = {"prompt_tokens": 40, "completion_tokens": 5, "total_tokens": 45}
    chunk = {**GROQ_FINAL_CHUNK, "usage": top}
    assert usage_of(chunk) == Usage(prompt_tokens=40, completion_tokens=5)
    # a null top-level usage (chunks before the last) falls through to x_groq
    assert usage_of({**GROQ_FINAL_CHUNK, "usage": None}).prompt_tokens == 38


def test_groq_non_streaming_x_groq_holds_no_chat_usage() -> None:
    # groq-python ChatCompletion: x_groq.usage holds hardware cache figures only
    body = {
        "usage": {"prompt_tokens": 38, "completion_tokens": 4, "total_tokens": 42},
        "x_groq": {"id": "req_1", "usage": {"dram_cached_tokens": 0, "sram_cached_tokens": 0}},
    }
    assert usage_of(body) == Usage(prompt_tokens=38, completion_tokens=4)
    assert usage_of({"x_groq": {"id": "req_1", "usage": {"dram_cached_tokens": 3}}}) == Usage()


# The final chunk of a llama-server stream: `timings` as in llama.cpp tools/server/README.md
# ("Timings and context usage"); `usage` as servers without prompt_tokens_details send it
# (totals only), its counts made consistent with the timings (237 = cache_n + prompt_n).
LLAMA_SERVER_BODY = {
    "choices": [],
    "created": 1757141666,
    "id": "chatcmpl-ecQULm0WqPrftUqjPZO1CFYeDjGZNbDu",
    "usage": {"completion_tokens": 35, "prompt_tokens": 237, "total_tokens": 272},
    "timings": {
        "cache_n": 236,
        "prompt_n": 1,
        "prompt_ms": 30.958,
        "prompt_per_token_ms": 30.958,
        "prompt_per_second": 32.301828283480845,
        "predicted_n": 35,
        "predicted_ms": 661.064,
        "predicted_per_token_ms": 18.887542857142858,
        "predicted_per_second": 52.94494935437416,
    },
}


def test_llama_cpp_timings_cache_n_for_llama_cpp_endpoints_only() -> None:
    assert usage_of(LLAMA_SERVER_BODY, "llama.cpp") == Usage(
        prompt_tokens=237, cached_tokens=236, completion_tokens=35
    )
    # another server's `timings` may mean something else: not trusted
    for kind in (None, "vllm", "ollama", "other"):
        assert usage_of(LLAMA_SERVER_BODY, kind).cached_tokens is None


def test_llama_cpp_usage_details_win_over_timings() -> None:
    # newer llama-server sends both; the standard field is the one read
    usage = {**LLAMA_SERVER_BODY["usage"], "prompt_tokens_details": {"cached_tokens": 200}}
    body = {**LLAMA_SERVER_BODY, "usage": usage}
    assert usage_of(body, "llama.cpp").cached_tokens == 200


def test_llama_cpp_without_timings_stays_unknown() -> None:
    # llama-cpp-python's `python -m llama_cpp.server` sends usage totals only
    body = {key: value for key, value in LLAMA_SERVER_BODY.items() if key != "timings"}
    assert usage_of(body, "llama.cpp").cached_tokens is None
    for bad in (None, "236", -1, True, [236]):
        garbled = {**LLAMA_SERVER_BODY, "timings": {"cache_n": bad}}
        assert usage_of(garbled, "llama.cpp").cached_tokens is None
    assert usage_of({**LLAMA_SERVER_BODY, "timings": "n/a"}, "llama.cpp").cached_tokens is None
    zero = {**LLAMA_SERVER_BODY, "timings": {"cache_n": 0, "prompt_n": 237}}
    assert usage_of(zero, "llama.cpp").cached_tokens == 0
